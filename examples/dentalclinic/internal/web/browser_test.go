package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the browser tests' screenshots to docs/screenshots")

// screenshotDir is the repository's docs/screenshots, from this package.
const screenshotDir = "../../../../docs/screenshots"

// browserTimeout bounds each browser test; waits inside it are for
// elements and navigations, never fixed sleeps.
const browserTimeout = 3 * time.Minute

// chromium finds the browser: Debian's chromium, or another on PATH.
func chromium(t *testing.T) string {
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium: CI must install Debian's chromium package (.ci/run does)")
	}
	t.Skip("no Chromium (/usr/bin/chromium); install Debian's chromium package to run the browser tests")
	return ""
}

// TestBrowser drives the web UI in real headless Chromium: one browser
// for the test binary, a fresh browser context (like an incognito window,
// with its own cookies) for each subtest.
func TestBrowser(t *testing.T) {
	a := startApp(t)
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "en-GB"),
		chromedp.Env("LANG=en_GB.UTF-8", "LANGUAGE=en_GB"),
		chromedp.Flag("hide-scrollbars", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting Chromium %s: %v", path, err)
	}
	b := &browser{ctx: browserCtx, app: a}
	t.Run("each role sees its own clinic", b.eachRole)
	t.Run("front desk search", b.search)
	t.Run("portal shows one clinic", b.portal)
	t.Run("booking conflict and prescribing form", b.booking)
	t.Run("impersonation banner and audit log", b.impersonation)
	t.Run("other pages", b.otherPages)
	t.Run("patients", b.patients)
	t.Run("money", b.money)
	t.Run("schedule", b.schedule)
	t.Run("portal requests", b.portalRequests)
	t.Run("the front desk's morning and the dentist's day", b.mornings)
}

type browser struct {
	ctx context.Context
	app *testApp
}

// tab is one page in a fresh browser context.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (b *browser) tab(t *testing.T) *tab {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(tcancel)
	return &tab{t: t, ctx: tctx, base: b.app.base}
}

// open loads path and returns the HTTP status of the page.
func (p *tab) open(path string) int {
	p.t.Helper()
	resp, err := chromedp.Run(p.ctx, chromedp.NavigateResponse(p.base+path))
	if err != nil {
		p.t.Fatalf("opening %s: %v", path, err)
	}
	return int(resp.Status)
}

// set sets a field's value.
func (p *tab) set(sel, value string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.SetValue(chromedp.CSS(sel), value)); err != nil {
		p.t.Fatalf("setting %s: %v", sel, err)
	}
}

// typeIn types text into a field, as a person would.
func (p *tab) typeIn(sel, text string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
		p.t.Fatalf("typing in %s: %v", sel, err)
	}
}

// submit clicks the submit button of form and waits for the page it leads
// to; it returns that page's status.
func (p *tab) submit(form string) int {
	p.t.Helper()
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))
	if err != nil {
		p.t.Fatalf("submitting %s: %v", form, err)
	}
	return int(resp.Status)
}

