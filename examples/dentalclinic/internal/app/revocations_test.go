package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// TestRevocationsOutliveRestartAndReachOtherInstances runs two instances
// of the app on one database with one signing key, as a deployment of two
// would. A signed-out token and the tokens of a disabled staff member are
// refused by the instance that revoked them at once, by the other within
// its revocation poll, and by a freshly started instance from its first
// request: a restart does not bring a revoked token back.
func TestRevocationsOutliveRestartAndReachOtherInstances(t *testing.T) {
	db := pgtest.New(t)
	dir := t.TempDir() // the signing key, shared by the instances
	start := func(name string) *apptest.App {
		t.Helper()
		oa, err := apptest.Launch(t, apptest.Options{DB: db, Dir: dir})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return oa
	}
	one, two := start("instance one"), start("instance two")

	status := func(a *apptest.App, token string) int {
		t.Helper()
		return a.Do(t, "GET", "/api/v1/patients", token, nil).Status
	}
	// refusedWithin polls a until it refuses token, for at most d.
	refusedWithin := func(a *apptest.App, token string, d time.Duration) (time.Duration, bool) {
		t.Helper()
		began := time.Now()
		for {
			if status(a, token) == http.StatusUnauthorized {
				return time.Since(began), true
			}
			if time.Since(began) > d {
				return d, false
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	wait := 3 * app.RevocationPoll

	// A token signed out on instance one.
	ownerEmail := seed.StaffEmail("owner", riverside)
	signedOut := one.SignIn(t, ownerEmail, tenancy.ID{})
	if s1, s2 := status(one, signedOut), status(two, signedOut); s1 != http.StatusOK || s2 != http.StatusOK {
		t.Fatalf("a fresh token answers %d on instance one and %d on two, want 200: the check would prove nothing", s1, s2)
	}
	if r := one.Do(t, "POST", "/api/v1/auth/logout", signedOut, nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if s := status(one, signedOut); s != http.StatusUnauthorized {
		t.Errorf("instance one, right after the logout: %d, want 401", s)
	}
	if took, ok := refusedWithin(two, signedOut, wait); !ok {
		t.Errorf("instance two still accepts the signed-out token after %v", wait)
	} else {
		t.Logf("instance two refused the signed-out token after %v", took.Round(time.Millisecond))
	}

	// A staff member disabled on instance one.
	owner := one.SignIn(t, ownerEmail, tenancy.ID{})
	email := fmt.Sprintf("leaver-%s@riverside.example", tenancy.NewID().String()[:8])
	var member struct {
		ID tenancy.ID `json:"id"`
	}
	r := one.Do(t, "POST", "/api/v1/staff", owner, map[string]any{
		"email": email, "name": "Leaver", "roles": []string{"front_desk"}, "password": seed.Password,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create staff: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &member)
	leaver := two.SignIn(t, email, tenancy.ID{})
	if s := status(two, leaver); s != http.StatusOK {
		t.Fatalf("the new member's token on instance two: %d, want 200", s)
	}
	if r := one.Do(t, "PATCH", "/api/v1/staff/"+member.ID.String(), owner, map[string]any{"disabled": true}); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if took, ok := refusedWithin(two, leaver, wait); !ok {
		t.Errorf("instance two still accepts the disabled member's token after %v", wait)
	} else {
		t.Logf("instance two refused the disabled member's token after %v", took.Round(time.Millisecond))
	}

	// Both instances restart (stopped, then a new one on the same
	// database and key): the revoked tokens stay refused from the first
	// request, while a token nobody revoked still works.
	one.Stop(t)
	two.Stop(t)
	three := start("instance three")
	if s := status(three, owner); s != http.StatusOK {
		t.Fatalf("a token nobody revoked, after the restart: %d, want 200", s)
	}
	if s := status(three, signedOut); s != http.StatusUnauthorized {
		t.Errorf("the signed-out token after a restart: %d, want 401", s)
	}
	if s := status(three, leaver); s != http.StatusUnauthorized {
		t.Errorf("the disabled member's token after a restart: %d, want 401", s)
	}
}
