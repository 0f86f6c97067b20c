package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/web"
)

// TestSecurityHeaders checks the headers of public pages, static files,
// signed-in pages and error pages.
func TestSecurityHeaders(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("frontdesk", riverside), false, "/schedule")
	want := map[string]string{
		"Content-Security-Policy": web.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for _, path := range []string{"/signin", "/portal/signin", "/static/app.css", "/static/app.js", "/schedule", "/session", "/no/such/page", "/patients/not-an-id"} {
		p := c.get(path)
		if p.status >= 500 {
			t.Errorf("GET %s: %d", path, p.status)
		}
		for k, v := range want {
			if got := p.header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
	for _, directive := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(web.ContentSecurityPolicy, directive) {
			t.Errorf("the policy lacks %q", directive)
		}
	}
	if strings.Contains(web.ContentSecurityPolicy, "unsafe-inline") || strings.Contains(web.ContentSecurityPolicy, "unsafe-eval") {
		t.Errorf("the policy allows inline script or eval: %s", web.ContentSecurityPolicy)
	}
	// No page carries an inline script or style, which the policy would block.
	for _, path := range []string{"/signin", "/schedule", "/patients?q=Morgan", "/session"} {
		body := c.get(path).body
		if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "<style") || strings.Contains(body, " onclick=") {
			t.Errorf("GET %s has inline script or style", path)
		}
	}
	if p := c.get("/session"); p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("a signed-in page may be cached: Cache-Control %q", p.header.Get("Cache-Control"))
	}
}

// TestCookies checks the session and CSRF cookies: HttpOnly,
// SameSite=Strict, Path /, not Secure over plain HTTP; Secure and
// __Host- named when the app is told it is served over HTTPS.
func TestCookies(t *testing.T) {
	a := startApp(t)
	check := func(t *testing.T, p page, names []string, secure bool) {
		t.Helper()
		cookies := (&http.Response{Header: p.header}).Cookies()
		seen := map[string]bool{}
		for _, ck := range cookies {
			if ck.MaxAge < 0 {
				continue // a cleared cookie
			}
			seen[ck.Name] = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure != secure || ck.Domain != "" {
				t.Errorf("cookie %s: HttpOnly %v SameSite %v Path %q Secure %v Domain %q; want HttpOnly, Strict, /, Secure %v, host-only",
					ck.Name, ck.HttpOnly, ck.SameSite, ck.Path, ck.Secure, ck.Domain, secure)
			}
		}
		for _, n := range names {
			if !seen[n] {
				t.Errorf("no %s cookie set at sign-in; got %v", n, p.header.Values("Set-Cookie"))
			}
		}
	}
	t.Run("plain HTTP", func(t *testing.T) {
		c := newClient(t, a.base)
		check(t, c.signIn(seed.StaffEmail("hygienist", riverside), false, "/schedule"), []string{"session", "csrf"}, false)
	})
	t.Run("HTTPS", func(t *testing.T) {
		base, err := runApp(a.db, false, true)
		if err != nil {
			t.Fatal(err)
		}
		c := newClient(t, base)
		check(t, c.signIn(seed.StaffEmail("hygienist", hillcrest), false, "/schedule"), []string{"__Host-session", "__Host-csrf"}, true)
	})
}

