package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// TestStaffFormEndsTheMembersSessions: changing a member's roles or
// disabling them through the web UI's staff form ends their sessions at
// once, as the API's PATCH does (the rule is the store's, so every adapter
// keeps it), and a disabled member cannot sign in again.
func TestStaffFormEndsTheMembersSessions(t *testing.T) {
	a := startApp(t)
	owner := newClient(t, a.base)
	owner.signIn(seed.StaffEmail("owner", lakeside), false, "/schedule")
	tok := csrf(t, owner.get("/staff"))

	email := fmt.Sprintf("temp.%d@lakeside.example", time.Now().UnixNano())
	wantRedirect(t, "add staff", owner.post("/staff", url.Values{"csrf_token": {tok}, "name": {"Temp Front Desk"}, "email": {email},
		"roles": {"front_desk"}, "password": {"a long enough password"}}), "/staff")
	var id tenancy.ID
	a.one(t, &id, `select id from staff where clinic_id = $1 and email = $2`, lakeside.ID, email)

	signIn := func() *client {
		t.Helper()
		m := newClient(t, a.base)
		p := m.post("/signin", url.Values{"email": {email}, "password": {"a long enough password"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/schedule" {
			t.Fatalf("the member signing in: %d to %q", p.status, p.header.Get("Location"))
		}
		if p := m.get("/schedule"); p.status != http.StatusOK {
			t.Fatalf("the member's schedule before the change: %d", p.status)
		}
		return m
	}
	ended := func(what string, m *client) {
		t.Helper()
		if p := m.get("/schedule"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin" {
			t.Errorf("%s: the member's old session still works: %d to %q, want 303 to /signin", what, p.status, p.header.Get("Location"))
		}
	}

	m := signIn()
	wantRedirect(t, "new roles", owner.post("/staff/"+id.String(), url.Values{"csrf_token": {tok}, "roles": {"front_desk", "billing"}}), "/staff")
	ended("new roles", m)

	// jwtctx revokes by whole seconds: a sign-in in the same second as the
	// revocation would be refused too.
	time.Sleep(1100 * time.Millisecond)
	m = signIn()
	wantRedirect(t, "disable", owner.post("/staff/"+id.String(), url.Values{"csrf_token": {tok}, "roles": {"front_desk"}, "disabled": {"on"}}), "/staff")
	ended("disabled", m)
	if p := newClient(t, a.base).post("/signin", url.Values{"email": {email}, "password": {"a long enough password"}}); p.status != http.StatusUnauthorized {
		t.Errorf("a disabled member signing in: %d, want 401", p.status)
	}
}
