package api_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The API's contract tests share one app (apptest.Shared) and its demo
// clinics. Each test makes the accounts and records it changes (accounts
// of its own with exactly the roles it needs, patients, chairs, a day
// decades ahead) rather than changing the demo data the others read.

// startApp is the app this package's tests share.
func startApp(t *testing.T) *apptest.App { return apptest.Shared(t, "api", apptest.Options{}) }

var (
	riverside = seed.Clinics[0]
	hillcrest = seed.Clinics[1]
)

type patientJSON struct {
	ID         tenancy.ID `json:"id"`
	ClinicID   tenancy.ID `json:"clinic_id"`
	GivenName  string     `json:"given_name"`
	FamilyName string     `json:"family_name"`
}

// TestSearchSisterClinic is the product's own check: staff at Riverside
// searching for a patient who exists at a sister clinic find nothing, and
// every record returned carries the caller's clinic.
func TestSearchSisterClinic(t *testing.T) {
	a := startApp(t)
	// First prove the data exists: Hillcrest has Jordan Whitlock and its own
	// Alex Morgan.
	hill := a.SignIn(t, seed.StaffEmail("frontdesk", hillcrest), tenancy.ID{})
	var hillPage struct{ Items []patientJSON }
	a.Do(t, "GET", "/api/v1/patients?q=Whitlock", hill, nil).JSON(t, &hillPage)
	if len(hillPage.Items) != 1 || hillPage.Items[0].ClinicID != hillcrest.ID {
		t.Fatalf("Hillcrest's own search for Whitlock = %+v; the fixture is missing", hillPage.Items)
	}

	river := a.SignIn(t, seed.StaffEmail("frontdesk", riverside), tenancy.ID{})
	var page struct{ Items []patientJSON }
	r := a.Do(t, "GET", "/api/v1/patients?q=Whitlock", river, nil)
	r.JSON(t, &page)
	if r.Status != 200 || len(page.Items) != 0 {
		t.Errorf("Riverside searching Hillcrest's patient: %d, %d results: %s", r.Status, len(page.Items), r.Body)
	}

	a.Do(t, "GET", "/api/v1/patients?q=Morgan", river, nil).JSON(t, &page)
	found := false
	for _, p := range page.Items {
		if p.ClinicID != riverside.ID {
			t.Errorf("LEAK: Riverside's search returned %s %s of clinic %v", p.GivenName, p.FamilyName, p.ClinicID)
		}
		found = found || p.GivenName == "Alex" && p.FamilyName == "Morgan"
	}
	if !found {
		t.Errorf("Riverside's search for Morgan did not find Riverside's Alex Morgan: %+v", page.Items)
	}

	// Hillcrest's Alex Morgan, by id, is 404 at Riverside, exactly like an
	// unknown id.
	var alexHill patientJSON
	for _, p := range func() []patientJSON {
		var pg struct{ Items []patientJSON }
		a.Do(t, "GET", "/api/v1/patients?q=Alex%20Morgan", hill, nil).JSON(t, &pg)
		return pg.Items
	}() {
		alexHill = p
	}
	if alexHill.ID.IsZero() {
		t.Fatal("no Alex Morgan at Hillcrest")
	}
	foreign := a.Do(t, "GET", "/api/v1/patients/"+alexHill.ID.String(), river, nil)
	missing := a.Do(t, "GET", "/api/v1/patients/"+tenancy.NewID().String(), river, nil)
	if foreign.Status != 404 || !bytes.Equal(foreign.Body, missing.Body) {
		t.Errorf("foreign patient: %d %s; missing patient: %d %s; want identical 404s", foreign.Status, foreign.Body, missing.Status, missing.Body)
	}
	if ct := foreign.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("404 content type %q", ct)
	}
	// A write to the foreign patient is as missing, and changes nothing.
	upd := a.Do(t, "PATCH", "/api/v1/patients/"+alexHill.ID.String(), river, map[string]any{"phone": "000"})
	if upd.Status != 404 {
		t.Errorf("PATCH of a foreign patient: %d %s", upd.Status, upd.Body)
	}
	var phone string
	if err := a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(), "select phone from patients where id = $1", alexHill.ID).Scan(&phone); err != nil || phone == "000" {
		t.Errorf("foreign patient's phone is %q (%v) after the refused PATCH", phone, err)
	}
}

func TestLogin(t *testing.T) {
	a := startApp(t)
	// Alex's staff-less email, unknown email and wrong password: one answer.
	wrong := a.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": seed.StaffEmail("owner", riverside), "password": "nope-nope-nope"})
	unknown := a.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": "nobody@nowhere.example", "password": "nope-nope-nope"})
	if wrong.Status != 401 || unknown.Status != 401 || !bytes.Equal(wrong.Body, unknown.Body) {
		t.Errorf("wrong password %d %s vs unknown email %d %s: want identical 401s", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
	}
	tok := a.SignIn(t, seed.StaffEmail("owner", riverside), tenancy.ID{})
	var me struct {
		Principal  tenancy.Principal `json:"principal"`
		ClinicName string            `json:"clinic_name"`
	}
	a.Do(t, "GET", "/api/v1/me", tok, nil).JSON(t, &me)
	if me.Principal.Tenant != riverside.ID || me.ClinicName != riverside.Name || !me.Principal.HasRole("owner") {
		t.Errorf("me = %+v", me)
	}
	if r := a.Do(t, "POST", "/api/v1/auth/logout", tok, nil); r.Status != 204 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "GET", "/api/v1/me", tok, nil); r.Status != 401 {
		t.Errorf("token after logout: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "GET", "/api/v1/patients", "", nil); r.Status != 401 || !strings.Contains(r.Header.Get("Content-Type"), "problem+json") {
		t.Errorf("no token: %d %s", r.Status, r.Body)
	}
}

// idOf returns the "id" of a JSON response, failing the test without one.
func idOf(t *testing.T, r apptest.Response) tenancy.ID {
	t.Helper()
	var v struct {
		ID tenancy.ID `json:"id"`
	}
	r.JSON(t, &v)
	if v.ID.IsZero() {
		t.Fatalf("no id in %d %s", r.Status, r.Body)
	}
	return v.ID
}

// staffRole adds a staff account of c with exactly roles and signs it in.
func staffRole(t *testing.T, a *apptest.App, c seed.Clinic, roles ...string) (tenancy.ID, string) {
	t.Helper()
	s := a.NewStaff(t, c, roles...)
	return s.ID, s.Token
}
