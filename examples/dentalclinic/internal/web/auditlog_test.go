package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

var (
	tags = regexp.MustCompile(`<[^>]*>`)
	uuid = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	row  = regexp.MustCompile(`(?s)<tr class="(impersonated)?">(.*?)</tr>`)
	when = regexp.MustCompile(`^[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d [A-Z+\-0-9]+ `)
)

// auditRows returns the text of each entry of an audit log page's table
// of entries.
func auditRows(p page) []string {
	var out []string
	_, entries, _ := strings.Cut(p.body, `id="audit"`)
	for _, m := range row.FindAllStringSubmatch(entries, -1) {
		out = append(out, strings.Join(strings.Fields(tags.ReplaceAllString(m[2], " ")), " "))
	}
	return out
}

// TestAuditLogInWords: the owner's audit log says who (the staff
// member's name; the admin's, "Platform Admin (platform admin)", for an
// impersonation: TestAuditLogNamesAdmins), what (in words,
// "Opened the chart of Alex Morgan"), which record (the patient's name)
// and when (the clinic's time), shows no raw id, filters by person, kind
// of action and dates, and pages by a cursor; the audit rows themselves
// hold ids only.
func TestAuditLogInWords(t *testing.T) {
	a := startApp(t)
	alex := a.patientID(t, riverside, "Alex", "Morgan")
	var fdID tenancy.ID
	var fdName string
	a.one(t, &fdID, `select id from staff where clinic_id = $1 and email = $2`, riverside.ID, seed.StaffEmail("frontdesk", riverside))
	a.one(t, &fdName, `select name from staff where id = $1`, fdID)
	var adminName string
	a.one(t, &adminName, `select name from platform_admins where email = $1`, seed.AdminEmail)

	fd := newClient(t, a.base)
	fd.signIn(seed.StaffEmail("frontdesk", riverside), false, "/schedule")
	if p := fd.get("/patients/" + alex.String()); p.status != http.StatusOK {
		t.Fatalf("the front desk opens Alex's chart: %d", p.status)
	}
	// A platform admin impersonates Riverside and opens the same chart.
	adm := newClient(t, a.base)
	adm.signIn(seed.AdminEmail, false, "/admin")
	tok := csrf(t, adm.get("/admin"))
	if p := adm.post("/admin/impersonate", url.Values{"csrf_token": {tok}, "clinic": {riverside.ID.String()}, "reason": {"Ticket 23: audit words"}, "minutes": {"5"}}); p.status != http.StatusSeeOther {
		t.Fatalf("impersonate: %d %s", p.status, formError(p))
	}
	if p := adm.get("/patients/" + alex.String()); p.status != http.StatusOK {
		t.Fatalf("the impersonating admin opens Alex's chart: %d", p.status)
	}

	owner := newClient(t, a.base)
	owner.signIn(seed.StaffEmail("owner", riverside), false, "/schedule")
	log := owner.get("/audit")
	if log.status != http.StatusOK {
		t.Fatalf("audit log: %d", log.status)
	}
	rows := auditRows(log)
	if len(rows) == 0 {
		t.Fatal("the audit log shows no entry")
	}
	var byDesk, byAdmin bool
	for _, r := range rows {
		if id := uuid.FindString(r); id != "" {
			t.Errorf("an entry shows a raw id %s: %q", id, r)
		}
		if strings.Contains(r, " UTC") {
			t.Errorf("an entry shows UTC, not the clinic's time: %q", r)
		}
		if strings.Contains(r, "{") || strings.Contains(r, "GET /") || strings.Contains(r, "patient.view") {
			t.Errorf("an entry shows an action's code, not words: %q", r)
		}
		byDesk = byDesk || strings.Contains(r, fdName) && strings.Contains(r, "Opened the chart of Alex Morgan")
		byAdmin = byAdmin || strings.Contains(r, "Impersonation "+adminName+" (platform admin)") && strings.Contains(r, "Opened the chart of Alex Morgan")
	}
	if !byDesk || !byAdmin {
		t.Errorf("the log says the front desk (%s) opened Alex's chart: %v; an impersonating platform admin did: %v\n%q", fdName, byDesk, byAdmin, rows[:min(len(rows), 8)])
	}
	if !strings.Contains(log.body, `href="/patients/`+alex.String()+`">Alex Morgan</a>`) {
		t.Error("the record column does not name Alex Morgan with a link to the chart")
	}
	london := time.Now().In(mustZone(t, "Europe/London")).Format("Mon 2 Jan 2006")
	if !strings.Contains(rows[0], london) {
		t.Errorf("the newest entry is not dated today in London (%s): %q", london, rows[0])
	}

	// The rows hold ids only: no name of anyone in the audit tables.
	var named int
	a.one(t, &named, `select count(*) from audit.events where tenant_id = $1 and (resource_id ilike '%Morgan%' or action ilike '%Morgan%'
		or reason ilike '%Morgan%' or resource_id ilike $2)`, riverside.ID, "%"+fdName+"%")
	if named != 0 {
		t.Errorf("%d audit rows hold a name", named)
	}
	var viewsOfAlex int
	a.one(t, &viewsOfAlex, `select count(*) from audit.events where tenant_id = $1 and resource_id = $2`, riverside.ID, alex.String())
	if viewsOfAlex < 2 {
		t.Fatalf("the audit rows of Alex's chart: %d, want at least 2", viewsOfAlex)
	}

	t.Run("by staff member", func(t *testing.T) {
		rows := auditRows(owner.get("/audit?who=" + fdID.String()))
		if len(rows) == 0 {
			t.Fatal("no entries of the front desk")
		}
		for _, r := range rows {
			if !strings.Contains(r, fdName) {
				t.Errorf("filtered by %s, an entry of someone else: %q", fdName, r)
			}
		}
	})
	t.Run("platform admins", func(t *testing.T) {
		rows := auditRows(owner.get("/audit?who=admins"))
		var chart bool
		for _, r := range rows {
			if w := when.ReplaceAllString(r, ""); !strings.HasPrefix(w, "Impersonation ") || !strings.Contains(w, " (platform admin) ") {
				t.Errorf("filtered by platform admins, another entry: %q", r)
			}
			chart = chart || strings.Contains(r, "Opened the chart of Alex Morgan")
		}
		if !chart {
			t.Errorf("the platform admins' entries do not include the chart opened: %q", rows)
		}
	})
	t.Run("by kind", func(t *testing.T) {
		rows := auditRows(owner.get("/audit?kind=impersonation"))
		if len(rows) == 0 {
			t.Fatal("no impersonation entries")
		}
		for _, r := range rows {
			if !strings.Contains(r, "impersonat") {
				t.Errorf("filtered by impersonation, another entry: %q", r)
			}
		}
	})
	t.Run("by dates", func(t *testing.T) {
		if rows := auditRows(owner.get("/audit?to=2000-01-01")); len(rows) != 0 {
			t.Errorf("entries before 2000: %q", rows)
		}
		today := time.Now().In(mustZone(t, "Europe/London")).Format(time.DateOnly)
		if rows := auditRows(owner.get("/audit?from=" + today + "&to=" + today)); len(rows) == 0 {
			t.Error("no entries today")
		}
		p := owner.get("/audit?from=yesterday")
		wantRefused(t, "a date in words", p, http.StatusUnprocessableEntity, "year-month-day")
	})
	t.Run("paging", func(t *testing.T) {
		for range 55 { // more than a page of entries of one kind
			fd.get("/patients/" + alex.String())
		}
		first := owner.get("/audit?who=" + fdID.String())
		m := regexp.MustCompile(`href="(/audit\?[^"]*cursor=[^"]+)" rel="next"`).FindStringSubmatch(first.body)
		if m == nil {
			t.Fatal("no link to the next page")
		}
		next := strings.ReplaceAll(m[1], "&amp;", "&")
		if !strings.Contains(next, "who="+fdID.String()) {
			t.Errorf("the next page forgets the filter: %s", next)
		}
		second := owner.get(next)
		r1, r2 := auditRows(first), auditRows(second)
		if len(r1) != 50 || len(r2) == 0 {
			t.Fatalf("pages of %d and %d entries", len(r1), len(r2))
		}
		if !strings.Contains(second.body, `href="/audit?who=`) {
			t.Error("the second page has no way back to the newest entries")
		}
		// The pages share no entry and lose none: walked to the end, they
		// hold each of the front desk's entries once (a cursor that kept
		// the last entry of a page, or ignored, would count some twice).
		var total int
		a.one(t, &total, `select count(*) from audit.events where tenant_id = $1 and (actor_id = $2 or impersonator_id = $2)`, riverside.ID, fdID)
		shown, pages := len(r1), 1
		for p := first; pages <= total/50+1; pages++ {
			m := regexp.MustCompile(`href="(/audit\?[^"]*cursor=[^"]+)" rel="next"`).FindStringSubmatch(p.body)
			if m == nil {
				break
			}
			p = owner.get(strings.ReplaceAll(m[1], "&amp;", "&"))
			shown += len(auditRows(p))
		}
		if shown != total {
			t.Errorf("the pages show %d entries in %d pages, the front desk has %d", shown, pages, total)
		}
		if p := owner.get("/audit?cursor=not-a-cursor"); p.status != http.StatusUnprocessableEntity {
			t.Errorf("a made-up cursor: %d, want 422", p.status)
		}
	})
	t.Run("owner only", func(t *testing.T) {
		if p := fd.get("/audit"); p.status != http.StatusForbidden {
			t.Errorf("the front desk opens the audit log: %d", p.status)
		}
	})
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
