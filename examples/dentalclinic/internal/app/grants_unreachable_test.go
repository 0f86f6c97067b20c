package app

import (
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// TestImpersonationWhileGrantsUnreachable: every impersonated request
// checks its grant in the database, as the platform role. While that role
// cannot reach the database, the request is refused (fail closed) with 503
// and Retry-After, not 401, which would tell the client that a good token
// is bad; once the database answers again, the same token is served.
func TestImpersonationWhileGrantsUnreachable(t *testing.T) {
	oa := startOwnApp(t, ownAppOptions{})
	admin := oa.freshLogin(t, seed.AdminEmail, tenancy.ID{})
	r := oa.do(t, "POST", "/api/v1/admin/impersonations", admin,
		map[string]any{"clinic_id": riverside.ID, "reason": "checking an outage", "minutes": 15})
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("start impersonation: %d %s", r.status, r.body)
	}
	var g struct {
		Token string `json:"token"`
	}
	r.json(t, &g)
	if r := oa.do(t, "GET", "/api/v1/patients", g.Token, nil); r.status != http.StatusOK {
		t.Fatalf("the impersonation token before the outage: %d %s", r.status, r.body)
	}

	platform := oa.db.RoleName(pgtest.Platform)
	oa.db.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{platform}.Sanitize()+" nologin")
	restored := false
	restore := func() {
		if !restored {
			restored = true
			oa.db.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{platform}.Sanitize()+" login")
		}
	}
	t.Cleanup(restore)
	oa.db.Exec(t, pgtest.Admin, "select pg_terminate_backend(pid) from pg_stat_activity where usename = '"+platform+"'")

	r = oa.do(t, "GET", "/api/v1/patients", g.Token, nil)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !isProblem(r) {
		t.Errorf("the impersonation token while grants cannot be checked: %d, Retry-After %q, problem %v; want 503 with Retry-After",
			r.status, r.header.Get("Retry-After"), isProblem(r))
	}

	restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = oa.do(t, "GET", "/api/v1/patients", g.Token, nil)
		if r.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the impersonation token after the outage: %d %s, want 200", r.status, r.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