// tokenShowsClinic checks the product's promise "to see your tenant,
// decode your JWT in the browser's developer tools": the session cookie,
// as the DevTools protocol lists it (Application → Cookies), is a JWT whose
// tenant claim is clinic; no script can read it (HttpOnly, so not in
// document.cookie) and nothing is kept in Local Storage.
func (p *tab) tokenShowsClinic(clinic tenancy.ID) {
	p.t.Helper()
	res, err := chromedp.Run(p.ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
	})
	if err != nil {
		p.t.Fatalf("reading the cookies: %v", err)
	}
	var token string
	for _, c := range res.Cookies {
		if c.Name == "session" {
			token = c.Value
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				p.t.Errorf("session cookie: HttpOnly %v, SameSite %q; want HttpOnly, Strict", c.HTTPOnly, c.SameSite)
			}
		}
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		p.t.Fatalf("the session cookie is not a JWT (%d parts)", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		p.t.Fatalf("decoding the token's payload: %v", err)
	}
	var claims struct {
		Tenant string `json:"tenant"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		p.t.Fatalf("the token's payload: %v", err)
	}
	if claims.Tenant != clinic.String() {
		p.t.Errorf("the token decoded in developer tools names clinic %q, want %s", claims.Tenant, clinic)
	}
	if got := eval[string](p, "document.cookie"); strings.Contains(got, parts[1]) {
		p.t.Error("a script can read the session token (document.cookie)")
	}
	if n := eval[int](p, "window.localStorage.length + window.sessionStorage.length"); n != 0 {
		p.t.Errorf("the page keeps %d items in Local or Session Storage", n)
	}
}

// viewport sets the tab's width (and a phone's or a laptop's height).
func (p *tab) viewport(width, height int64) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.EmulateViewport(width, height)); err != nil {
		p.t.Fatalf("viewport %d: %v", width, err)
	}
}

// fitsWidth fails the test when the page is wider than the window: at
// phone width nothing may scroll the page sideways.
func (p *tab) fitsWidth(what string, width int) {
	p.t.Helper()
	if w := eval[int](p, `document.documentElement.scrollWidth`); w > width {
		wide := eval[[]string](p, fmt.Sprintf(`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > %d && !(e.parentElement && e.parentElement.closest(".scroll, table.list"))).slice(0, 5).map(e => e.tagName + "." + e.className + "#" + e.id)`, width))
		p.t.Errorf("%s at %d px: the page is %d px wide; too wide: %q", what, width, w, wide)
	}
}

// eval evaluates a JavaScript expression and decodes its value into T.
func eval[T any](p *tab, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// text returns the trimmed text of the first element matching sel, or ""
// when there is none.
func (p *tab) text(sel string) string {
	p.t.Helper()
	q, _ := json.Marshal(sel)
	return eval[string](p, fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? "").trim().replace(/\s+/g, " ")`, q))
}

func (p *tab) count(sel string) int {
	p.t.Helper()
	q, _ := json.Marshal(sel)
	return eval[int](p, fmt.Sprintf(`document.querySelectorAll(%s).length`, q))
}

// attrs returns attribute name of every element matching sel.
func (p *tab) attrs(sel, name string) []string {
	p.t.Helper()
	q, _ := json.Marshal(sel)
	n, _ := json.Marshal(name)
	return eval[[]string](p, fmt.Sprintf(`[...document.querySelectorAll(%s)].map(e => e.getAttribute(%s))`, q, n))
}

func (p *tab) path() string {
	p.t.Helper()
	return eval[string](p, `location.pathname`)
}

// shot takes a full-page PNG screenshot, checks it, and keeps it in
// docs/screenshots when asked to (-update-screenshots or
// UPDATE_SCREENSHOTS=1).
func (p *tab) shot(name string) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 4096 {
		p.t.Fatalf("screenshot %s: %d bytes, not a PNG of a page", name, len(png))
	}
	if *updateScreenshots || os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
			p.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
}

// signIn signs in through the form; clinic, when not empty, is the clinic
// to choose when the email has accounts at several.
func (p *tab) signIn(email string, portal bool, clinic string) {
	p.t.Helper()
	path := "/signin"
	if portal {
		path = "/portal/signin"
	}
	p.open(path)
	p.typeIn("#email", email)
	p.typeIn("#password", seed.Password)
	p.submit("#signin-form")
	if p.count("#clinic-choice") > 0 {
		if clinic == "" {
			p.t.Fatalf("sign-in of %s asks for a clinic, and the test names none", email)
		}
		q, _ := json.Marshal(clinic)
		if !eval[bool](p, fmt.Sprintf(`(() => { const l = [...document.querySelectorAll("#clinic-choice label")].find(l => l.textContent.trim() === %s); if (!l) return false; l.querySelector("input").click(); return true })()`, q)) {
			p.t.Fatalf("sign-in of %s: no choice %q among %q", email, clinic, p.text("#clinic-choice"))
		}
		p.typeIn("#password", seed.Password)
		p.submit("#signin-form")
	}
	if msg := p.text("#form-error"); msg != "" {
		p.t.Fatalf("sign-in of %s refused: %s", email, msg)
	}
}

