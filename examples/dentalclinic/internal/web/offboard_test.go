package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// TestConsoleOffboard: the platform admin offboards a clinic of the
// test's own from the console, with a reason (refused without one): the
// console then lists it, erased, with its erasure record's digest, and the
// registry no longer has it.
func TestConsoleOffboard(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.AdminEmail, false, "/admin")
	tok := csrf(t, c.get("/admin"))
	name := fmt.Sprintf("Offboard Dental %d", time.Now().UnixNano())
	wantRedirect(t, "new clinic", c.post("/admin/clinics", url.Values{"csrf_token": {tok}, "name": {name}, "time_zone": {"Europe/Paris"}, "currency": {"EUR"}}), "/admin")
	var id tenancy.ID
	a.one(t, &id, `select id from clinics where name = $1`, name)

	if p := c.post("/admin/offboard", url.Values{"csrf_token": {tok}, "clinic": {id.String()}, "reason": {"  "}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("offboarding without a reason: %d", p.status)
	}
	wantRedirect(t, "offboard", c.post("/admin/offboard", url.Values{"csrf_token": {tok}, "clinic": {id.String()}, "reason": {"closed its doors"}}), "/admin?done=offboarding")
	row := regexp.MustCompile(regexp.QuoteMeta(id.String()) + `</code></td><td>closed its doors</td>.*?</tr>`)
	digest := regexp.MustCompile(`<code class="id">[0-9a-f]{64}</code>`)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		body := strings.ReplaceAll(c.get("/admin").body, "\n", " ")
		if m := row.FindString(body); strings.Contains(m, "Erased") && digest.MatchString(m) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console does not list the clinic as erased with its record after a minute: %s", row.FindString(body))
		}
	}
	var n int
	a.one(t, &n, `select count(*) from clinics where id = $1`, id)
	if n != 0 {
		t.Errorf("the offboarded clinic is still in the registry")
	}
}
