package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// TestDisablingStaffEndsTheirSessions: a disabled account's token stops
// working at once, not when it expires, and the account cannot sign in.
func TestDisablingStaffEndsTheirSessions(t *testing.T) {
	a := startApp(t)
	owner := a.SignIn(t, seed.StaffEmail("owner", riverside), tenancy.ID{})
	email := fmt.Sprintf("temp-%s@riverside.example", tenancy.NewID().String()[:8])
	var member struct {
		ID tenancy.ID `json:"id"`
	}
	r := a.Do(t, "POST", "/api/v1/staff", owner, map[string]any{
		"email": email, "name": "Temp", "roles": []string{"front_desk"}, "password": seed.Password,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create staff: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &member)
	tok := a.SignIn(t, email, tenancy.ID{})
	if r := a.Do(t, "GET", "/api/v1/patients", tok, nil); r.Status != http.StatusOK {
		t.Fatalf("the new member's token: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "PATCH", "/api/v1/staff/"+member.ID.String(), owner, map[string]any{"disabled": true}); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "GET", "/api/v1/patients", tok, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("a disabled member's token: %d %s, want 401", r.Status, r.Body)
	}
	login := a.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": seed.Password})
	if login.Status != http.StatusUnauthorized {
		t.Errorf("a disabled member signing in: %d %s", login.Status, login.Body)
	}
}