// ids parses the record ids in hrefs such as /appointments/<id>.
func ids(t *testing.T, hrefs []string) []tenancy.ID {
	t.Helper()
	var out []tenancy.ID
	for _, h := range hrefs {
		id, err := tenancy.ParseID(h[strings.LastIndexByte(h, '/')+1:])
		if err != nil {
			t.Fatalf("href %q: %v", h, err)
		}
		out = append(out, id)
	}
	return out
}

// eachRole: every staff role, a patient and the platform admin sign in and
// see their own clinic's name (in the header and on the Session page) and
// only their clinic's data.
func (b *browser) eachRole(t *testing.T) {
	type who struct {
		email  string
		clinic seed.Clinic
	}
	var people []who
	for _, local := range []string{"owner", "dentist", "hygienist", "frontdesk"} {
		people = append(people, who{seed.StaffEmail(local, riverside), riverside})
	}
	people = append(people, who{seed.StaffEmail("owner", hillcrest), hillcrest}, who{seed.StaffEmail("frontdesk", lakeside), lakeside})
	for i, w := range people {
		t.Run(w.email, func(t *testing.T) {
			p := b.tab(t)
			p.signIn(w.email, false, "")
			if got := p.path(); got != "/schedule" {
				t.Fatalf("signed in to %s, want /schedule", got)
			}
			if got := p.text("#clinic-name"); got != w.clinic.Name {
				t.Errorf("header names %q, want %q", got, w.clinic.Name)
			}
			if p.open("/schedule?view=week") != 200 {
				t.Fatal("week schedule did not open")
			}
			appts := ids(t, p.attrs("#schedule a.appt", "href"))
			if len(appts) == 0 {
				t.Fatal("the week schedule shows no appointments")
			}
			var foreign int
			b.app.one(t, &foreign, `select count(*) from appointments where id = any($1) and clinic_id <> $2`, appts, w.clinic.ID)
			if foreign != 0 {
				t.Errorf("%d of the %d appointments shown belong to another clinic", foreign, len(appts))
			}
			var others int
			b.app.one(t, &others, `select count(*) from appointments where clinic_id <> $1`, w.clinic.ID)
			if others == 0 {
				t.Fatal("no other clinic has appointments, so the check proves nothing")
			}
			p.open("/session")
			if got := p.text("#session-clinic"); got != w.clinic.Name {
				t.Errorf("Session page: clinic %q, want %q", got, w.clinic.Name)
			}
			if got := p.text("#session-clinic-id"); got != w.clinic.ID.String() {
				t.Errorf("Session page: clinic id %q, want %s", got, w.clinic.ID)
			}
			if p.text("#session-expiry") == "" || p.text("#session-roles") == "" {
				t.Error("Session page shows no expiry or roles")
			}
			if i == 0 {
				p.shot("session")
			}
			p.tokenShowsClinic(w.clinic.ID)
		})
	}
	t.Run(seed.AdminEmail, func(t *testing.T) {
		p := b.tab(t)
		p.signIn(seed.AdminEmail, false, "")
		if got := p.path(); got != "/admin" {
			t.Fatalf("the admin signed in to %s, want /admin", got)
		}
		table := p.text("#clinics")
		for _, c := range seed.Clinics {
			if !strings.Contains(table, c.Name) {
				t.Errorf("the console does not list %s", c.Name)
			}
		}
		if p.count("#clinic-name") != 0 {
			t.Error("the admin's own session shows a clinic")
		}
		p.shot("admin-console")
		p.open("/session")
		if got := p.text("#session-clinic"); !strings.Contains(got, "None") {
			t.Errorf("the admin's Session page names clinic %q, want none", got)
		}
		// The console's session reaches no clinic page.
		if status := p.open("/patients?q=Morgan"); status != 403 {
			t.Errorf("the admin's own session opened a clinic page: %d", status)
		}
	})
}

