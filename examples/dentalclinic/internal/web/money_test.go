package web_test

import (
	"context"
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

// paidInvoice has the owner of clinic c bill patient for one exam, issue
// the invoice and take amount (major units, "20.00") by card, through the
// forms; the payment is then dated at received (UTC), so that pages can be
// checked for its wall time in the clinic's zone. It returns the invoice
// and the payment.
func paidInvoice(t *testing.T, a *testApp, c *client, clinic seed.Clinic, patient tenancy.ID, amount string, received time.Time) (inv, payment tenancy.ID) {
	t.Helper()
	tok := csrf(t, c.get("/invoices/new?patient="+patient.String()))
	loc := wantRedirect(t, "create", c.post("/invoices", url.Values{"csrf_token": {tok}, "patient": {patient.String()}, "qty_EXAM": {"1"}}), "/invoices/")
	inv = idFrom(t, loc)
	wantRedirect(t, "issue", c.post("/invoices/"+inv.String()+"/issue", url.Values{"csrf_token": {tok}}), "/invoices/")
	wantRedirect(t, "payment", c.post("/invoices/"+inv.String()+"/payments", url.Values{"csrf_token": {tok}, "amount": {amount}, "method": {"card"}}), "/invoices/")
	a.one(t, &payment, `select id from payments where clinic_id = $1 and invoice_id = $2`, clinic.ID, inv)
	if _, err := a.super.Exec(context.Background(), `update payments set received_at = $3 where clinic_id = $1 and id = $2`, clinic.ID, payment, received); err != nil {
		t.Fatal(err)
	}
	return inv, payment
}

// TestReceiptAndStatement: the front desk at the Chicago clinic takes a
// payment; the invoice, the receipt and the statement show its time as
// Chicago's wall clock (a payment at 15:04 UTC in January is 09:04 CST),
// never UTC; the receipt names the clinic, the patient, the amount and the
// balance; another clinic's front desk gets the same 404 for the receipt
// and the statement as for a missing id.
func TestReceiptAndStatement(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("owner", lakeside), false, "/schedule")
	var patient tenancy.ID
	var given, family string
	a.one(t, &patient, `select id from patients where clinic_id = $1 and status = 'active' order by id limit 1`, lakeside.ID)
	a.one(t, &given, `select given_name from patients where id = $1`, patient)
	a.one(t, &family, `select family_name from patients where id = $1`, patient)
	received := time.Date(2026, 1, 15, 15, 4, 0, 0, time.UTC)
	inv, payment := paidInvoice(t, a, c, lakeside, patient, "20.00", received)
	const address = "1200 Lake Shore Drive\nChicago, IL 60610"
	if _, err := a.super.Exec(context.Background(), `update clinic_settings set address = $2 where clinic_id = $1`, lakeside.ID, address); err != nil {
		t.Fatal(err)
	}

	const chicago, utc = "Thu 15 Jan 2026, 09:04 CST", "15:04"
	invoice := c.get("/invoices/" + inv.String())
	if !strings.Contains(invoice.body, chicago) || strings.Contains(invoice.body, utc) {
		t.Errorf("the invoice shows the payment at Chicago time %v, at UTC %v; want Chicago only", strings.Contains(invoice.body, chicago), strings.Contains(invoice.body, utc))
	}
	if !strings.Contains(invoice.body, `href="/payments/`+payment.String()+`/receipt"`) {
		t.Error("the invoice has no link to the payment's receipt")
	}

	rc := c.get("/payments/" + payment.String() + "/receipt")
	if rc.status != http.StatusOK {
		t.Fatalf("receipt: %d", rc.status)
	}
	for _, want := range []string{lakeside.Name, address, given + " " + family, "$20.00", "Card", chicago, "Balance after this payment", "$25.00"} {
		if !strings.Contains(rc.body, want) {
			t.Errorf("the receipt lacks %q", want)
		}
	}
	if strings.Contains(rc.body, utc) || strings.Contains(rc.body, " UTC") {
		t.Error("the receipt shows a time in UTC")
	}

	st := c.get("/patients/" + patient.String() + "/statement")
	if st.status != http.StatusOK {
		t.Fatalf("statement: %d", st.status)
	}
	var owed int64
	a.one(t, &owed, `select coalesce(sum(i.total_minor), 0) - coalesce((select sum(p.amount_minor) from payments p where p.clinic_id = $1 and p.patient_id = $2
		and p.invoice_id in (select id from invoices where clinic_id = $1 and patient_id = $2 and status = 'issued')), 0)
		from invoices i where i.clinic_id = $1 and i.patient_id = $2 and i.status = 'issued'`, lakeside.ID, patient)
	wantOwed := money(owed)
	for _, want := range []string{lakeside.Name, address, given + " " + family, chicago, `id="statement-balance"><strong>` + wantOwed + "<", `/payments/` + payment.String() + `/receipt`} {
		if !strings.Contains(st.body, want) {
			t.Errorf("the statement lacks %q", want)
		}
	}

	// Another clinic's staff: the receipt and the statement exist (above),
	// and are the same 404 as a missing id.
	other := newClient(t, a.base)
	other.signIn(seed.StaffEmail("owner", hillcrest), false, "/schedule")
	missing := other.get("/payments/" + tenancy.NewID().String() + "/receipt")
	for _, path := range []string{"/payments/" + payment.String() + "/receipt", "/patients/" + patient.String() + "/statement", "/patients/" + tenancy.NewID().String() + "/statement"} {
		if p := other.get(path); p.status != http.StatusNotFound || p.body != missing.body {
			t.Errorf("GET %s from another clinic: %d, same page as a missing id: %v", path, p.status, p.body == missing.body)
		}
	}
	// A receipt is an invoice's record: a dentist, who reads no invoices, is refused.
	dentist := newClient(t, a.base)
	dentist.signIn(seed.StaffEmail("dentist", lakeside), false, "/schedule")
	if p := dentist.get("/payments/" + payment.String() + "/receipt"); p.status != http.StatusForbidden {
		t.Errorf("a dentist opens a receipt: %d, want 403", p.status)
	}
}

