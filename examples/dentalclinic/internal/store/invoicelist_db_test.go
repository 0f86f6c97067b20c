package store_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// TestListInvoicesNamesPatients: a page of invoices carries each
// invoice's patient's name (the web list shows it without reading every
// patient of the clinic), and the API's JSON of an invoice does not.
func TestListInvoicesNamesPatients(t *testing.T) {
	st := newStore(t)
	river := staffAt(riverside)
	given, family := "Listed", "Invoicepatient"
	pt, err := st.CreatePatient(river, store.PatientInput{GivenName: &given, FamilyName: &family})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := st.CreateInvoice(river, store.InvoiceInput{PatientID: pt.ID, Lines: []store.InvoiceLineInput{{Code: "EXAM", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := st.ListInvoices(river, store.InvoiceFilter{PatientID: pt.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != inv.ID || list[0].PatientName != "Listed Invoicepatient" {
		t.Fatalf("the patient's invoices: %+v; want invoice %v named Listed Invoicepatient", list, inv.ID)
	}
	if b, err := json.Marshal(list[0]); err != nil || strings.Contains(string(b), "Invoicepatient") {
		t.Errorf("the invoice's JSON names the patient: %s %v", b, err)
	}
}