// search: Riverside's front desk finds one Morgan, Riverside's; Hillcrest's
// Jordan Whitlock, who exists, is not found.
func (b *browser) search(t *testing.T) {
	jordan := b.app.patientID(t, hillcrest, "Jordan", "Whitlock") // exists, at Hillcrest
	alex := b.app.patientID(t, riverside, "Alex", "Morgan")
	p := b.tab(t)
	p.signIn(seed.StaffEmail("frontdesk", riverside), false, "")
	p.open("/patients")
	p.typeIn("#q", "Morgan")
	p.submit(`form[role="search"]`)
	rows := ids(t, p.attrs("#results tbody tr", "data-id"))
	if len(rows) != 1 || rows[0] != alex {
		t.Fatalf("search for Morgan: %v, want exactly Riverside's Alex Morgan %s", rows, alex)
	}
	if !strings.Contains(p.text("#results"), "Morgan, Alex") {
		t.Errorf("result row reads %q", p.text("#results"))
	}
	p.shot("patient-search")
	p.open("/patients?q=" + strings.ReplaceAll(seed.HillcrestOnly, " ", "+"))
	if p.count("#results tbody tr") != 0 || p.text("#no-results") == "" {
		t.Errorf("search for %s (%s at Hillcrest) found %q", seed.HillcrestOnly, jordan, p.text("#results"))
	}
	// The chart of Riverside's Alex opens; Hillcrest's Jordan by id is the
	// not-found page, like an id that does not exist.
	if status := p.open("/patients/" + alex.String()); status != 200 {
		t.Fatalf("Alex's chart: %d", status)
	}
	p.shot("patient-chart")
	if status := p.open("/patients/" + jordan.String()); status != 404 || strings.Contains(p.text("main"), "Whitlock") {
		t.Errorf("Hillcrest's patient at Riverside: %d %q", status, p.text("main"))
	}
}

// portal: Alex Morgan, enrolled at Riverside and Hillcrest, signs in to
// Hillcrest's portal and sees Hillcrest's appointments only.
func (b *browser) portal(t *testing.T) {
	apptIDs := func(c seed.Clinic) []tenancy.ID {
		var list []tenancy.ID
		b.app.one(t, &list, `select coalesce(array_agg(a.id), '{}') from appointments a join patients p on p.clinic_id = a.clinic_id and p.id = a.patient_id
			where a.clinic_id = $1 and p.given_name = 'Alex' and p.family_name = 'Morgan'`, c.ID)
		return list
	}
	atHill, atRiver := apptIDs(hillcrest), apptIDs(riverside)
	if len(atHill) == 0 || len(atRiver) == 0 {
		t.Fatalf("Alex has %d appointments at Hillcrest and %d at Riverside; the test needs both", len(atHill), len(atRiver))
	}
	p := b.tab(t)
	p.signIn(seed.PortalEmail, true, hillcrest.Name)
	if got := p.path(); got != "/portal" {
		t.Fatalf("portal sign-in led to %s", got)
	}
	if got := p.text("#clinic-name"); got != hillcrest.Name {
		t.Errorf("portal header names %q, want %q", got, hillcrest.Name)
	}
	shown := ids(t, p.attrs("tr[data-id]", "data-id"))
	if len(shown) != len(atHill) {
		t.Errorf("the portal shows %d appointments, Alex has %d at Hillcrest", len(shown), len(atHill))
	}
	for _, id := range shown {
		for _, r := range atRiver {
			if id == r {
				t.Errorf("Hillcrest's portal shows Riverside's appointment %s", id)
			}
		}
		found := false
		for _, h := range atHill {
			found = found || id == h
		}
		if !found {
			t.Errorf("the portal shows appointment %s, not one of Alex's at Hillcrest", id)
		}
	}
	p.shot("portal")
	p.open("/session")
	if got := p.text("#session-clinic"); got != hillcrest.Name {
		t.Errorf("portal Session page: %q", got)
	}
	p.open("/portal/invoices")
	if p.text("#balance") == "" {
		t.Error("the portal's invoices show no balance")
	}
	p.shot("portal-invoices")
	// A portal session reaches no staff page.
	if status := p.open("/patients"); status != 403 {
		t.Errorf("the patient opened the staff patient list: %d", status)
	}
}

