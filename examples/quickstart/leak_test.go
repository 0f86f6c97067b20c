package main

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
)

// TestLeakSQL probes every tenant table of the model as the app role, past
// the app's code: in Acme's context no statement reads, changes, deletes,
// claims or returns Globex's rows, and without a context nothing is read.
// First, rls.Check finds no error in the live database, so every relation
// the app role can reach is in the model that ProbeSQL takes its tables
// from.
func TestLeakSQL(t *testing.T) {
	a := startApp(t)
	findings, err := rls.Check(t.Context(), a.admin, a.model)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Severity == rls.SeverityError {
			t.Errorf("%v", f)
		}
	}
	tenancytest.ProbeSQL(t, tenancytest.SQLConfig{
		App:        a.db.Pool(t, pgtest.App),
		Privileged: a.admin,
		Model:      a.model,
		TenantA:    acme,
		TenantB:    globex,
	})
}

// TestLeakHTTP replays every route of the API, read from the recording
// ServeMux, as a member and a guest of each org against every other org's
// (and every other assignee's) projects, tasks and users. Each actor is
// probed twice: once as it is, and once sending X-Org-Id naming the other
// org, which the API must ignore.
func TestLeakHTTP(t *testing.T) {
	a := startApp(t)
	tenancytest.ProbeHTTP(t, a.httpConfig(t, a.mux, a.mux.Routes()))
}

// httpConfig is the prober's configuration for the tracker's API served
// by h, limited to the routes of inventory.
func (a *testApp) httpConfig(t *testing.T, h http.Handler, inventory []tenancytest.Route) tenancytest.HTTPConfig {
	t.Helper()
	other := map[tenancy.ID]tenancy.ID{acme: globex, globex: acme}
	names := map[tenancy.ID]string{acme: "acme", globex: "globex"}
	var actors []tenancytest.Actor
	for _, u := range a.users {
		name, token := names[u.Principal.Tenant]+"/"+u.Principal.Kind.String(), a.token(t, u.Principal)
		actors = append(actors,
			tenancytest.Actor{Name: name, Principal: u.Principal, Token: token},
			tenancytest.Actor{Name: name + "+X-Org-Id", Principal: u.Principal, Token: token,
				Header: http.Header{"X-Org-Id": {other[u.Principal.Tenant].String()}}})
	}
	var fixtures []tenancytest.Fixture
	projectOf := map[tenancy.ID]string{}
	for _, org := range []tenancy.ID{acme, globex} {
		for _, kind := range []string{"projects", "tasks", "users"} {
			for id, subject := range a.ids(t, kind, org) {
				fixtures = append(fixtures, tenancytest.Fixture{Kind: kind, ID: id.String(), Tenant: org, Subject: subject})
				if kind == "projects" {
					projectOf[org] = id.String()
				}
			}
		}
	}
	members := func(x tenancytest.Actor) bool { return x.Principal.Kind == member }
	anyone := func(tenancytest.Actor) bool { return true }
	specs := []tenancytest.RouteSpec{
		{Method: "GET", Path: "/projects", Allowed: anyone},
		{Method: "POST", Path: "/projects", Allowed: members, Call: true,
			Body: func(tenancytest.Actor) any { return map[string]any{"name": "Probe project"} }},
		{Method: "GET", Path: "/projects/{id}", Object: "projects", Allowed: anyone},
		{Method: "GET", Path: "/tasks", Allowed: anyone},
		{Method: "POST", Path: "/tasks", Allowed: members, Call: true,
			Body: func(x tenancytest.Actor) any {
				return map[string]any{"project_id": projectOf[x.Principal.Tenant], "title": "Probe task", "assignee_id": x.Principal.Subject.String()}
			}},
		{Method: "GET", Path: "/tasks/{id}", Object: "tasks", Allowed: anyone},
	}
	// A part of the API is probed with the fixtures its routes can show:
	// all of them when it lists, else those of its objects' kinds.
	specs = slices.DeleteFunc(specs, func(s tenancytest.RouteSpec) bool {
		return !slices.Contains(inventory, tenancytest.Route{Method: s.Method, Path: s.Path})
	})
	if !slices.ContainsFunc(specs, func(s tenancytest.RouteSpec) bool { return s.Method == "GET" && s.Object == "" }) {
		fixtures = slices.DeleteFunc(fixtures, func(f tenancytest.Fixture) bool {
			return !slices.ContainsFunc(specs, func(s tenancytest.RouteSpec) bool { return s.Object == f.Kind })
		})
	}
	return tenancytest.HTTPConfig{
		Handler:     h,
		Principals:  a.model.Principals(),
		Inventory:   inventory,
		Routes:      specs,
		Actors:      actors,
		Fixtures:    fixtures,
		TenantField: "org_id",
		MissingID:   func() string { return "999999999999999" },
		Snapshot: func(ctx context.Context, f tenancytest.Fixture) (string, error) {
			var s string
			err := a.admin.QueryRow(ctx, `select coalesce((select to_jsonb(x)::text from `+f.Kind+` x where org_id = $1 and id = $2), 'gone')`, f.Tenant, f.ID).Scan(&s)
			return s, err
		},
	}
}
