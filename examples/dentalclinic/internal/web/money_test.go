package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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
	for _, want := range []string{lakeside.Name, given + " " + family, "$20.00", "Card", chicago, "Balance after this payment", "$25.00"} {
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
	for _, want := range []string{lakeside.Name, given + " " + family, chicago, `id="statement-balance"><strong>` + wantOwed + "<", `/payments/` + payment.String() + `/receipt`} {
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