// booking: a dentist books a chair that is taken and reads why; the front
// desk does not get the prescribing form.
func (b *browser) booking(t *testing.T) {
	var chair tenancy.ID
	var day, clock string
	b.app.one(t, &chair, `select operatory_id from appointments where clinic_id = $1 and status not in ('cancelled', 'no_show') order by starts_at, id limit 1`, riverside.ID)
	b.app.one(t, &day, `select to_char(starts_at at time zone $2, 'YYYY-MM-DD') from appointments where clinic_id = $1 and operatory_id = $3
		and status not in ('cancelled', 'no_show') order by starts_at, id limit 1`, riverside.ID, riverside.TimeZone, chair)
	b.app.one(t, &clock, `select to_char(starts_at at time zone $2, 'HH24:MI') from appointments where clinic_id = $1 and operatory_id = $3
		and status not in ('cancelled', 'no_show') order by starts_at, id limit 1`, riverside.ID, riverside.TimeZone, chair)
	// A patient free at that time, so that only the chair clashes.
	var patient tenancy.ID
	b.app.one(t, &patient, `select p.id from patients p where p.clinic_id = $1 and p.status = 'active'
		and not exists (select 1 from appointments a where a.clinic_id = p.clinic_id and a.patient_id = p.id
			and a.status not in ('cancelled', 'no_show') and to_char(a.starts_at at time zone $2, 'YYYY-MM-DD') = $3)
		order by p.id limit 1`, riverside.ID, riverside.TimeZone, day)
	inChair := func() int {
		var n int
		b.app.one(t, &n, `select count(*) from appointments where clinic_id = $1 and operatory_id = $2 and to_char(starts_at at time zone $3, 'YYYY-MM-DD HH24:MI') = $4`,
			riverside.ID, chair, riverside.TimeZone, day+" "+clock)
		return n
	}
	before := inChair()

	p := b.tab(t)
	p.signIn(seed.StaffEmail("dentist", riverside), false, "")
	p.open("/appointments/new?chair=" + chair.String() + "&date=" + day + "&time=" + clock + "&patient=" + patient.String())
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS("#allow_overlap"))); err != nil {
		t.Fatal(err)
	}
	if status := p.submit("#booking-form"); status != 409 {
		t.Errorf("booking a taken chair answered %d, want 409", status)
	}
	if msg := p.text("#form-error"); !strings.Contains(msg, "chair is already booked") {
		t.Errorf("the conflict reads %q, want the chair's words", msg)
	}
	if got := inChair(); got != before {
		t.Errorf("the refused booking changed the chair's appointments: %d, was %d", got, before)
	}
	p.shot("booking-conflict")
	alex := b.app.patientID(t, riverside, "Alex", "Morgan")
	p.open("/patients/" + alex.String())
	if p.count("#prescribe-form") != 1 {
		t.Error("the dentist does not see the prescribing form")
	}

	fd := b.tab(t)
	fd.signIn(seed.StaffEmail("frontdesk", riverside), false, "")
	fd.open("/patients/" + alex.String())
	if fd.text("#h-details") == "" {
		t.Fatal("the front desk's chart did not open")
	}
	if fd.count("#prescribe-form") != 0 {
		t.Error("the front desk sees the prescribing form")
	}
}

