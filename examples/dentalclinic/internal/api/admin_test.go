package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

type clinicJSON struct {
	ID       tenancy.ID `json:"id"`
	Name     string     `json:"name"`
	Status   string     `json:"status"`
	TimeZone string     `json:"time_zone"`
	Currency string     `json:"currency"`
}

// TestAdminConsole: a platform admin lists, creates and suspends clinics;
// staff, patients and bad input are refused and change nothing.
func TestAdminConsole(t *testing.T) {
	a := startApp(t)
	admin := a.SignInAdmin(t)

	var list struct{ Items []clinicJSON }
	r := a.Do(t, "GET", "/api/v1/admin/clinics", admin, nil)
	r.JSON(t, &list)
	byID := map[tenancy.ID]clinicJSON{}
	for _, c := range list.Items {
		byID[c.ID] = c
	}
	for _, c := range seed.Clinics {
		if got := byID[c.ID]; r.Status != http.StatusOK || got.Name != c.Name || got.TimeZone != c.TimeZone || got.Currency != c.Currency || got.Status != "active" {
			t.Errorf("registry entry for %s = %+v (%d)", c.Name, got, r.Status)
		}
	}

	// Staff and patients may not use the console.
	owner := a.NewStaff(t, riverside, "owner").Token
	patient := a.SignInPortal(t, seed.PortalEmail, seed.Password, riverside.ID)
	for _, tok := range []string{owner, patient} {
		for _, route := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/admin/clinics", nil},
			{"POST", "/api/v1/admin/clinics", map[string]any{"name": "Nope", "time_zone": "Europe/London", "currency": "GBP"}},
			{"POST", "/api/v1/admin/clinics/" + hillcrest.ID.String() + "/suspend", nil},
			{"POST", "/api/v1/admin/impersonations", map[string]any{"clinic_id": hillcrest.ID, "reason": "x", "minutes": 5}},
			{"DELETE", "/api/v1/admin/impersonations/" + tenancy.NewID().String(), nil},
		} {
			if r := a.Do(t, route.method, route.path, tok, route.body); r.Status != http.StatusForbidden || !r.IsProblem() {
				t.Errorf("non-admin %s %s: %d %s", route.method, route.path, r.Status, r.Body)
			}
		}
	}
	// And a platform admin without a clinic is refused clinic routes.
	if r := a.Do(t, "GET", "/api/v1/patients", admin, nil); r.Status != http.StatusForbidden {
		t.Errorf("admin session on a clinic route: %d %s", r.Status, r.Body)
	}

	clinics := func() int { return a.SuperCount(t, `select count(*) from clinics`) }
	before := clinics()
	for _, bad := range []map[string]any{
		{"name": "Bad Zone", "time_zone": "Mars/Olympus_Mons", "currency": "GBP"},
		{"name": "Local Zone", "time_zone": "Local", "currency": "GBP"},
		{"name": "Bad Currency", "time_zone": "Europe/London", "currency": "gbp"},
		{"name": "Bad Currency", "time_zone": "Europe/London", "currency": "POUND"},
		{"name": "", "time_zone": "Europe/London", "currency": "GBP"},
		{"time_zone": "Europe/London", "currency": "GBP"},
		{"name": "Sneaky", "time_zone": "Europe/London", "currency": "GBP", "status": "suspended"},
	} {
		if r := a.Do(t, "POST", "/api/v1/admin/clinics", admin, bad); r.Status < 400 || r.Status >= 500 || !r.IsProblem() {
			t.Errorf("POST /admin/clinics %v: %d %s", bad, r.Status, r.Body)
		}
	}
	if n := clinics(); n != before {
		t.Fatalf("bad input made %d clinics", n-before)
	}

	name := "Console Test Dental " + tenancy.NewID().String()[24:]
	var c clinicJSON
	r = a.Do(t, "POST", "/api/v1/admin/clinics", admin, map[string]any{"name": name, "time_zone": "Asia/Tokyo", "currency": "JPY"})
	r.JSON(t, &c)
	if r.Status != http.StatusCreated || c.Name != name || c.Status != "active" || c.TimeZone != "Asia/Tokyo" || c.Currency != "JPY" {
		t.Fatalf("create clinic: %d %s", r.Status, r.Body)
	}
	if n := a.SuperCount(t, `select count(*) from clinic_settings where clinic_id = $1`, c.ID) +
		a.SuperCount(t, `select count(*) from invoice_counters where clinic_id = $1`, c.ID); n != 2 {
		t.Errorf("new clinic has %d of its settings and invoice counter rows, want 2", n)
	}
	if n := a.SuperCount(t, `select count(*) from audit.events where tenant_id is null and action = 'clinic.create' and resource_id = $1`, c.ID.String()); n != 1 {
		t.Errorf("%d platform clinic.create events, want 1", n)
	}
	if n := a.SuperCount(t, `select count(*) from audit.events where tenant_id = $1 and action = 'clinic.create'`, c.ID); n != 1 {
		t.Errorf("%d clinic.create events in the clinic's chain, want 1", n)
	}

	// Give the clinic an owner (as the superuser), who can sign in until
	// the clinic is suspended.
	hash, err := passwords.Hash(seed.Password)
	if err != nil {
		t.Fatal(err)
	}
	ownerEmail := "owner@" + c.ID.String() + ".example"
	a.SuperExec(t, `insert into staff (clinic_id, id, email, name, roles, password_hash) values ($1, $2, $3, 'Owner', '{owner}', $4)`,
		c.ID, tenancy.NewID(), ownerEmail, hash)
	a.SignIn(t, ownerEmail, tenancy.ID{})

	r = a.Do(t, "POST", "/api/v1/admin/clinics/"+c.ID.String()+"/suspend", admin, nil)
	r.JSON(t, &c)
	if r.Status != http.StatusOK || c.Status != "suspended" {
		t.Fatalf("suspend: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": ownerEmail, "password": seed.Password}); r.Status != http.StatusUnauthorized {
		t.Errorf("staff of a suspended clinic signing in: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "POST", "/api/v1/admin/impersonations", admin, map[string]any{"clinic_id": c.ID, "reason": "ticket 1", "minutes": 5}); r.Status != http.StatusUnprocessableEntity || !r.IsProblem() {
		t.Errorf("impersonating a suspended clinic: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "POST", "/api/v1/admin/clinics/"+tenancy.NewID().String()+"/suspend", admin, nil); r.Status != http.StatusNotFound {
		t.Errorf("suspending an unknown clinic: %d %s", r.Status, r.Body)
	}
}

type grantEventJSON struct {
	ClinicID     tenancy.ID  `json:"clinic_id"`
	Action       string      `json:"action"`
	ResourceID   string      `json:"resource_id"`
	Outcome      string      `json:"outcome"`
	Impersonator *tenancy.ID `json:"impersonator"`
	Grant        *tenancy.ID `json:"grant_id"`
}

// grantEvents reads the owner's whole audit log and returns the events of
// one impersonation grant.
func grantEvents(t *testing.T, a *apptest.App, ownerToken string, grant tenancy.ID) []grantEventJSON {
	t.Helper()
	var out []grantEventJSON
	cursor := ""
	for {
		var page struct {
			Items      []grantEventJSON `json:"items"`
			NextCursor *string          `json:"next_cursor"`
		}
		r := a.Do(t, "GET", "/api/v1/audit?limit=200&cursor="+cursor, ownerToken, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /audit: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &page)
		for _, e := range page.Items {
			if e.Grant != nil && *e.Grant == grant {
				out = append(out, e)
			}
		}
		if page.NextCursor == nil {
			return out
		}
		cursor = *page.NextCursor
	}
}

// TestImpersonation: a platform admin starts an impersonation of
// Riverside, acts, and ends it. Riverside's owner sees the start, one
// event per request and the end; Hillcrest's owner sees none of it; the
// token stops working at once; it never reaches the console.
func TestImpersonation(t *testing.T) {
	a := startApp(t)
	admin := a.SignInAdmin(t)
	var me struct {
		Principal tenancy.Principal `json:"principal"`
	}
	a.Do(t, "GET", "/api/v1/me", admin, nil).JSON(t, &me)
	adminID := me.Principal.Subject
	grants := func() int { return a.SuperCount(t, `select count(*) from audit.impersonation_grants`) }

	// Bad requests start nothing.
	before := grants()
	for _, bad := range []struct {
		body   map[string]any
		status int
	}{
		{map[string]any{"clinic_id": riverside.ID, "minutes": 10}, http.StatusUnprocessableEntity},
		{map[string]any{"clinic_id": riverside.ID, "reason": "   ", "minutes": 10}, http.StatusUnprocessableEntity},
		{map[string]any{"clinic_id": riverside.ID, "reason": "ticket", "minutes": 0}, http.StatusUnprocessableEntity},
		{map[string]any{"clinic_id": riverside.ID, "reason": "ticket", "minutes": 61}, http.StatusUnprocessableEntity},
		{map[string]any{"reason": "ticket", "minutes": 10}, http.StatusUnprocessableEntity},
		{map[string]any{"clinic_id": tenancy.NewID(), "reason": "ticket", "minutes": 10}, http.StatusNotFound},
		{map[string]any{"clinic_id": riverside.ID, "reason": "ticket", "minutes": 10, "roles": []string{"owner"}}, http.StatusBadRequest},
	} {
		if r := a.Do(t, "POST", "/api/v1/admin/impersonations", admin, bad.body); r.Status != bad.status || !r.IsProblem() {
			t.Errorf("start %v: %d %s, want %d", bad.body, r.Status, r.Body, bad.status)
		}
	}
	if n := grants(); n != before {
		t.Fatalf("bad requests stored %d grants", n-before)
	}

	// A patient of Riverside's own to act on.
	desk := a.NewStaff(t, riverside, "front_desk").Token
	var pt patientJSON
	r := a.Do(t, "POST", "/api/v1/patients", desk, map[string]any{"given_name": "Impersonation", "family_name": "Subject"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create patient: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &pt)

	var g struct {
		GrantID   tenancy.ID `json:"grant_id"`
		Token     string     `json:"token"`
		ExpiresAt time.Time  `json:"expires_at"`
	}
	r = a.Do(t, "POST", "/api/v1/admin/impersonations", admin, map[string]any{"clinic_id": riverside.ID, "reason": "support ticket 4711", "minutes": 15})
	r.JSON(t, &g)
	if r.Status != http.StatusCreated || g.Token == "" || g.GrantID.IsZero() || time.Until(g.ExpiresAt) > 15*time.Minute || time.Until(g.ExpiresAt) < 14*time.Minute {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	requests := func() int {
		return a.SuperCount(t, `select count(*) from audit.events where impersonation_grant_id = $1 and action not like 'impersonation.%'`, g.GrantID)
	}

	// Act: each request under the token, allowed or not, writes exactly one
	// event, whose action is the route and whose resource is the record
	// the request touched (resource: type and id, or none).
	acts := []struct {
		method, path string
		body         any
		status       int
		resource     string
	}{
		{"GET", "/api/v1/me", nil, http.StatusOK, ""},
		{"GET", "/api/v1/patients?q=Impersonation", nil, http.StatusOK, ""},
		{"GET", "/api/v1/patients/" + pt.ID.String(), nil, http.StatusOK, "patient " + pt.ID.String()},
		{"PATCH", "/api/v1/patients/" + pt.ID.String(), map[string]any{"phone": "01632 960123"}, http.StatusOK, "patient " + pt.ID.String()},
		{"PATCH", "/api/v1/patients/" + pt.ID.String(), map[string]any{"sex": "bogus"}, http.StatusUnprocessableEntity, ""},
		{"GET", "/api/v1/audit", nil, http.StatusForbidden, ""},
		{"POST", "/api/v1/patients/" + pt.ID.String() + "/portal-invite", nil, http.StatusForbidden, ""},
		{"GET", "/api/v1/portal/me", nil, http.StatusForbidden, ""},
		// The console refuses the impersonation token.
		{"GET", "/api/v1/admin/clinics", nil, http.StatusForbidden, ""},
		{"POST", "/api/v1/admin/impersonations", map[string]any{"clinic_id": hillcrest.ID, "reason": "chain", "minutes": 5}, http.StatusForbidden, ""},
		{"DELETE", "/api/v1/admin/impersonations/" + g.GrantID.String(), nil, http.StatusForbidden, ""},
		// Another clinic's patient is missing.
		{"GET", "/api/v1/patients/" + alexAt(t, a, hillcrest.ID).String(), nil, http.StatusNotFound, ""},
	}
	for i, act := range acts {
		before := requests()
		r := a.Do(t, act.method, act.path, g.Token, act.body)
		if r.Status != act.status {
			t.Errorf("impersonated %s %s: %d %s, want %d", act.method, act.path, r.Status, r.Body, act.status)
		}
		if after := requests(); after != before+1 {
			t.Errorf("impersonated request %d (%s %s) wrote %d events, want 1", i, act.method, act.path, after-before)
		}
		if act.resource == "" {
			continue
		}
		last := a.SuperStrings(t, `select action || ' | ' || resource_type || ' ' || resource_id from audit.events
			where impersonation_grant_id = $1 order by seq desc limit 1`, g.GrantID)
		if want := []string{act.method + " /api/v1/patients/{id} | " + act.resource}; !slices.Equal(last, want) {
			t.Errorf("impersonated %s %s: event %q, want %q", act.method, act.path, last, want)
		}
	}
	var phone string
	if got := a.SuperStrings(t, `select phone from patients where clinic_id = $1 and id = $2`, riverside.ID, pt.ID); len(got) == 1 {
		phone = got[0]
	}
	if phone != "01632 960123" {
		t.Errorf("the impersonated update did not stick: phone %q", phone)
	}
	// No domain events (patient.view, patient.update) besides the request events.
	if n := a.SuperCount(t, `select count(*) from audit.events where impersonation_grant_id = $1 and action not like '% %' and action <> 'impersonation.started'`, g.GrantID); n != 0 {
		t.Errorf("%d extra events under the grant", n)
	}

	// End: the token stops at once.
	r = a.Do(t, "DELETE", "/api/v1/admin/impersonations/"+g.GrantID.String(), admin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("end: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "GET", "/api/v1/patients", g.Token, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("token after the grant ended: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "DELETE", "/api/v1/admin/impersonations/"+g.GrantID.String(), admin, nil); r.Status != http.StatusConflict {
		t.Errorf("ending twice: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "DELETE", "/api/v1/admin/impersonations/"+tenancy.NewID().String(), admin, nil); r.Status != http.StatusNotFound {
		t.Errorf("ending an unknown grant: %d %s", r.Status, r.Body)
	}

	// Riverside's owner sees the start, every request and the end.
	owner := a.NewStaff(t, riverside, "owner").Token
	events := grantEvents(t, a, owner, g.GrantID)
	count := map[string]int{}
	for _, e := range events {
		if e.ClinicID != riverside.ID || e.Impersonator == nil || *e.Impersonator != adminID {
			t.Errorf("event %+v: want Riverside's, naming admin %v", e, adminID)
		}
		if strings.Contains(e.Action, " ") {
			count["request"]++ // "GET /api/v1/me", ...
		} else {
			count[e.Action]++
		}
	}
	if count["impersonation.started"] != 1 || count["request"] != len(acts) || count["impersonation.ended"] != 1 {
		t.Errorf("Riverside's owner sees %v; want 1 start, %d requests, 1 end", count, len(acts))
	}
	// Hillcrest's owner sees none of it.
	hillOwner := a.NewStaff(t, hillcrest, "owner").Token
	if events := grantEvents(t, a, hillOwner, g.GrantID); len(events) != 0 {
		t.Errorf("LEAK: Hillcrest's owner sees %d events of Riverside's impersonation", len(events))
	}
	for _, e := range a.AuditLog(t, hillOwner) {
		if e.ClinicID != hillcrest.ID || e.Impersonator != nil && *e.Impersonator == adminID && e.ResourceID == pt.ID.String() {
			t.Fatalf("LEAK: Hillcrest's owner sees %+v", e)
		}
	}

	// Staff cannot start an impersonation.
	if r := a.Do(t, "POST", "/api/v1/admin/impersonations", owner, map[string]any{"clinic_id": riverside.ID, "reason": "x", "minutes": 5}); r.Status != http.StatusForbidden {
		t.Errorf("owner starting an impersonation: %d %s", r.Status, r.Body)
	}
}
