package app_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/jwtctx/oidctest"
)

// idpAudience is the app's API identifier at the test's provider.
const idpAudience = "https://api.mydentalpractice.example"

// staffAccount is a seeded staff account, read as the superuser.
type staffAccount struct {
	id    tenancy.ID
	roles []string
}

func seededStaff(t *testing.T, oa *apptest.App, email string, c seed.Clinic) staffAccount {
	t.Helper()
	var s staffAccount
	err := oa.SuperConn(t).QueryRow(t.Context(), `select id, roles from staff where clinic_id = $1 and email = $2`, c.ID, email).Scan(&s.id, &s.roles)
	if err != nil {
		t.Fatalf("staff %s: %v", email, err)
	}
	return s
}

// idpClient is a client of the provider whose tokens speak for staff at
// clinic with roles: the claims the app's app.IdentityProvider reads.
func idpClient(id string, clinic tenancy.ID, staff tenancy.ID, roles ...string) oidctest.Client {
	claims := map[string]any{app.ClaimRoles: roles}
	if !clinic.IsZero() {
		claims[app.ClaimClinic] = clinic.String()
	}
	if !staff.IsZero() {
		claims[app.ClaimStaff] = staff.String()
	}
	return oidctest.Client{ID: id, Secret: "secret-of-" + id, Subject: "idp-user-" + id, Claims: claims}
}