// impersonation: the platform admin impersonates Riverside with a reason;
// every page carries the banner; after ending it, Riverside's owner finds
// the entry in the audit log, set apart.
func (b *browser) impersonation(t *testing.T) {
	reason := fmt.Sprintf("Ticket %d: the owner cannot see Friday's schedule", time.Now().UnixNano())
	p := b.tab(t)
	p.signIn(seed.AdminEmail, false, "")
	p.set("#clinic", riverside.ID.String())
	p.typeIn("#reason", reason)
	p.set("#minutes", "15")
	p.submit("#impersonate-form")
	if got := p.path(); got != "/schedule" {
		t.Fatalf("impersonation led to %s (%s)", got, p.text("#form-error"))
	}
	for _, path := range []string{"/schedule", "/patients?q=Morgan", "/session"} {
		p.open(path)
		banner := p.text("#impersonation-banner")
		if !strings.Contains(banner, "Impersonating "+riverside.Name) || !strings.Contains(banner, "min left") || p.count("#end-impersonation") != 1 {
			t.Errorf("%s: banner %q", path, banner)
		}
		if path == "/schedule" {
			p.shot("impersonation-banner")
		}
	}
	if got := p.text("#session-clinic"); got != riverside.Name {
		t.Errorf("impersonated Session page: %q", got)
	}
	p.submit("#impersonation-banner form")
	if got := p.path(); got != "/admin" || p.count("#impersonation-banner") != 0 {
		t.Fatalf("after ending: at %s, banner shown: %v", got, p.count("#impersonation-banner") != 0)
	}
	if !strings.Contains(p.text(".notice"), "ended") {
		t.Errorf("after ending, the notice reads %q", p.text(".notice"))
	}
	// The admin is back in their own session, which reaches no clinic page.
	if status := p.open("/schedule"); status != 403 || p.count("#impersonation-banner") != 0 {
		t.Errorf("after ending, /schedule answered %d, banner shown: %v", status, p.count("#impersonation-banner") != 0)
	}

	o := b.tab(t)
	o.signIn(seed.StaffEmail("owner", riverside), false, "")
	o.open("/audit")
	rows := eval[[]string](o, `[...document.querySelectorAll("#audit tr.impersonated")].map(r => r.textContent)`)
	var started, ended, pages bool
	if !strings.Contains(o.text("#grants"), reason) {
		t.Errorf("the impersonations list does not show the reason: %q", o.text("#grants"))
	}
	for _, r := range rows {
		started = started || strings.Contains(r, "Began impersonating the clinic") && strings.Contains(r, reason)
		ended = ended || strings.Contains(r, "Ended the impersonation")
		pages = pages || strings.Contains(r, "Searched the patients")
	}
	if !started || !ended || !pages {
		t.Errorf("the owner's audit log, impersonation rows: started with the reason %v, ended %v, pages %v\n%q", started, ended, pages, rows)
	}
	o.shot("audit-log")
}

// otherPages opens the remaining pages and keeps their screenshots.
func (b *browser) otherPages(t *testing.T) {
	p := b.tab(t)
	p.signIn(seed.StaffEmail("owner", hillcrest), false, "")
	for _, pg := range []struct{ path, shot, want string }{
		{"/invoices", "invoices", "#invoices"},
		{"/settings", "settings", "#settings-form"},
		{"/staff", "staff", "#staff"},
	} {
		if status := p.open(pg.path); status != 200 || p.count(pg.want) != 1 {
			t.Errorf("%s: %d, %s shown: %v", pg.path, status, pg.want, p.count(pg.want) == 1)
			continue
		}
		if p.text("#clinic-name") != hillcrest.Name {
			t.Errorf("%s names %q", pg.path, p.text("#clinic-name"))
		}
		p.shot(pg.shot)
	}
	invoices := ids(t, p.attrs("#invoices tbody a", "href"))
	if len(invoices) > 0 {
		p.open("/invoices/" + invoices[0].String())
		p.shot("invoice")
	}
	s := b.tab(t)
	s.open("/signin")
	s.shot("signin")
}
