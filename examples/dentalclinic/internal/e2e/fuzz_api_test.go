package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/api"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/tenancytest"
)

// fuzzBodies is what FuzzAPIBodies needs, made once per process: a clinic
// of its own (so that what the fuzzer writes touches no other test's
// data), a staff account there with every role, a portal patient there,
// the platform admin, an object of each kind, and the write routes.
type fuzzBodies struct {
	routes  []api.Route
	actors  []tenancytest.Actor
	objects map[string]tenancy.ID // path prefix -> an object of the fuzz clinic
}

var (
	fuzzOnce sync.Once
	fuzzFix  *fuzzBodies
)

func newFuzzBodies(t *testing.T, a *apptest.App) *fuzzBodies {
	t.Helper()
	fx := &fuzzBodies{objects: map[string]tenancy.ID{}}
	for _, rt := range a.API.Routes() {
		if rt.Method != http.MethodGet && rt.Path != "/api/v1/auth/logout" {
			fx.routes = append(fx.routes, rt)
		}
	}
	slices.SortFunc(fx.routes, func(x, y api.Route) int { return strings.Compare(x.Method+x.Path, y.Method+y.Path) })

	admin := a.SignInAdmin(t)
	r := a.Do(t, "POST", "/api/v1/admin/clinics", admin, map[string]any{"name": "Fuzz Clinic " + tenancy.NewID().String()[24:], "time_zone": "Europe/London", "currency": "GBP"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create the fuzz clinic: %d %s", r.Status, r.Body)
	}
	var c struct {
		ID tenancy.ID `json:"id"`
	}
	r.JSON(t, &c)
	clinic := seed.Clinic{ID: c.ID, Slug: "fuzz-" + c.ID.String()[24:], Name: "Fuzz", TimeZone: "Europe/London", Currency: "GBP"}
	staff := a.NewStaff(t, clinic, "owner", "dentist", "hygienist", "front_desk", "billing").Token
	a.NewStaff(t, clinic, "hygienist") // the staff member that PATCH /staff/{id} names
	fx.objects["/api/v1/staff/"] = tenancy.MustParseID(a.SuperStrings(t, `select id from staff where clinic_id = $1 and roles = '{hygienist}'`, c.ID)[0])

	// Objects of each kind, made through the API.
	create := func(path string, body any) tenancy.ID {
		r := a.Do(t, "POST", path, staff, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("POST %s at the fuzz clinic: %d %s", path, r.Status, r.Body)
		}
		return idOf(t, r)
	}
	fx.objects["/api/v1/operatories/"] = create("/api/v1/operatories", map[string]any{"name": "Fuzz chair"})
	patient := create("/api/v1/patients", map[string]any{"given_name": "Fuzz", "family_name": "Patient"})
	fx.objects["/api/v1/patients/"] = patient
	fx.objects["/api/v1/prescriptions/"] = create("/api/v1/prescriptions", apptest.PrescriptionBody(patient))
	if r := a.Do(t, "PUT", "/api/v1/fee-schedule", staff, map[string]any{"items": []any{map[string]any{"code": "F1", "description": "Fuzz", "price_minor": 1000}}}); r.Status != http.StatusOK {
		t.Fatalf("fee schedule at the fuzz clinic: %d %s", r.Status, r.Body)
	}
	fx.objects["/api/v1/invoices/"] = create("/api/v1/invoices", map[string]any{"patient_id": patient, "lines": []any{apptest.FeeLine("F1", 1)}})
	appt := a.SuperStrings(t, `select id from appointments where clinic_id = $1 limit 1`, c.ID)
	if len(appt) == 0 {
		// The new clinic's hours are unknown here; an appointment is
		// written as the superuser, for the PATCH route to reach it.
		chair := fx.objects["/api/v1/operatories/"]
		dentist := a.SuperStrings(t, `select id from staff where clinic_id = $1 and 'dentist' = any(roles) limit 1`, c.ID)[0]
		id := tenancy.NewID()
		a.SuperExec(t, `insert into appointments (clinic_id, id, patient_id, dentist_id, operatory_id, starts_at, ends_at, type)
			values ($1, $2, $3, $4, $5, now() + interval '30 days', now() + interval '30 days 30 minutes', 'Check-up')`, c.ID, id, patient, dentist, chair)
		appt = []string{id.String()}
	}
	fx.objects["/api/v1/appointments/"] = tenancy.MustParseID(appt[0])

	// A portal patient of the clinic.
	// An account made as the superuser: enrolment through the API is
	// rate-limited per address, and other tests of the package enrol.
	email := a.NewPortalAccount(t, c.ID, patient)
	portal := a.SignInPortal(t, email, seed.Password, c.ID)

	for _, tok := range []struct{ name, token string }{{"staff", staff}, {"portal", portal}, {"admin", admin}} {
		var me struct {
			Principal tenancy.Principal `json:"principal"`
		}
		a.Do(t, "GET", "/api/v1/me", tok.token, nil).JSON(t, &me)
		fx.actors = append(fx.actors, tenancytest.Actor{Name: tok.name, Principal: me.Principal, Token: tok.token})
	}
	return fx
}

// FuzzAPIBodies sends arbitrary bodies to every write route of the API
// (all but logout), as an actor that the route admits, with the path's id
// naming an object of the fuzz clinic's own: no body may get a 5xx, and
// every 4xx is application/problem+json with its status. The app starts
// once per process; the seeds run with the package's other tests.
func FuzzAPIBodies(f *testing.F) {
	bodies := []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"x":1}`, `{`, `{"name":null}`, "\xff\xfe",
		`{"given_name":"A","family_name":"B","date_of_birth":"2024-13-45"}`,
		`{"phone":"+44 7700 900123"}`, `{"note":"x","status":"nonsense"}`,
		`{"amount_minor":9223372036854775807,"method":"cash"}`, `{"amount_minor":-1,"method":"cash"}`,
		`{"patient_id":"not-an-id","lines":[{"code":"F1","quantity":1e309}]}`,
		`{"starts_at":"2030-01-01T10:00:00Z","duration_min":-30,"type":"Check-up"}`,
		`{"items":[{"code":"","description":"","price_minor":0}]}`,
		`{"opening_hours":{"monday":[["25:00","08:00"]]},"closures":[]}`,
		`{"email":"a@b","name":"x","roles":["root"],"password":"x"}`,
		`{"clinic_id":"00000000-0000-0000-0000-000000000000","reason":"x","minutes":1}`,
		`{"hidden":"yes"}`, `{"reason":""}`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	}
	for i := range 64 {
		f.Add(uint8(i), []byte(bodies[i%len(bodies)]))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		a := startApp(t)
		fuzzOnce.Do(func() { fuzzFix = newFuzzBodies(t, a) })
		if fuzzFix == nil {
			t.Fatal("the fuzz fixture failed in an earlier run")
		}
		rt := fuzzFix.routes[int(route)%len(fuzzFix.routes)]
		path := rt.Path
		if strings.Contains(path, "{id}") {
			id := tenancy.NewID() // the admin console's clinics and grants: as missing
			for prefix, obj := range fuzzFix.objects {
				if strings.HasPrefix(path, prefix) {
					id = obj
				}
			}
			path = strings.Replace(path, "{id}", id.String(), 1)
		}
		var token string
		if !rt.Allow.Public {
			i := slices.IndexFunc(fuzzFix.actors, allows(rt))
			if i < 0 {
				t.Fatalf("no actor may call %s %s", rt.Method, rt.Path)
			}
			token = fuzzFix.actors[i].Token
		}
		req, err := http.NewRequest(rt.Method, a.Base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case resp.StatusCode >= 500:
			t.Fatalf("%s %s with body %q: %d %s", rt.Method, rt.Path, body, resp.StatusCode, got)
		case resp.StatusCode >= 400:
			var p struct{ Status int }
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" || json.Unmarshal(got, &p) != nil || p.Status != resp.StatusCode {
				t.Fatalf("%s %s with body %q: %d %q %s, want problem+json with its status", rt.Method, rt.Path, body, resp.StatusCode, ct, got)
			}
		}
	})
}