// TestIdentityProviderSignIn signs clinic staff in to the API through a
// real OpenID provider (zitadel's, started here): the app reads the
// provider's discovery document and key set, accepts its access tokens
// for enabled staff of the clinic they name, keeps the clinic's data to
// that clinic, and keeps working while the provider rotates its signing
// key; a retired key's tokens stop working.
func TestIdentityProviderSignIn(t *testing.T) {
	p := oidctest.Start(t, idpAudience)
	oa := apptest.Start(t, apptest.Options{IdentityProvider: &app.IdentityProvider{
		Issuer: p.Issuer(), Audience: idpAudience, HTTPClient: p.HTTPClient(),
		AllowJWTType: true, // zitadel types its access tokens "JWT"
		// The longest refresh jwtctx accepts is a day; a second lets the
		// test see a retired key go.
		RefreshInterval: time.Second,
	}})
	riverDesk := seededStaff(t, oa, seed.StaffEmail("frontdesk", riverside), riverside)
	hillDesk := seededStaff(t, oa, seed.StaffEmail("frontdesk", hillcrest), hillcrest)
	p.AddClient(idpClient("river-desk", riverside.ID, riverDesk.id, riverDesk.roles...))
	p.AddClient(idpClient("hill-desk", hillcrest.ID, hillDesk.id, hillDesk.roles...))

	// First prove the data exists: Hillcrest's front desk, signed in
	// through the provider, finds Hillcrest's Jordan Whitlock.
	hill := p.Token(t, "hill-desk")
	var hillPage struct{ Items []patientJSON }
	oa.Do(t, "GET", "/api/v1/patients?q=Whitlock", hill, nil).JSON(t, &hillPage)
	if len(hillPage.Items) != 1 || hillPage.Items[0].ClinicID != hillcrest.ID {
		t.Fatalf("Hillcrest's search for Whitlock through the provider = %+v; the fixture or the sign-in is missing", hillPage.Items)
	}
	whitlock := hillPage.Items[0].ID

	// Riverside's front desk: signed in, in Riverside only.
	river := p.Token(t, "river-desk")
	var me struct {
		TokenType  string `json:"token_type"`
		ClinicName string `json:"clinic_name"`
		Principal  struct {
			Tenant  tenancy.ID `json:"tenant"`
			Subject tenancy.ID `json:"subject"`
		} `json:"principal"`
	}
	r := oa.Do(t, "GET", "/api/v1/me", river, nil)
	r.JSON(t, &me)
	if r.Status != http.StatusOK || me.TokenType != "identity_provider" || me.ClinicName != riverside.Name ||
		me.Principal.Tenant != riverside.ID || me.Principal.Subject != riverDesk.id {
		t.Fatalf("/me with the provider's token: %d %s", r.Status, r.Body)
	}
	var page struct{ Items []patientJSON }
	r = oa.Do(t, "GET", "/api/v1/patients?q=Whitlock", river, nil)
	r.JSON(t, &page)
	if r.Status != http.StatusOK || len(page.Items) != 0 {
		t.Errorf("LEAK: Riverside searching Hillcrest's patient through the provider: %d %s", r.Status, r.Body)
	}
	if r := oa.Do(t, "GET", "/api/v1/patients/"+whitlock.String(), river, nil); r.Status != http.StatusNotFound {
		t.Errorf("LEAK: Riverside reading Hillcrest's patient by id: %d %s", r.Status, r.Body)
	}

	// What the provider says must match the clinic's staff list.
	p.AddClient(idpClient("river-desk-at-hill", hillcrest.ID, riverDesk.id, riverDesk.roles...))
	p.AddClient(idpClient("river-desk-as-owner", riverside.ID, riverDesk.id, "owner"))
	p.AddClient(idpClient("no-clinic", tenancy.ID{}, riverDesk.id, riverDesk.roles...))
	p.AddClient(idpClient("no-staff", riverside.ID, tenancy.ID{}, riverDesk.roles...))
	p.AddClient(idpClient("unknown-staff", riverside.ID, tenancy.NewID(), "front_desk"))
	for _, tt := range []struct {
		client     string
		wantStatus int
		wantCode   string
	}{
		// Riverside's staff member named as Hillcrest's: no such staff
		// account at Hillcrest, so nothing of Hillcrest's is read.
		{"river-desk-at-hill", http.StatusUnauthorized, "unknown_staff"},
		{"unknown-staff", http.StatusUnauthorized, "unknown_staff"},
		{"river-desk-as-owner", http.StatusForbidden, "forbidden"},
		{"no-clinic", http.StatusUnauthorized, "unauthorized"},
		{"no-staff", http.StatusUnauthorized, "unauthorized"},
	} {
		r := oa.Do(t, "GET", "/api/v1/patients?q=Whitlock", p.Token(t, tt.client), nil)
		var prob struct{ Code string }
		r.JSON(t, &prob)
		if r.Status != tt.wantStatus || prob.Code != tt.wantCode {
			t.Errorf("%s: %d %s, want %d %s", tt.client, r.Status, r.Body, tt.wantStatus, tt.wantCode)
		}
	}

	// A disabled account's provider tokens stop at once, though the
	// provider still issues them: the staff list has the last word.
	super := oa.SuperConn(t)
	if _, err := super.Exec(t.Context(), `update staff set disabled = true where id = $1`, hillDesk.id); err != nil {
		t.Fatal(err)
	}
	if r := oa.Do(t, "GET", "/api/v1/me", p.Token(t, "hill-desk"), nil); r.Status != http.StatusUnauthorized {
		t.Errorf("a disabled account's provider token: %d %s, want 401", r.Status, r.Body)
	}

	// The provider rotates its key: tokens of the new key work at once
	// (an unknown kid refetches the key set), the old key's while it is
	// still published.
	if kid := p.Rotate(t); kid != "key-2" {
		t.Fatalf("rotated to %q", kid)
	}
	rotated := p.Token(t, "river-desk")
	if r := oa.Do(t, "GET", "/api/v1/me", rotated, nil); r.Status != http.StatusOK {
		t.Fatalf("a token of the provider's new key: %d %s", r.Status, r.Body)
	}
	if r := oa.Do(t, "GET", "/api/v1/me", river, nil); r.Status != http.StatusOK {
		t.Errorf("a token of the old key while it is published: %d %s", r.Status, r.Body)
	}
	// The provider retires the old key: its tokens are refused after the
	// next scheduled refresh, the new key's still work.
	p.Retire(t, "key-1")
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := oa.Do(t, "GET", "/api/v1/me", river, nil)
		if r.Status == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retired key's token still answers %d %s after 15s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := oa.Do(t, "GET", "/api/v1/patients?q=Morgan", rotated, nil); r.Status != http.StatusOK {
		t.Errorf("the new key's token after the old key was retired: %d %s", r.Status, r.Body)
	}
}

// TestIdentityProviderUnreachable: an app configured with a provider it
// cannot reach does not start, and says why, rather than start accepting
// some tokens and not others.
func TestIdentityProviderUnreachable(t *testing.T) {
	p := oidctest.Start(t, idpAudience)
	// Without the provider's certificate (no HTTPClient) the TLS
	// handshake of discovery fails.
	oa, err := apptest.Launch(t, apptest.Options{IdentityProvider: &app.IdentityProvider{Issuer: p.Issuer(), Audience: idpAudience, AllowJWTType: true}})
	if err == nil {
		oa.Stop(t)
		t.Fatal("the app started with an identity provider it cannot reach")
	}
	if !strings.Contains(err.Error(), "identity provider") || !errors.Is(err, jwtctx.ErrProvider) {
		t.Errorf("err = %v, want the identity provider named", err)
	}
}
