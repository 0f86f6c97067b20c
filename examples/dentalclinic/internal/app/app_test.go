package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/api"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testApp is the app running on a shared test database with the demo data.
type testApp struct {
	base string
	db   *pgtest.DB
	api  *api.Server // its route table; requests go through base
	dir  string      // its data directory: the audit signing key and checkpoints

	mu     sync.Mutex
	tokens map[string]string // email and clinic -> session token, see login
}

// model returns the app's isolation model for the roles of a's database.
func (a *testApp) model(t testing.TB) *rls.Model {
	t.Helper()
	return dbModel(t, a.db)
}

// dbModel returns the app's isolation model for the roles of db.
func dbModel(t testing.TB, db *pgtest.DB) *rls.Model {
	t.Helper()
	m, err := migrations.Model(migrations.Roles{Owner: db.RoleName(pgtest.Owner), App: db.RoleName(pgtest.App), Platform: db.RoleName(pgtest.Platform), Audit: db.RoleName(pgtest.Audit)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var (
	appOnce sync.Once
	theApp  *testApp
	appErr  error
)

// startApp runs the app once for the package's tests: migrations as the
// owner, the demo seed, the API as the app role, on a loopback port.
func startApp(t *testing.T) *testApp {
	t.Helper()
	appOnce.Do(func() {
		var oa *ownApp
		if oa, appErr = launchShared("dentalclinic-test-", ownAppOptions{}); appErr == nil {
			theApp = oa.testApp
		}
	})
	if appErr != nil {
		pgtest.SkipOrFail(t, appErr)
	}
	return theApp
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", r.status, err, r.body)
	}
}

func (a *testApp) do(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// login returns a session token for email (at clinic, which may be zero),
// signing in once per test binary: sign-in is rate limited per address
// and email, and the tests of this package share one app. Tests that end
// their session (logout) use freshLogin.
func (a *testApp) login(t *testing.T, email string, clinic tenancy.ID) string {
	t.Helper()
	key := email + " " + clinic.String()
	a.mu.Lock()
	tok, ok := a.tokens[key]
	a.mu.Unlock()
	if ok {
		return tok
	}
	tok = a.freshLogin(t, email, clinic)
	a.mu.Lock()
	a.tokens[key] = tok
	a.mu.Unlock()
	return tok
}

// freshLogin signs in and returns a new token; clinic may be zero.
func (a *testApp) freshLogin(t *testing.T, email string, clinic tenancy.ID) string {
	t.Helper()
	body := map[string]any{"email": email, "password": seed.Password}
	if !clinic.IsZero() {
		body["clinic_id"] = clinic
	}
	r := a.do(t, "POST", "/api/v1/auth/login", "", body)
	if r.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, r.status, r.body)
	}
	var out struct{ Token string }
	r.json(t, &out)
	return out.Token
}

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
	hill := a.login(t, seed.StaffEmail("frontdesk", hillcrest), tenancy.ID{})
	var hillPage struct{ Items []patientJSON }
	a.do(t, "GET", "/api/v1/patients?q=Whitlock", hill, nil).json(t, &hillPage)
	if len(hillPage.Items) != 1 || hillPage.Items[0].ClinicID != hillcrest.ID {
		t.Fatalf("Hillcrest's own search for Whitlock = %+v; the fixture is missing", hillPage.Items)
	}

	river := a.login(t, seed.StaffEmail("frontdesk", riverside), tenancy.ID{})
	var page struct{ Items []patientJSON }
	r := a.do(t, "GET", "/api/v1/patients?q=Whitlock", river, nil)
	r.json(t, &page)
	if r.status != 200 || len(page.Items) != 0 {
		t.Errorf("Riverside searching Hillcrest's patient: %d, %d results: %s", r.status, len(page.Items), r.body)
	}

	a.do(t, "GET", "/api/v1/patients?q=Morgan", river, nil).json(t, &page)
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
		a.do(t, "GET", "/api/v1/patients?q=Alex%20Morgan", hill, nil).json(t, &pg)
		return pg.Items
	}() {
		alexHill = p
	}
	if alexHill.ID.IsZero() {
		t.Fatal("no Alex Morgan at Hillcrest")
	}
	foreign := a.do(t, "GET", "/api/v1/patients/"+alexHill.ID.String(), river, nil)
	missing := a.do(t, "GET", "/api/v1/patients/"+tenancy.NewID().String(), river, nil)
	if foreign.status != 404 || !bytes.Equal(foreign.body, missing.body) {
		t.Errorf("foreign patient: %d %s; missing patient: %d %s; want identical 404s", foreign.status, foreign.body, missing.status, missing.body)
	}
	if ct := foreign.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("404 content type %q", ct)
	}
	// A write to the foreign patient is as missing, and changes nothing.
	upd := a.do(t, "PATCH", "/api/v1/patients/"+alexHill.ID.String(), river, map[string]any{"phone": "000"})
	if upd.status != 404 {
		t.Errorf("PATCH of a foreign patient: %d %s", upd.status, upd.body)
	}
	var phone string
	if err := a.db.Conn(t, pgtest.Admin).QueryRow(context.Background(), "select phone from patients where id = $1", alexHill.ID).Scan(&phone); err != nil || phone == "000" {
		t.Errorf("foreign patient's phone is %q (%v) after the refused PATCH", phone, err)
	}
}

func TestLogin(t *testing.T) {
	a := startApp(t)
	// Alex's staff-less email, unknown email and wrong password: one answer.
	wrong := a.do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": seed.StaffEmail("owner", riverside), "password": "nope-nope-nope"})
	unknown := a.do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": "nobody@nowhere.example", "password": "nope-nope-nope"})
	if wrong.status != 401 || unknown.status != 401 || !bytes.Equal(wrong.body, unknown.body) {
		t.Errorf("wrong password %d %s vs unknown email %d %s: want identical 401s", wrong.status, wrong.body, unknown.status, unknown.body)
	}
	tok := a.freshLogin(t, seed.StaffEmail("owner", riverside), tenancy.ID{})
	var me struct {
		Principal  tenancy.Principal `json:"principal"`
		ClinicName string            `json:"clinic_name"`
	}
	a.do(t, "GET", "/api/v1/me", tok, nil).json(t, &me)
	if me.Principal.Tenant != riverside.ID || me.ClinicName != riverside.Name || !me.Principal.HasRole("owner") {
		t.Errorf("me = %+v", me)
	}
	if r := a.do(t, "POST", "/api/v1/auth/logout", tok, nil); r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if r := a.do(t, "GET", "/api/v1/me", tok, nil); r.status != 401 {
		t.Errorf("token after logout: %d %s", r.status, r.body)
	}
	if r := a.do(t, "GET", "/api/v1/patients", "", nil); r.status != 401 || !strings.Contains(r.header.Get("Content-Type"), "problem+json") {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
}
