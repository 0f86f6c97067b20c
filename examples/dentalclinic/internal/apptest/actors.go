package apptest

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// SignIn signs in staff or the platform admin (POST /api/v1/auth/login)
// with seed.Password and returns a new session token; clinic, if not
// zero, picks one of the email's clinics. Anything but 200 fails the test.
func (a *App) SignIn(t testing.TB, email string, clinic tenancy.ID) string {
	t.Helper()
	body := map[string]any{"email": email, "password": seed.Password}
	if !clinic.IsZero() {
		body["clinic_id"] = clinic
	}
	r := a.Do(t, "POST", "/api/v1/auth/login", "", body)
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, r.Status, r.Body)
	}
	var out struct{ Token string }
	r.JSON(t, &out)
	return out.Token
}

// SignInAdmin signs in the demo platform admin (seed.AdminEmail).
func (a *App) SignInAdmin(t testing.TB) string {
	t.Helper()
	return a.SignIn(t, seed.AdminEmail, tenancy.ID{})
}

// SignInPortal signs a patient in to the portal (POST
// /api/v1/portal/login) and returns the token; clinic may be zero. It
// fails the test unless the answer is 200 with a patient principal (of
// clinic, if given).
func (a *App) SignInPortal(t testing.TB, email, password string, clinic tenancy.ID) string {
	t.Helper()
	body := map[string]any{"email": email, "password": password}
	if !clinic.IsZero() {
		body["clinic_id"] = clinic
	}
	r := a.Do(t, "POST", "/api/v1/portal/login", "", body)
	if r.Status != http.StatusOK {
		t.Fatalf("portal login %s: %d %s", email, r.Status, r.Body)
	}
	var out struct {
		Token     string            `json:"token"`
		Principal tenancy.Principal `json:"principal"`
	}
	r.JSON(t, &out)
	if out.Principal.Kind != kinds.Patient || (!clinic.IsZero() && out.Principal.Tenant != clinic) {
		t.Fatalf("portal login %s gave principal %+v", email, out.Principal)
	}
	return out.Token
}

var (
	hashOnce sync.Once
	hashed   string
	hashErr  error
)

// passwordHash is the argon2id hash of seed.Password, made once per test
// binary: each hash costs tens of milliseconds of CPU, and every account
// the harness makes has that password.
func passwordHash() (string, error) {
	hashOnce.Do(func() { hashed, hashErr = passwords.Hash(seed.Password) })
	return hashed, hashErr
}

// Staff is a staff account made for a test, signed in.
type Staff struct {
	ID    tenancy.ID
	Email string
	Token string
}

// NewStaff adds a staff account of clinic c with exactly roles (as the
// database superuser, password seed.Password) and signs it in. Tests that
// change or end a session use an account of their own, not the demo
// staff the other tests of the package share.
func (a *App) NewStaff(t testing.TB, c seed.Clinic, roles ...string) Staff {
	t.Helper()
	hash, err := passwordHash()
	if err != nil {
		t.Fatal(err)
	}
	s := Staff{ID: tenancy.NewID()}
	s.Email = strings.ReplaceAll(strings.Join(roles, "-"), "_", "") + "." + s.ID.String()[24:] + "@" + c.Slug + ".example"
	a.SuperExec(t, `insert into staff (clinic_id, id, email, name, roles, password_hash) values ($1, $2, $3, 'Test account', $4, $5)`,
		c.ID, s.ID, s.Email, roles, hash)
	s.Token = a.SignIn(t, s.Email, tenancy.ID{})
	return s
}

// NewPortalAccount gives patient a portal account at clinic (as the
// database superuser, password seed.Password) and returns its email.
// Tests that need an account, not an enrolment, use it.
func (a *App) NewPortalAccount(t testing.TB, clinic, patient tenancy.ID) string {
	t.Helper()
	hash, err := passwordHash()
	if err != nil {
		t.Fatal(err)
	}
	email := "portal." + tenancy.NewID().String()[24:] + "@example.org"
	a.SuperExec(t, `insert into portal_accounts (clinic_id, id, patient_id, email, password_hash) values ($1, $2, $3, $4, $5)`,
		clinic, tenancy.NewID(), patient, email, hash)
	return email
}

// Impersonation is a platform admin's grant to act in a clinic.
type Impersonation struct {
	GrantID tenancy.ID `json:"grant_id"`
	Token   string     `json:"token"`
}

// Impersonate starts an impersonation of clinic by the admin of
// adminToken (POST /api/v1/admin/impersonations) for minutes, with
// reason; anything but 201 fails the test.
func (a *App) Impersonate(t testing.TB, adminToken string, clinic tenancy.ID, reason string, minutes int) Impersonation {
	t.Helper()
	r := a.Do(t, "POST", "/api/v1/admin/impersonations", adminToken, map[string]any{"clinic_id": clinic, "reason": reason, "minutes": minutes})
	if r.Status != http.StatusCreated {
		t.Fatalf("impersonate %v: %d %s", clinic, r.Status, r.Body)
	}
	var g Impersonation
	r.JSON(t, &g)
	return g
}
