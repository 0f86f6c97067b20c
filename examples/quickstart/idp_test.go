package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"

	"github.com/mydentalpractice/tenancy/jwtctx/oidctest"
	"github.com/mydentalpractice/tenancy/tenancytest"
)

// TestIdentityProviderSignIn signs the tracker's users in through a real
// OpenID provider (zitadel's, started here): the tracker reads its
// discovery document and key set, takes the organization, user and kind
// from the claims providerClaims names, keeps each organization's data to
// it, and keeps working while the provider rotates its signing key.
func TestIdentityProviderSignIn(t *testing.T) {
	a := startApp(t)
	p := oidctest.Start(t, "https://tracker.example/api")
	prov, err := identityProvider(t.Context(), p.Issuer(), p.Audience(), p.HTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prov.Close)
	auth, err := newAuthority(a.model, prov)
	if err != nil {
		t.Fatal(err)
	}
	m := tenancytest.NewServeMux()
	if err := (&server{db: a.pool, log: slog.New(slog.DiscardHandler)}).routes(m, auth); err != nil {
		t.Fatal(err)
	}
	api := &testApp{pool: a.pool, mux: m}

	client := func(id string, u user, kind string) oidctest.Client {
		return oidctest.Client{ID: id, Secret: "secret-" + id, Subject: "idp|" + id, Claims: map[string]any{
			"https://tracker.example/org_id":  u.Principal.Tenant.String(),
			"https://tracker.example/user_id": u.Principal.Subject.String(),
			"https://tracker.example/kind":    kind,
		}}
	}
	acmeMember, globexMember := a.user(t, acme, member), a.user(t, globex, member)
	acmeGuest := a.user(t, acme, guest)
	p.AddClient(client("ada", acmeMember, "member"))
	p.AddClient(client("bea", globexMember, "member"))
	p.AddClient(client("gus", acmeGuest, "guest"))
	p.AddClient(client("admin", acmeMember, "admin")) // a kind the tracker does not map

	// Answers carry keys as strings (tenancy.ID's UnmarshalText reads
	// only UUIDs).
	type wire struct {
		OrgID      string  `json:"org_id"`
		AssigneeID *string `json:"assignee_id"`
	}
	projects := func(token string) (int, []wire) {
		t.Helper()
		r := api.do(t, "GET", "/projects", token, nil)
		var out struct{ Items []wire }
		if r.status == http.StatusOK {
			if err := json.Unmarshal(r.body, &out); err != nil {
				t.Fatal(err)
			}
		}
		return r.status, out.Items
	}

	// First prove the data exists: Globex's member sees Globex's project.
	if st, items := projects(p.Token(t, "bea")); st != http.StatusOK || len(items) == 0 || items[0].OrgID != globex.String() {
		t.Fatalf("Globex's member through the provider: %d %+v; the fixture or the sign-in is missing", st, items)
	}
	ada := p.Token(t, "ada")
	st, items := projects(ada)
	if st != http.StatusOK || len(items) == 0 {
		t.Fatalf("Acme's member through the provider: %d %+v", st, items)
	}
	for _, pr := range items {
		if pr.OrgID != acme.String() {
			t.Errorf("LEAK: Acme's member sees %+v", pr)
		}
	}
	// A guest is a guest: its own tasks only, and no writes.
	r := api.do(t, "GET", "/tasks", p.Token(t, "gus"), nil)
	var tasks struct{ Items []wire }
	if err := json.Unmarshal(r.body, &tasks); r.status != http.StatusOK || err != nil || len(tasks.Items) == 0 {
		t.Fatalf("Acme's guest's tasks: %d %s", r.status, r.body)
	}
	for _, tk := range tasks.Items {
		if tk.OrgID != acme.String() || tk.AssigneeID == nil || *tk.AssigneeID != acmeGuest.Principal.Subject.String() {
			t.Errorf("LEAK: the guest sees %+v", tk)
		}
	}
	if r := api.do(t, "POST", "/projects", p.Token(t, "gus"), map[string]any{"name": "x"}); r.status != http.StatusForbidden {
		t.Errorf("a guest's write: %d %s, want 403", r.status, r.body)
	}
	if st, _ := projects(p.Token(t, "admin")); st != http.StatusUnauthorized {
		t.Errorf("a kind the tracker does not map: %d, want 401", st)
	}

	// The provider rotates: the new key's tokens work at once, the old
	// key's while it is published.
	p.Rotate(t)
	if st, _ := projects(p.Token(t, "ada")); st != http.StatusOK {
		t.Fatalf("a token of the provider's new key: %d", st)
	}
	if st, _ := projects(ada); st != http.StatusOK {
		t.Errorf("a token of the old key while it is published: %d", st)
	}
}
