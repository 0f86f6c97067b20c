package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenancytest"
)

// ownerAt is a context of an owner of clinic c.
func ownerAt(c seed.Clinic) context.Context {
	return tenancytest.Context(context.Background(), tenancy.Principal{Kind: kinds.Staff, Tenant: c.ID, Subject: tenancy.NewID(), Roles: []string{"owner"}})
}

// TestMoneyPapers: a payment's receipt and a patient's statement agree
// with the invoice (paid before, balance after, what is owed); another
// clinic's payment and patient are ErrNotFound, as a missing id is.
func TestMoneyPapers(t *testing.T) {
	st := newStore(t)
	river, hill := staffAt(riverside), staffAt(hillcrest)
	given, family := "Paper", "Testpatient"
	pt, err := st.CreatePatient(river, store.PatientInput{GivenName: &given, FamilyName: &family})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := st.CreateInvoice(river, store.InvoiceInput{PatientID: pt.ID, Lines: []store.InvoiceLineInput{{Code: "EXAM", Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.IssueInvoice(river, inv.ID); err != nil {
		t.Fatal(err)
	}
	var d store.InvoiceDetail
	for _, amount := range []int64{1000, 2500} {
		if d, err = st.AddPayment(river, inv.ID, store.PaymentInput{AmountMinor: amount, Method: "card"}); err != nil {
			t.Fatal(err)
		}
	}
	second := d.Payments[1]
	rc, err := st.Receipt(river, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Payment.ID != second.ID || rc.PaidBefore != 1000 || rc.BalanceAfter != d.TotalMinor-3500 || rc.Patient.Name() != "Paper Testpatient" {
		t.Errorf("receipt: payment %v paid before %d balance after %d patient %q; want %v, 1000, %d, Paper Testpatient",
			rc.Payment.ID, rc.PaidBefore, rc.BalanceAfter, rc.Patient.Name(), second.ID, d.TotalMinor-3500)
	}
	stmt, err := st.Statement(river, pt.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stmt.BalanceMinor != d.TotalMinor-3500 || len(stmt.Entries) != 3 || stmt.Entries[2].BalanceMinor != stmt.BalanceMinor || stmt.Entries[0].ChargeMinor != d.TotalMinor {
		t.Errorf("statement: balance %d, %d entries %+v; want %d, 3 ending at it", stmt.BalanceMinor, len(stmt.Entries), stmt.Entries, d.TotalMinor-3500)
	}
	for what, err := range map[string]error{
		"another clinic's receipt":   func() error { _, err := st.Receipt(hill, second.ID); return err }(),
		"a missing receipt":          func() error { _, err := st.Receipt(river, tenancy.NewID()); return err }(),
		"another clinic's statement": func() error { _, err := st.Statement(hill, pt.ID); return err }(),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", what, err)
		}
	}
}

// TestAuditEntriesOwnersOnly: row-level security shows the audit log to
// owners only; the owner's entries name the patient of the record, joined
// at read time; the Actions filter keeps those actions.
func TestAuditEntriesOwnersOnly(t *testing.T) {
	st := newStore(t)
	river := staffAt(riverside)
	given, family := "Audit", "Testpatient"
	pt, err := st.CreatePatient(river, store.PatientInput{GivenName: &given, FamilyName: &family})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Patient(river, pt.ID); err != nil {
		t.Fatal(err)
	}
	owner := ownerAt(riverside)
	list, _, err := st.AuditEntries(owner, store.AuditFilter{Actions: []string{"patient.view"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[0].Action != "patient.view" || list[0].PatientName != "Audit Testpatient" || list[0].PatientID == nil || *list[0].PatientID != pt.ID {
		t.Fatalf("the owner's newest chart opening: %+v", list)
	}
	for _, e := range list {
		if e.Action != "patient.view" {
			t.Errorf("filtered by patient.view, got %s", e.Action)
		}
	}
	notOwner, _, err := st.AuditEntries(river, store.AuditFilter{})
	if err != nil || len(notOwner) != 0 {
		t.Errorf("the front desk reads %d audit entries (%v), want none", len(notOwner), err)
	}
	if _, _, err := st.AuditEntries(owner, store.AuditFilter{Cursor: "bogus!"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a made-up cursor: %v, want ErrInvalid", err)
	}
}

// TestStatementOfManyInvoices: a patient with more invoices than a
// statement lists still sees all they owe: the balance covers every
// invoice, the ledger opens with what the older ones owe, and the page
// says invoices were left out.
func TestStatementOfManyInvoices(t *testing.T) {
	st, db := newStoreDB(t)
	river := staffAt(riverside)
	given, family := "Many", "Invoicespatient"
	pt, err := st.CreatePatient(river, store.PatientInput{GivenName: &given, FamilyName: &family})
	if err != nil {
		t.Fatal(err)
	}
	const n, each = 520, 100
	db.Exec(t, pgtest.Admin, `insert into invoices (clinic_id, id, number, patient_id, currency, status, total_minor, issued_at)
		select $1, gen_random_uuid(), 900000 + g, $2, 'GBP', 'issued', $3, now() - make_interval(days => 600 - g)
		from generate_series(1, $4) g`, riverside.ID, pt.ID, each, n)
	stmt, err := st.Statement(river, pt.ID)
	if err != nil {
		t.Fatal(err)
	}
	shown := len(stmt.Invoices)
	if stmt.BalanceMinor != n*each || !stmt.Truncated || shown >= n || stmt.OpeningMinor != int64(n-shown)*each {
		t.Errorf("statement of %d invoices of %d: balance %d, truncated %v, %d shown, opening %d; want %d, true, fewer, %d",
			n, each, stmt.BalanceMinor, stmt.Truncated, shown, stmt.OpeningMinor, n*each, int64(n-shown)*each)
	}
	if last := stmt.Entries[len(stmt.Entries)-1].BalanceMinor; last != stmt.BalanceMinor {
		t.Errorf("the ledger ends at %d, the statement owes %d", last, stmt.BalanceMinor)
	}
}
