package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// loadRow reads a clinic's load from the console: statements, jobs run.
var loadRow = regexp.MustCompile(`<td class="num">(\d+)</td><td class="num">[0-9.]+ s</td><td class="num">(\d+) \((\d+)\)</td><td class="num">(\d+), (\d+)</td>`)

func consoleLoad(t *testing.T, c *client, clinic seed.Clinic) (statements, jobs int) {
	t.Helper()
	row := regexp.MustCompile(regexp.QuoteMeta(clinic.Name) + `.*?</tr>`).FindString(strings.ReplaceAll(c.get("/admin").body, "\n", " "))
	m := loadRow.FindStringSubmatch(row)
	if m == nil {
		t.Fatalf("the console shows no load for %s: %s", clinic.Name, row)
	}
	statements, _ = strconv.Atoi(m[1])
	jobs, _ = strconv.Atoi(m[2])
	return statements, jobs
}

// api makes a JSON API request of the same app with a bearer token.
func api(t *testing.T, base, method, path, token string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, base+path, bytes.NewReader(b))
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
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

// TestConsoleLoad: the platform console shows each clinic's load from the
// SDK's per-tenant metrics: Riverside's statements grow with its requests,
// and its jobs with the reminder job of a booking, in Riverside's row.
func TestConsoleLoad(t *testing.T) {
	a := startApp(t)
	admin := newClient(t, a.base)
	admin.signIn(seed.AdminEmail, false, "/admin")

	code, body := api(t, a.base, "POST", "/api/v1/auth/login", "", map[string]any{
		"email": seed.StaffEmail("frontdesk", riverside), "password": seed.Password, "clinic_id": riverside.ID})
	var login struct{ Token string }
	if err := json.Unmarshal(body, &login); code != http.StatusOK || err != nil {
		t.Fatalf("login: %d %s", code, body)
	}
	// A first request, and a look at the console: the metrics rank the
	// clinics when they are read, and a clinic counts from when it gains
	// its place (its work before that is with the others'); then one more
	// request, so that its row has counts.
	for range 2 {
		if code, body := api(t, a.base, "GET", "/api/v1/patients?q=a", login.Token, nil); code != http.StatusOK {
			t.Fatalf("patients: %d %s", code, body)
		}
		admin.get("/admin")
	}
	s0, j0 := consoleLoad(t, admin, riverside)
	for range 5 {
		if code, body := api(t, a.base, "GET", "/api/v1/patients?q=a", login.Token, nil); code != http.StatusOK {
			t.Fatalf("patients: %d %s", code, body)
		}
	}
	s1, _ := consoleLoad(t, admin, riverside)
	if s1 < s0+5 {
		t.Errorf("Riverside's statements went from %d to %d over 5 requests, want at least 5 more", s0, s1)
	}

	var patient, dentist, chair tenancy.ID
	a.one(t, &patient, `select id from patients where clinic_id = $1 and status = 'active' order by id limit 1`, riverside.ID)
	a.one(t, &dentist, `select id from staff where clinic_id = $1 and email = $2`, riverside.ID, seed.StaffEmail("dentist", riverside))
	a.one(t, &chair, `insert into operatories (clinic_id, id, name) values ($1, $2, $3) returning id`, riverside.ID, tenancy.NewID(), "Load chair "+tenancy.NewID().String()[24:])
	start := time.Now().Add(2 * time.Hour).Truncate(time.Hour)
	booking := map[string]any{
		"patient_id": patient, "dentist_id": dentist, "operatory_id": chair,
		"starts_at": start.Format(time.RFC3339), "duration_min": 5, "type": "Check-up", "allow_dentist_overlap": true,
	}
	// Within the day (for its reminder to be due at once), whatever the
	// hour: outside the demo's opening hours it needs a reason.
	if loc, _ := time.LoadLocation(riverside.TimeZone); !demoOpen(start.In(loc), 5) {
		booking["hours_override"] = "A console load test books within the day, whatever the hour."
	}
	if code, body := api(t, a.base, "POST", "/api/v1/appointments", login.Token, booking); code != http.StatusCreated {
		t.Fatalf("booking: %d %s", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, j := consoleLoad(t, admin, riverside)
		if j > j0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Riverside's jobs stayed at %d after its booking's reminder job", j0)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
