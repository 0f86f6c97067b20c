package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// TestInvoiceForNonActivePatient: the chart offers "New invoice" to every
// patient, and the store bills any (store.CreateInvoice asks no status):
// the invoice form opened from the chart of an archived or inactive
// patient offers that patient and makes the invoice, and the search of
// the form finds an inactive patient (not an archived one).
func TestInvoiceForNonActivePatient(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("owner", riverside), false, "/schedule")
	for _, status := range []string{"archived", "inactive"} {
		id := tenancy.NewID()
		family := "Pickerbill" + strings.ToUpper(status[:1]) + status[1:]
		if _, err := a.super.Exec(ctx, `insert into patients (clinic_id, id, given_name, family_name, status) values ($1, $2, 'Nell', $3, $4)`,
			riverside.ID, id, family, status); err != nil {
			t.Fatal(err)
		}
		form := c.get("/invoices/new?patient=" + id.String())
		if form.status != http.StatusOK || !strings.Contains(form.body, `value="`+id.String()+`"`) {
			t.Errorf("the invoice form for the %s patient (%d) does not offer them", status, form.status)
		}
		p := c.post("/invoices", url.Values{"csrf_token": {csrf(t, form)}, "patient": {id.String()}, "qty_EXAM": {"1"}})
		wantRedirect(t, "an invoice for the "+status+" patient", p, "/invoices/")
		var n int
		a.one(t, &n, `select count(*) from invoices where clinic_id = $1 and patient_id = $2`, riverside.ID, id)
		if n != 1 {
			t.Errorf("invoices of the %s patient: %d, want 1", status, n)
		}
		found := strings.Contains(c.get("/invoices/new?q="+family).body, `value="`+id.String()+`"`)
		if want := status == "inactive"; found != want {
			t.Errorf("the form's search finds the %s patient: %v, want %v", status, found, want)
		}
	}
}