// TestCSRF proves that a signed-in form post needs the CSRF token bound
// to its session, and comes from this site: without it, with another
// session's token, or from another origin, it is refused and changes
// nothing; with it, it works.
func TestCSRF(t *testing.T) {
	a := startApp(t)
	patient := a.patientID(t, riverside, "Alex", "Morgan")
	count := func() int {
		var n int
		a.one(t, &n, `select count(*) from prescriptions where clinic_id = $1 and patient_id = $2`, riverside.ID, patient)
		return n
	}
	dentist := newClient(t, a.base)
	dentist.signIn(seed.StaffEmail("dentist", riverside), false, "/schedule")
	chart := dentist.get("/patients/" + patient.String())
	if chart.status != http.StatusOK || !strings.Contains(chart.body, `id="prescribe-form"`) {
		t.Fatalf("the dentist's chart: %d, prescribing form shown: %v", chart.status, strings.Contains(chart.body, `id="prescribe-form"`))
	}
	token := csrf(t, chart)
	other := newClient(t, a.base)
	other.signIn(seed.StaffEmail("owner", riverside), false, "/schedule")
	otherToken := csrf(t, other.get("/session"))

	rx := func(tok string) url.Values {
		v := url.Values{"drug": {"Ibuprofen"}, "strength": {"200 mg"}, "form": {"tablet"}, "directions": {"One after meals."}, "quantity": {"10"}, "refills": {"0"}}
		if tok != "" {
			v.Set("csrf_token", tok)
		}
		return v
	}
	path := "/patients/" + patient.String() + "/prescriptions"
	before := count()
	for _, tc := range []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"no token", rx(""), nil},
		{"another session's token", rx(otherToken), nil},
		{"a forged token", rx("AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), nil},
		{"from another site", rx(token), map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
	} {
		p := dentist.do("POST", path, tc.form, tc.header)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "did not come from this site") {
			t.Errorf("%s: %d, want the 403 page\n%s", tc.name, p.status, p.body)
		}
		if got := count(); got != before {
			t.Fatalf("%s: the refused post wrote a prescription (%d, was %d)", tc.name, got, before)
		}
	}
	if p := dentist.post(path, rx(token)); p.status != http.StatusSeeOther {
		t.Fatalf("the post with its token: %d, want 303\n%s", p.status, p.body)
	}
	if got := count(); got != before+1 {
		t.Fatalf("prescriptions after the good post: %d, want %d", got, before+1)
	}

	// The sign-in form (no session yet) refuses a cross-site post.
	p := newClient(t, a.base).do("POST", "/signin", url.Values{"email": {seed.StaffEmail("owner", lakeside)}, "password": {seed.Password}},
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if p.status != http.StatusForbidden || len(p.header.Values("Set-Cookie")) != 0 {
		t.Errorf("cross-site sign-in: %d with cookies %v, want 403 and none", p.status, p.header.Values("Set-Cookie"))
	}
}

// TestRolesAndTenancy checks, without a browser, that pages and posts
// follow the API's permissions, that another clinic's record is the very
// same 404 page as a missing one, and that signing out revokes the token.
func TestRolesAndTenancy(t *testing.T) {
	a := startApp(t)
	fd := newClient(t, a.base)
	fd.signIn(seed.StaffEmail("frontdesk", riverside), false, "/schedule")

	// The front desk reads charts but may not prescribe, or see the audit log.
	alex := a.patientID(t, riverside, "Alex", "Morgan")
	chart := fd.get("/patients/" + alex.String())
	if chart.status != http.StatusOK || strings.Contains(chart.body, `id="prescribe-form"`) {
		t.Errorf("front desk chart: %d, prescribing form shown: %v", chart.status, strings.Contains(chart.body, `id="prescribe-form"`))
	}
	tok := csrf(t, chart)
	if p := fd.post("/patients/"+alex.String()+"/prescriptions", url.Values{"csrf_token": {tok}, "drug": {"X"}}); p.status != http.StatusForbidden {
		t.Errorf("front desk prescribing: %d, want 403", p.status)
	}
	if p := fd.get("/audit"); p.status != http.StatusForbidden {
		t.Errorf("front desk audit log: %d, want 403", p.status)
	}
	if p := fd.get("/admin"); p.status != http.StatusForbidden {
		t.Errorf("front desk admin console: %d, want 403", p.status)
	}

	// Hillcrest's Jordan Whitlock exists, and is exactly as missing at
	// Riverside as an id no clinic has.
	jordan := a.patientID(t, hillcrest, "Jordan", "Whitlock")
	hill := fd.get("/patients/" + jordan.String())
	missing := fd.get("/patients/0195f1c2-0000-7000-8000-00000000dead")
	if hill.status != http.StatusNotFound || missing.status != http.StatusNotFound || hill.body != missing.body {
		t.Errorf("another clinic's patient: %d; a missing one: %d; bodies equal: %v", hill.status, missing.status, hill.body == missing.body)
	}
	if strings.Contains(hill.body, "Whitlock") {
		t.Error("the 404 page names the other clinic's patient")
	}
	if p := fd.get("/patients?q=Whitlock"); !strings.Contains(p.body, `id="no-results"`) {
		t.Error("Riverside's search found Hillcrest's Jordan Whitlock")
	}

	// A signed-out visitor is sent to sign in; signing out revokes the token.
	if p := newClient(t, a.base).get("/schedule"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin" {
		t.Errorf("signed-out schedule: %d to %q", p.status, p.header.Get("Location"))
	}
	u, _ := url.Parse(a.base)
	old := fd.http.Jar.Cookies(u)
	if p := fd.post("/signout", url.Values{"csrf_token": {tok}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.status)
	}
	replay := newClient(t, a.base)
	replay.http.Jar.SetCookies(u, old)
	if p := replay.get("/schedule"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin" {
		t.Errorf("the signed-out session replayed: %d to %q, want a redirect to sign in", p.status, p.header.Get("Location"))
	}
}

// TestNoClinicInURLs: no link or form of a clinic's pages names the clinic;
// the API and the UI share the binary, each with its own not-found answer.
func TestNoClinicInURLs(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("owner", hillcrest), false, "/schedule")
	jordan := a.patientID(t, hillcrest, "Jordan", "Whitlock")
	urls := regexp.MustCompile(`(?:href|action)="([^"]*)"`)
	for _, path := range []string{"/schedule", "/schedule?view=week", "/patients?q=Whitlock", "/patients/" + jordan.String(), "/invoices",
		"/invoices/new", "/appointments/new", "/staff", "/settings", "/session", "/audit"} {
		p := c.get(path)
		if p.status != http.StatusOK {
			t.Errorf("GET %s: %d", path, p.status)
			continue
		}
		n := 0
		for _, m := range urls.FindAllStringSubmatch(p.body, -1) {
			n++
			if strings.Contains(m[1], hillcrest.ID.String()) || strings.Contains(strings.ToLower(m[1]), "clinic") {
				t.Errorf("GET %s links to %q", path, m[1])
			}
		}
		if n == 0 {
			t.Errorf("GET %s has no links", path)
		}
	}
	if p := c.get("/api/v1/no-such-route"); p.status != http.StatusNotFound || p.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("an unknown API path: %d %s, want the API's problem", p.status, p.header.Get("Content-Type"))
	}
	if p := c.get("/no-such-page"); p.status != http.StatusNotFound || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Errorf("an unknown page: %d %s, want the UI's page", p.status, p.header.Get("Content-Type"))
	}
}
