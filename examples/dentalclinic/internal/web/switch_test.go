package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

var switchOption = regexp.MustCompile(`<option value="(\d+)">([^<]+)</option>`)

// switcher returns the clinics the page's switcher offers, name to slot.
func switcher(p page) map[string]string {
	i := strings.Index(p.body, `id="clinic-switcher"`)
	if i < 0 {
		return nil
	}
	form := p.body[i:]
	form = form[:strings.Index(form, "</form>")]
	out := map[string]string{}
	for _, m := range switchOption.FindAllStringSubmatch(form, -1) {
		out[m[2]] = m[1]
	}
	return out
}

// TestPortalClinicSwitch: Alex, enrolled at Riverside and Hillcrest, signs
// in to both in one browser and switches between them; each clinic's
// appointments appear only under its own session; the switcher names
// only the clinics signed into; bad switches change nothing; signing out
// of one revokes its token alone and leaves the other signed in.
func TestPortalClinicSwitch(t *testing.T) {
	a := startApp(t)
	alexAt := map[string]string{}
	for _, c := range []seed.Clinic{riverside, hillcrest} {
		var id string
		a.one(t, &id, `select a.id::text from appointments a join patients p on p.clinic_id = a.clinic_id and p.id = a.patient_id
			where a.clinic_id = $1 and p.given_name = 'Alex' and p.family_name = 'Morgan' order by a.id limit 1`, c.ID)
		alexAt[c.Name] = id // exists: the proof that the other session could show it
	}
	shows := func(p page, c seed.Clinic) bool {
		return strings.Contains(p.body, `id="clinic-name">`+c.Name+`<`) && strings.Contains(p.body, `data-id="`+alexAt[c.Name]+`"`)
	}
	showsNone := func(p page, c seed.Clinic) bool {
		return !strings.Contains(p.body, `data-id="`+alexAt[c.Name]+`"`)
	}

	b := newClient(t, a.base)
	portalAt(t, b, riverside)
	home := b.get("/portal")
	if !shows(home, riverside) || switcher(home) != nil {
		t.Fatalf("one clinic: Riverside shown %v, switcher %v", shows(home, riverside), switcher(home))
	}
	portalAt(t, b, hillcrest)
	home = b.get("/portal")
	sw := switcher(home)
	if !shows(home, hillcrest) || !showsNone(home, riverside) {
		t.Errorf("Hillcrest's session shows Hillcrest %v, none of Riverside %v", shows(home, hillcrest), showsNone(home, riverside))
	}
	if len(sw) != 1 || sw[riverside.Name] == "" {
		t.Fatalf("the switcher under Hillcrest offers %v, want Riverside alone", sw)
	}
	tok := csrf(t, home)

	// Bad switches: a slot out of range, not a number, empty: 404, nothing changed.
	for _, slot := range []string{"9", "0", "x", "", "2"} {
		if p := b.post("/portal/switch", url.Values{"csrf_token": {tok}, "slot": {slot}}); p.status != http.StatusNotFound {
			t.Errorf("switch to slot %q: %d, want 404", slot, p.status)
		}
	}
	if p := b.get("/portal"); !shows(p, hillcrest) {
		t.Errorf("a refused switch changed the session")
	}
	// A switch without the CSRF token is refused.
	if p := b.post("/portal/switch", url.Values{"slot": {sw[riverside.Name]}}); p.status != http.StatusForbidden {
		t.Errorf("a switch without the CSRF token: %d, want 403", p.status)
	}

	wantRedirect(t, "switch to Riverside", b.post("/portal/switch", url.Values{"csrf_token": {tok}, "slot": {sw[riverside.Name]}}), "/portal")
	home = b.get("/portal")
	if sw := switcher(home); !shows(home, riverside) || !showsNone(home, hillcrest) || len(sw) != 1 || sw[hillcrest.Name] == "" {
		t.Fatalf("after switching: Riverside shown %v, none of Hillcrest %v, switcher %v", shows(home, riverside), showsNone(home, hillcrest), sw)
	}
	// The old page's CSRF token belonged to Hillcrest's session: refused now.
	if p := b.post("/portal/contact", url.Values{"csrf_token": {tok}, "phone": {"+44 7700 900555"}}); p.status != http.StatusForbidden {
		t.Errorf("Hillcrest's CSRF token under Riverside's session: %d, want 403", p.status)
	}

	// Sign out of Riverside: its token is revoked, Hillcrest's stays.
	base, _ := url.Parse(a.base)
	var riversideToken string
	for _, c := range b.http.Jar.Cookies(base) {
		if c.Name == "session" {
			riversideToken = c.Value
		}
	}
	wantRedirect(t, "sign out of Riverside", b.post("/signout", url.Values{"csrf_token": {csrf(t, home)}}), "/portal?done=signed-out-one")
	home = b.get("/portal")
	if !shows(home, hillcrest) || switcher(home) != nil {
		t.Errorf("after signing out of Riverside: Hillcrest shown %v, switcher %v", shows(home, hillcrest), switcher(home))
	}
	if p := newClient(t, a.base).do("GET", "/portal", nil, map[string]string{"Authorization": "Bearer " + riversideToken}); p.status != http.StatusSeeOther ||
		!strings.HasPrefix(p.header.Get("Location"), "/portal/signin") {
		t.Errorf("Riverside's token after signing out of it: %d %q, want sent to sign in", p.status, p.header.Get("Location"))
	}
	wantRedirect(t, "sign out of Hillcrest", b.post("/signout", url.Values{"csrf_token": {csrf(t, home)}}), "/portal/signin")
	if p := b.get("/portal"); p.status != http.StatusSeeOther {
		t.Errorf("after signing out of both: %d", p.status)
	}
}
