package store

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Receipt is one payment with the invoice it pays, for a printable
// receipt: PaidBefore is what had been paid on the invoice before this
// payment, BalanceAfter what was owed right after it.
type Receipt struct {
	Payment      Payment
	Invoice      InvoiceDetail
	Patient      PartyName
	PaidBefore   int64
	BalanceAfter int64
}

// PartyName is the name and postal address of the patient a receipt or a
// statement is made out to.
type PartyName struct {
	GivenName, FamilyName, Address string
}

// Name is the patient's name as a receipt shows it.
func (n PartyName) Name() string { return n.GivenName + " " + n.FamilyName }

// Receipt returns the payment id of the caller's clinic with its invoice,
// or ErrNotFound (another clinic's payment as a missing one). Printing a
// receipt is recorded in the clinic's audit log ("payment.receipt"), as
// opening the invoice is.
func (s *Store) Receipt(ctx context.Context, id tenancy.ID) (Receipt, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Receipt{}, err
	}
	var rc Receipt
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var invoice tenancy.ID
		if err := tx.QueryRow(ctx, `select invoice_id from payments where clinic_id = $1 and id = $2`, p.Tenant, id).Scan(&invoice); err != nil {
			return notFound(err)
		}
		var err error
		if rc.Invoice, err = invoiceDetail(ctx, tx, invoice); err != nil {
			return err
		}
		found := false
		for _, pm := range rc.Invoice.Payments { // in the order received
			if pm.ID == id {
				rc.Payment, found = pm, true
				break
			}
			rc.PaidBefore += pm.AmountMinor
		}
		if !found {
			return notFound(pgx.ErrNoRows)
		}
		rc.BalanceAfter = rc.Invoice.TotalMinor - rc.PaidBefore - rc.Payment.AmountMinor
		if rc.Patient, err = partyName(ctx, tx, p.Tenant, rc.Invoice.PatientID); err != nil {
			return err
		}
		return record(ctx, tx, "payment.receipt", "payment", id)
	})
	return rc, wrap("receipt", err)
}

func partyName(ctx context.Context, tx *tenantdb.Tx, clinic, patient tenancy.ID) (PartyName, error) {
	var n PartyName
	err := tx.QueryRow(ctx, `select given_name, family_name, address from patients where clinic_id = $1 and id = $2`,
		clinic, patient).Scan(&n.GivenName, &n.FamilyName, &n.Address)
	return n, notFound(err)
}

// Statement is a patient's account at the clinic: every invoice issued to
// them (drafts are the clinic's work in progress and not shown) and every
// payment, as one ledger in time order, and what they owe.
type Statement struct {
	// PatientID and Patient are whose account it is.
	PatientID tenancy.ID
	Patient   PartyName
	// Currency is the clinic's currency, of every amount.
	Currency string
	// Invoices and Payments are what the ledger (Entries) is made of.
	Invoices []Invoice
	Payments []Payment
	// Entries are the invoices (as issued) and the payments in time
	// order, with the balance after each.
	Entries []StatementEntry
	// BalanceMinor is what the patient owes: the sum of the balances of
	// all their invoices that are not void, shown or not.
	BalanceMinor int64
	// Truncated says the patient has more invoices than a statement shows
	// (maxStatementInvoices): the oldest are left out, and OpeningMinor is
	// what they still owed, the ledger's starting balance.
	Truncated bool
	// OpeningMinor is what the invoices left out still owed (0 unless
	// Truncated).
	OpeningMinor int64
}

// StatementEntry is one line of a statement's ledger: an invoice issued
// (ChargeMinor) or a payment (PaymentMinor), with the balance after it.
type StatementEntry struct {
	At           time.Time
	Invoice      Invoice
	PaymentID    *tenancy.ID // set on a payment
	Method       string      // the payment's method (PaymentMethods); "" on an invoice
	ChargeMinor  int64
	PaymentMinor int64
	BalanceMinor int64
}

// maxStatementInvoices bounds a statement; a patient with more is shown
// their newest.
const maxStatementInvoices = 500