// money formats cents as the pages do for USD.
func money(minor int64) string { return fmt.Sprintf("$%d.%02d", minor/100, minor%100) }

// portalSignIn signs Alex Morgan in to the portal of clinic (Alex has
// accounts at Riverside and Hillcrest, so the form asks which).
func portalSignIn(t *testing.T, c *client, clinic seed.Clinic) {
	t.Helper()
	p := c.post("/portal/signin", url.Values{"email": {seed.PortalEmail}, "password": {seed.Password}, "clinic": {clinic.ID.String()}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/portal" {
		t.Fatalf("portal sign-in at %s: %d to %q", clinic.Name, p.status, p.header.Get("Location"))
	}
}

// TestPortalInvoice: the patient opens their own invoice in the portal,
// with its lines and payments, times in the clinic's zone; another
// patient's invoice at the same clinic, and the patient's own invoice at
// another clinic, are the very same 404 as a missing id.
func TestPortalInvoice(t *testing.T) {
	a := startApp(t)
	alex := a.patientID(t, riverside, "Alex", "Morgan")
	alexHill := a.patientID(t, hillcrest, "Alex", "Morgan")
	owner := newClient(t, a.base)
	owner.signIn(seed.StaffEmail("owner", riverside), false, "/schedule")
	received := time.Date(2026, 7, 1, 12, 30, 0, 0, time.UTC) // 13:30 BST in London
	own, _ := paidInvoice(t, a, owner, riverside, alex, "10.00", received)
	hillOwner := newClient(t, a.base)
	hillOwner.signIn(seed.StaffEmail("owner", hillcrest), false, "/schedule")
	atHillcrest, _ := paidInvoice(t, a, hillOwner, hillcrest, alexHill, "10.00", received)
	var someoneElses tenancy.ID
	a.one(t, &someoneElses, `select id from invoices where clinic_id = $1 and patient_id <> $2 and status = 'issued' order by number limit 1`, riverside.ID, alex)

	c := newClient(t, a.base)
	portalSignIn(t, c, riverside)
	list := c.get("/portal/invoices")
	if !strings.Contains(list.body, `href="/portal/invoices/`+own.String()+`"`) {
		t.Error("the portal's invoice list has no link to the patient's invoice")
	}
	p := c.get("/portal/invoices/" + own.String())
	if p.status != http.StatusOK {
		t.Fatalf("own invoice: %d", p.status)
	}
	var desc string
	a.one(t, &desc, `select description from invoice_lines where clinic_id = $1 and invoice_id = $2 and line_no = 1`, riverside.ID, own)
	for _, want := range []string{desc, "£10.00", "Card", "Wed 1 Jul 2026, 13:30 BST", `id="portal-invoice-balance">£35.00`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the portal invoice lacks %q", want)
		}
	}
	missing := c.get("/portal/invoices/" + tenancy.NewID().String())
	if missing.status != http.StatusNotFound {
		t.Fatalf("a missing invoice: %d", missing.status)
	}
	for what, id := range map[string]tenancy.ID{"another patient's, same clinic": someoneElses, "the patient's own at another clinic": atHillcrest} {
		if p := c.get("/portal/invoices/" + id.String()); p.status != http.StatusNotFound || p.body != missing.body {
			t.Errorf("%s: %d, same page as a missing id: %v", what, p.status, p.body == missing.body)
		}
	}
	// Staff pages stay closed to the portal.
	if p := c.get("/invoices/" + own.String()); p.status != http.StatusForbidden {
		t.Errorf("the portal opens the staff invoice page: %d", p.status)
	}
}

