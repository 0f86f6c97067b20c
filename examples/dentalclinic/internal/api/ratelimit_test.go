package api_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// TestSignInRateLimit runs the app with its default sign-in limit (the
// tests' apps raise it, apptest.TestSignInAttempts): ten attempts a minute
// from one address for one email are answered, the eleventh is 429 with
// Retry-After, even with the right password, while another email is still
// answered. The shared app, with the harness's limit, answers the same
// eleven attempts: the raised limit is what lets the other tests sign in
// as often as they need, not a cache of tokens.
func TestSignInRateLimit(t *testing.T) {
	email := seed.StaffEmail("hygienist", riverside)
	attempt := func(a *apptest.App, email, password string) apptest.Response {
		return a.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": password})
	}

	shared := startApp(t)
	for i := range 11 {
		if r := attempt(shared, email, "wrong-password-"+strconv.Itoa(i)); r.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d at the shared app (limit %d): %d %s, want 401", i+1, apptest.TestSignInAttempts, r.Status, r.Body)
		}
	}

	a := apptest.Start(t, apptest.Options{DefaultSignInLimit: true})
	for i := range 10 {
		if r := attempt(a, email, "wrong-password-"+strconv.Itoa(i)); r.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d with the default limit: %d %s, want 401", i+1, r.Status, r.Body)
		}
	}
	r := attempt(a, email, seed.Password)
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("the 11th attempt in a minute, with the right password: %d %s, want 429", r.Status, r.Body)
	}
	if p := r.Problem(t); p.Code != "too_many_attempts" {
		t.Errorf("429 code %q, want too_many_attempts", p.Code)
	}
	if wait, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || wait < 1 || wait > 61 {
		t.Errorf("Retry-After %q, want 1 to 61 seconds", r.Header.Get("Retry-After"))
	}
	if r := attempt(a, seed.StaffEmail("dentist", riverside), seed.Password); r.Status != http.StatusOK {
		t.Errorf("another email from the same address: %d %s, want 200", r.Status, r.Body)
	}
}