// Statement returns the statement of the caller's clinic's patient id, or
// ErrNotFound (another clinic's patient as a missing one). Reading it is
// recorded in the clinic's audit log ("patient.statement").
func (s *Store) Statement(ctx context.Context, id tenancy.ID) (Statement, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Statement{}, err
	}
	st := Statement{PatientID: id}
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		if st.Patient, err = partyName(ctx, tx, p.Tenant, id); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `select currency from clinics where id = $1`, p.Tenant).Scan(&st.Currency); err != nil {
			return err
		}
		// What the patient owes, over every invoice, not only those shown.
		if err := tx.QueryRow(ctx, `select coalesce(sum(i.total_minor - coalesce(pay.paid, 0)), 0)::bigint from invoices i
			left join lateral (select sum(p.amount_minor) as paid from payments p where p.clinic_id = $1 and p.invoice_id = i.id) pay on true
			where i.clinic_id = $1 and i.patient_id = $2 and i.status not in ('draft', 'void')`, p.Tenant, id).Scan(&st.BalanceMinor); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, invoiceFrom+` and i.patient_id = $2 and i.status <> 'draft' order by i.number desc limit `+
			strconv.Itoa(maxStatementInvoices+1), p.Tenant, id)
		if err != nil {
			return err
		}
		if st.Invoices, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Invoice, error) { return scanInvoice(r) }); err != nil {
			return err
		}
		if len(st.Invoices) > maxStatementInvoices {
			st.Invoices, st.Truncated = st.Invoices[:maxStatementInvoices], true
		}
		ids := make([]tenancy.ID, len(st.Invoices))
		for i, inv := range st.Invoices {
			ids[i] = inv.ID
		}
		rows, err = tx.Query(ctx, `select id, clinic_id, invoice_id, patient_id, amount_minor, method, received_at
			from payments where clinic_id = $1 and patient_id = $2 and invoice_id = any($3::uuid[]) order by received_at, id`, p.Tenant, id, idTexts(ids))
		if err != nil {
			return err
		}
		if st.Payments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Payment, error) {
			var pm Payment
			err := r.Scan(&pm.ID, &pm.ClinicID, &pm.InvoiceID, &pm.PatientID, &pm.AmountMinor, &pm.Method, &pm.ReceivedAt)
			return pm, err
		}); err != nil {
			return err
		}
		return record(ctx, tx, "patient.statement", "patient", id)
	})
	if err != nil {
		return Statement{}, wrap("statement", err)
	}
	st.ledger()
	return st, nil
}

// ledger fills Entries and OpeningMinor from Invoices, Payments and
// BalanceMinor.
func (st *Statement) ledger() {
	byID := map[tenancy.ID]Invoice{}
	var shown int64
	for _, inv := range st.Invoices {
		byID[inv.ID] = inv
		if inv.Status != "void" {
			shown += inv.BalanceMinor
		}
		if inv.Status == "void" || inv.IssuedAt == nil {
			continue // a void invoice charged nothing
		}
		st.Entries = append(st.Entries, StatementEntry{At: *inv.IssuedAt, Invoice: inv, ChargeMinor: inv.TotalMinor})
	}
	for _, pm := range st.Payments {
		id := pm.ID
		st.Entries = append(st.Entries, StatementEntry{At: pm.ReceivedAt, Invoice: byID[pm.InvoiceID], PaymentID: &id,
			Method: pm.Method, PaymentMinor: pm.AmountMinor})
	}
	sortEntries(st.Entries)
	// The invoices left out still owe what the shown ones do not.
	st.OpeningMinor = st.BalanceMinor - shown
	bal := st.OpeningMinor
	for i := range st.Entries {
		bal += st.Entries[i].ChargeMinor - st.Entries[i].PaymentMinor
		st.Entries[i].BalanceMinor = bal
	}
}

// sortEntries orders a ledger by time, an invoice before a payment made
// at the same instant.
func sortEntries(list []StatementEntry) {
	slices.SortStableFunc(list, func(a, b StatementEntry) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(boolInt(a.PaymentID != nil), boolInt(b.PaymentID != nil))
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