// TestInvoicePaging: the invoices list pages by a cursor (no invoice
// twice, none left out) beyond its first 50, keeps its filters from page
// to page, and searches by the patient's name.
func TestInvoicePaging(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	var patient tenancy.ID
	var family string
	a.one(t, &patient, `select id from patients where clinic_id = $1 and family_name <> 'Morgan' and status = 'active' order by id limit 1`, hillcrest.ID)
	a.one(t, &family, `select family_name from patients where id = $1`, patient)
	for range 60 {
		if _, err := a.super.Exec(ctx, `with n as (update invoice_counters set last_number = last_number + 1 where clinic_id = $1 returning last_number)
			insert into invoices (clinic_id, id, number, patient_id, currency, status, total_minor, issued_at)
			select $1, $2, n.last_number, $3, 'GBP', 'issued', 100, now() from n`, hillcrest.ID, tenancy.NewID(), patient); err != nil {
			t.Fatal(err)
		}
	}
	var all, issuedToPatient int
	a.one(t, &all, `select count(*) from invoices where clinic_id = $1`, hillcrest.ID)
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("owner", hillcrest), false, "/schedule")
	numbers := regexp.MustCompile(`<tr><td><a href="/invoices/[^"]+">(\d+)</a></td><td>([^<]*)</td>`)
	nextLink := regexp.MustCompile(`href="(/invoices\?[^"]*)" rel="next"`)
	walk := func(path string) (seen map[string]bool, names []string, pages int) {
		seen = map[string]bool{}
		for path != "" && pages < 10 {
			p := c.get(path)
			if p.status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, p.status)
			}
			pages++
			for _, m := range numbers.FindAllStringSubmatch(p.body, -1) {
				if seen[m[1]] {
					t.Errorf("invoice %s shown twice", m[1])
				}
				seen[m[1]] = true
				names = append(names, m[2])
			}
			path = ""
			if m := nextLink.FindStringSubmatch(p.body); m != nil {
				path = strings.ReplaceAll(m[1], "&amp;", "&")
			}
		}
		return seen, names, pages
	}
	seen, _, pages := walk("/invoices")
	if len(seen) != all || pages < 2 {
		t.Errorf("walked %d invoices in %d pages, the clinic has %d", len(seen), pages, all)
	}
	a.one(t, &issuedToPatient, `select count(*) from invoices i where clinic_id = $1 and patient_id = $2 and status = 'issued'
		and not exists (select 1 from payments p where p.clinic_id = $1 and p.invoice_id = i.id)`, hillcrest.ID, patient)
	seen, names, pages := walk("/invoices?status=issued&patient=" + url.QueryEscape(strings.ToUpper(family)))
	if len(seen) != issuedToPatient || pages < 2 {
		t.Errorf("issued invoices of %s: %d in %d pages, want %d", family, len(seen), pages, issuedToPatient)
	}
	for _, n := range names {
		if !strings.Contains(n, family) {
			t.Errorf("searching %s shows an invoice of %s", family, n)
		}
	}
	wantRefused(t, "a made-up status", c.get("/invoices?status=owed"), http.StatusUnprocessableEntity, "Status must be one of")
}

// TestClinicAddressForm: the settings form refuses an address longer than
// 500 characters in words, and changes nothing.
func TestClinicAddressForm(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("owner", hillcrest), false, "/schedule")
	settings := c.get("/settings")
	if !strings.Contains(settings.body, `<textarea id="address" name="address"`) {
		t.Fatal("the settings form has no address field")
	}
	var before string
	a.one(t, &before, `select address || opening_hours::text from clinic_settings where clinic_id = $1`, hillcrest.ID)
	p := c.post("/settings", url.Values{"csrf_token": {csrf(t, settings)}, "time_zone": {"Europe/London"}, "currency": {"GBP"},
		"address": {strings.Repeat("Long Road ", 60)}})
	wantRefused(t, "a long address", p, http.StatusUnprocessableEntity, "at most 500 characters")
	var after string
	a.one(t, &after, `select address || opening_hours::text from clinic_settings where clinic_id = $1`, hillcrest.ID)
	if after != before {
		t.Errorf("a refused address changed the settings: %q, was %q", after, before)
	}
}
