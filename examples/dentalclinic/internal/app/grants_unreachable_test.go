package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// TestImpersonationWhileGrantsUnreachable: every impersonated request
// checks its grant in the database, as the platform role. While that role
// cannot reach the database, the request is refused (fail closed) with 503
// and Retry-After, not 401, which would tell the client that a good token
// is bad; once the database answers again, the same token is served.
func TestImpersonationWhileGrantsUnreachable(t *testing.T) {
	oa := apptest.Start(t, apptest.Options{})
	admin := oa.SignIn(t, seed.AdminEmail, tenancy.ID{})
	r := oa.Do(t, "POST", "/api/v1/admin/impersonations", admin,
		map[string]any{"clinic_id": riverside.ID, "reason": "checking an outage", "minutes": 15})
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("start impersonation: %d %s", r.Status, r.Body)
	}
	var g struct {
		Token string `json:"token"`
	}
	r.JSON(t, &g)
	if r := oa.Do(t, "GET", "/api/v1/patients", g.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("the impersonation token before the outage: %d %s", r.Status, r.Body)
	}

	platform := oa.DB.RoleName(pgtest.Platform)
	oa.DB.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{platform}.Sanitize()+" nologin")
	restored := false
	restore := func() {
		if !restored {
			restored = true
			oa.DB.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{platform}.Sanitize()+" login")
		}
	}
	t.Cleanup(restore)
	oa.DB.Exec(t, pgtest.Admin, "select pg_terminate_backend(pid) from pg_stat_activity where usename = '"+platform+"'")

	r = oa.Do(t, "GET", "/api/v1/patients", g.Token, nil)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !r.IsProblem() {
		t.Errorf("the impersonation token while grants cannot be checked: %d, Retry-After %q, problem %v; want 503 with Retry-After",
			r.Status, r.Header.Get("Retry-After"), r.IsProblem())
	}

	restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = oa.Do(t, "GET", "/api/v1/patients", g.Token, nil)
		if r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the impersonation token after the outage: %d %s, want 200", r.Status, r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
