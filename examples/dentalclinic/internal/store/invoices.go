package store

import (
	"context"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Invoice is an invoice of one clinic, as listed. Amounts are integers in
// the minor unit of Currency (pence, cents), never floats.
//
// The database stores draft, issued or void; Status shows an issued
// invoice as "partly_paid" or "paid" from its payments. PaidMinor and
// BalanceMinor are computed on every read, never stored: BalanceMinor is
// TotalMinor − PaidMinor, and 0 on a void invoice, on which nothing is
// owed (an invoice with payments cannot be voided).
type Invoice struct {
	ID           tenancy.ID `json:"id"`
	ClinicID     tenancy.ID `json:"clinic_id"`
	Number       int        `json:"number"`
	PatientID    tenancy.ID `json:"patient_id"`
	Currency     string     `json:"currency"`
	Status       string     `json:"status"`
	TotalMinor   int64      `json:"total_minor"`
	PaidMinor    int64      `json:"paid_minor"`
	BalanceMinor int64      `json:"balance_minor"`
	IssuedAt     *time.Time `json:"issued_at"`
	VoidedAt     *time.Time `json:"voided_at"`
	CreatedAt    time.Time  `json:"created_at"`
	// PatientName is the patient's name ("Alex Morgan"), filled by
	// ListInvoices only, so that a page of invoices names its patients
	// without reading every patient; not part of the API's JSON.
	PatientName string `json:"-"`
}

// InvoiceDetail is an invoice with its lines and payments.
type InvoiceDetail struct {
	Invoice
	Lines    []InvoiceLine `json:"lines"`
	Payments []Payment     `json:"payments"`
}

// InvoiceLine is one line of an invoice, priced from the clinic's fee
// schedule when the invoice was created: AmountMinor = Quantity ×
// UnitPriceMinor.
type InvoiceLine struct {
	ClinicID       tenancy.ID `json:"clinic_id"`
	InvoiceID      tenancy.ID `json:"invoice_id"`
	LineNo         int        `json:"line_no"`
	Code           string     `json:"code"`
	Description    string     `json:"description"`
	Quantity       int        `json:"quantity"`
	UnitPriceMinor int64      `json:"unit_price_minor"`
	AmountMinor    int64      `json:"amount_minor"`
}

// Payment is money received against an issued invoice.
type Payment struct {
	ID          tenancy.ID `json:"id"`
	ClinicID    tenancy.ID `json:"clinic_id"`
	InvoiceID   tenancy.ID `json:"invoice_id"`
	PatientID   tenancy.ID `json:"patient_id"`
	AmountMinor int64      `json:"amount_minor"`
	Method      string     `json:"method"`
	ReceivedAt  time.Time  `json:"received_at"`
}

// InvoiceInput is a new invoice: a patient and lines from the fee
// schedule. The server prices the lines and computes the total.
type InvoiceInput struct {
	PatientID tenancy.ID         `json:"patient_id"`
	Lines     []InvoiceLineInput `json:"lines"`
}

// InvoiceLineInput is a procedure code of the clinic's fee schedule and a
// quantity.
type InvoiceLineInput struct {
	Code     string `json:"code"`
	Quantity int    `json:"quantity"`
}

// PaymentInput is a payment against an invoice.
type PaymentInput struct {
	AmountMinor int64  `json:"amount_minor"`
	Method      string `json:"method"`
}

// InvoiceFilter narrows an invoice list.
type InvoiceFilter struct {
	PatientID tenancy.ID // zero: every patient
	Status    string     // one of InvoiceStatuses, or "" for all
	// Patient matches the patient's name ("Alex Mor", "Morgan"),
	// case-insensitively; "" for every patient.
	Patient string
	// Cursor is the cursor of the page to read, as the previous page
	// returned it; "" for the first page.
	Cursor string
	// Limit is the number of invoices a page holds at most (a default
	// when 0, capped at the store's largest page).
	Limit int
}

// InvoiceStatuses are the statuses an invoice is shown with.
var InvoiceStatuses = []string{"draft", "issued", "partly_paid", "paid", "void"}

// PaymentMethods are the accepted payment methods.
var PaymentMethods = []string{"cash", "card", "bank_transfer", "insurance", "other"}

const (
	maxInvoiceLines = 100
	maxLineQuantity = 1000
)

var feeCode = regexp.MustCompile(`^[A-Za-z0-9._-]{1,20}$`)

// invoiceFrom selects an invoice with its paid amount and its shown status.
// Payments are summed in a lateral sub-query scoped to the tenant like
// every other reference.
const invoiceFrom = `
	select ` + invoiceCols + invoiceTables

// invoiceCols are the columns scanInvoice reads, from invoiceTables.
const invoiceCols = `i.id, i.clinic_id, i.number, i.patient_id, i.currency, i.total_minor, coalesce(pay.paid, 0)::bigint,
		i.issued_at, i.voided_at, i.created_at, ` + invoiceStatusSQL

const invoiceTables = `
	from invoices i
	left join lateral (select sum(p.amount_minor) as paid from payments p
		where p.clinic_id = $1 and p.invoice_id = i.id) pay on true
	where i.clinic_id = $1`

// invoiceListFrom is invoiceFrom with the patient's name, for a page of
// the list (ListInvoices): one lookup per invoice of the page, by the
// patients' primary key.
const invoiceListFrom = `
	select ` + invoiceCols + `,
		(select pt.given_name || ' ' || pt.family_name from patients pt where pt.clinic_id = $1 and pt.id = i.patient_id)` + invoiceTables

// invoiceStatusSQL derives the status an invoice is shown with: a stored
// draft or void as is, an issued one by what has been paid.
const invoiceStatusSQL = `case when i.status <> 'issued' then i.status
		when coalesce(pay.paid, 0) >= i.total_minor then 'paid'
		when coalesce(pay.paid, 0) = 0 then 'issued'
		else 'partly_paid' end`

// scanInvoice reads an invoice of invoiceFrom, and into extra the columns
// a query selects after invoiceCols.
func scanInvoice(row pgx.Row, extra ...any) (Invoice, error) {
	var inv Invoice
	err := row.Scan(append([]any{&inv.ID, &inv.ClinicID, &inv.Number, &inv.PatientID, &inv.Currency, &inv.TotalMinor, &inv.PaidMinor,
		&inv.IssuedAt, &inv.VoidedAt, &inv.CreatedAt, &inv.Status}, extra...)...)
	inv.Currency = strings.TrimSpace(inv.Currency)
	inv.BalanceMinor = inv.TotalMinor - inv.PaidMinor
	if inv.Status == "void" {
		inv.BalanceMinor = 0 // nothing is owed on a void invoice
	}
	return inv, err
}

// ListInvoices returns the clinic's invoices, newest number first, a page
// at a time, each with its patient's name.
func (s *Store) ListInvoices(ctx context.Context, f InvoiceFilter) ([]Invoice, string, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, "", err
	}
	var after struct{ N int }
	if err := decodeCursor(f.Cursor, &after); err != nil {
		return nil, "", err
	}
	if f.Status != "" && !oneOf(f.Status, InvoiceStatuses) {
		return nil, "", invalid("status", "status must be one of draft, issued, partly_paid, paid, void")
	}
	limit := pageLimit(f.Limit)
	args := []any{p.Tenant}
	where := ""
	if !f.PatientID.IsZero() {
		args = append(args, f.PatientID)
		where += ` and i.patient_id = $` + itoa(len(args))
	}
	if q := strings.TrimSpace(f.Patient); q != "" {
		if err := textField("patient", &q, 1, 200); err != nil {
			return nil, "", err
		}
		args = append(args, "%"+escapeLike(q)+"%")
		n := "lower($" + itoa(len(args)) + ")"
		where += ` and i.patient_id in (select pt.id from patients pt where pt.clinic_id = $1
			and (lower(pt.given_name || ' ' || pt.family_name) like ` + n + ` or lower(pt.family_name || ' ' || pt.given_name) like ` + n + `))`
	}
	if f.Status != "" {
		args = append(args, f.Status)
		where += ` and (` + invoiceStatusSQL + `) = $` + itoa(len(args))
	}
	ks := keyset{cols: []string{"i.number"}, desc: true}
	if after.N > 0 {
		var cond string
		cond, args = ks.after(args, after.N)
		where += cond
	}
	return queryPage(ctx, s, "list invoices", invoiceListFrom+where, args, ks, limit,
		func(r pgx.CollectableRow) (Invoice, error) {
			var name *string
			inv, err := scanInvoice(r, &name)
			if name != nil {
				inv.PatientName = *name
			}
			return inv, err
		},
		func(last Invoice) any {
			after.N = last.Number
			return after
		})
}

// Invoice returns one invoice of the caller's clinic with its lines and
// payments, or ErrNotFound. Opening an invoice is recorded in the clinic's
// audit log, as it is part of the patient's record.
func (s *Store) Invoice(ctx context.Context, id tenancy.ID) (InvoiceDetail, error) {
	var d InvoiceDetail
	err := s.tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		if d, err = invoiceDetail(ctx, tx, id); err != nil {
			return err
		}
		return record(ctx, tx, "invoice.view", "invoice", id)
	})
	return d, wrap("get invoice", err)
}

// invoiceDetail reads an invoice, its lines and its payments in tx.
func invoiceDetail(ctx context.Context, tx *tenantdb.Tx, id tenancy.ID) (InvoiceDetail, error) {
	p, err := tenant(ctx)
	if err != nil {
		return InvoiceDetail{}, err
	}
	inv, err := scanInvoice(tx.QueryRow(ctx, invoiceFrom+` and i.id = $2`, p.Tenant, id))
	if err != nil {
		return InvoiceDetail{}, notFound(err)
	}
	d := InvoiceDetail{Invoice: inv}
	rows, err := tx.Query(ctx, `select clinic_id, invoice_id, line_no, code, description, quantity, unit_price_minor, amount_minor
		from invoice_lines where clinic_id = $1 and invoice_id = $2 order by line_no`, p.Tenant, id)
	if err != nil {
		return InvoiceDetail{}, err
	}
	d.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (InvoiceLine, error) {
		var l InvoiceLine
		err := r.Scan(&l.ClinicID, &l.InvoiceID, &l.LineNo, &l.Code, &l.Description, &l.Quantity, &l.UnitPriceMinor, &l.AmountMinor)
		return l, err
	})
	if err != nil {
		return InvoiceDetail{}, err
	}
	rows, err = tx.Query(ctx, `select id, clinic_id, invoice_id, patient_id, amount_minor, method, received_at
		from payments where clinic_id = $1 and invoice_id = $2 order by received_at, id`, p.Tenant, id)
	if err != nil {
		return InvoiceDetail{}, err
	}
	d.Payments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Payment, error) {
		var pm Payment
		err := r.Scan(&pm.ID, &pm.ClinicID, &pm.InvoiceID, &pm.PatientID, &pm.AmountMinor, &pm.Method, &pm.ReceivedAt)
		return pm, err
	})
	if err != nil {
		return InvoiceDetail{}, err
	}
	if d.Lines == nil {
		d.Lines = []InvoiceLine{}
	}
	if d.Payments == nil {
		d.Payments = []Payment{}
	}
	return d, nil
}

func (in InvoiceInput) validate() error {
	if in.PatientID.IsZero() {
		return invalid("patient_id", "patient_id is required")
	}
	if len(in.Lines) == 0 || len(in.Lines) > maxInvoiceLines {
		return invalid("lines", "an invoice has 1 to "+itoa(maxInvoiceLines)+" lines")
	}
	for i, l := range in.Lines {
		field := "lines[" + itoa(i) + "]"
		if !feeCode.MatchString(l.Code) {
			return invalid(field+".code", "line "+itoa(i+1)+": code is not in the clinic's fee schedule")
		}
		if l.Quantity < 1 || l.Quantity > maxLineQuantity {
			return invalid(field+".quantity", "line "+itoa(i+1)+": quantity must be 1 to "+itoa(maxLineQuantity))
		}
	}
	return nil
}

// CreateInvoice makes a draft invoice for a patient of the caller's
// clinic. Each line is priced from the clinic's fee schedule (an unknown
// code is invalid input naming the line); the total is the sum of the
// lines; the currency is the clinic's. The invoice takes the clinic's next
// number in the same transaction, so numbers have no gaps within a clinic
// (invoices are voided, never deleted) and say nothing about other
// clinics.
func (s *Store) CreateInvoice(ctx context.Context, in InvoiceInput) (InvoiceDetail, error) {
	p, err := tenant(ctx)
	if err != nil {
		return InvoiceDetail{}, err
	}
	if err := in.validate(); err != nil {
		return InvoiceDetail{}, err
	}
	id := tenancy.NewID()
	var d InvoiceDetail
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		codes := make([]string, len(in.Lines))
		for i, l := range in.Lines {
			codes[i] = l.Code
		}
		type fee struct {
			desc  string
			price int64
		}
		fees := map[string]fee{}
		rows, err := tx.Query(ctx, `select code, description, price_minor from fee_schedule where clinic_id = $1 and code = any($2)`, p.Tenant, codes)
		if err != nil {
			return err
		}
		var code string
		var f fee
		if _, err := pgx.ForEachRow(rows, []any{&code, &f.desc, &f.price}, func() error { fees[code] = f; return nil }); err != nil {
			return err
		}
		var total int64
		amounts := make([]int64, len(in.Lines))
		for i, l := range in.Lines {
			f, ok := fees[l.Code]
			if !ok {
				return invalid("lines["+itoa(i)+"].code", "line "+itoa(i+1)+": code is not in the clinic's fee schedule")
			}
			amount, ok := mulMinor(f.price, int64(l.Quantity))
			if ok {
				total, ok = addMinor(total, amount)
			}
			if !ok {
				return invalid("lines["+itoa(i)+"].quantity", "line "+itoa(i+1)+": the amount is too large")
			}
			amounts[i] = amount
		}
		var currency string
		if err := tx.QueryRow(ctx, `select currency from clinics where id = $1`, p.Tenant).Scan(&currency); err != nil {
			return err
		}
		var number int
		if err := tx.QueryRow(ctx, `insert into invoice_counters (clinic_id, last_number) values ($1, 1)
			on conflict (clinic_id) do update set last_number = invoice_counters.last_number + 1
			returning last_number`, p.Tenant).Scan(&number); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `insert into invoices (clinic_id, id, number, patient_id, currency, status, total_minor)
			values ($1, $2, $3, $4, $5, 'draft', $6)`, p.Tenant, id, number, in.PatientID, currency, total); err != nil {
			return patientFKInvalid(err)
		}
		for i, l := range in.Lines {
			f := fees[l.Code]
			if _, err := tx.Exec(ctx, `insert into invoice_lines (clinic_id, invoice_id, patient_id, line_no, code, description,
				quantity, unit_price_minor, amount_minor) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				p.Tenant, id, in.PatientID, i+1, l.Code, f.desc, l.Quantity, f.price, amounts[i]); err != nil {
				return err
			}
		}
		if d, err = invoiceDetail(ctx, tx, id); err != nil {
			return err
		}
		return record(ctx, tx, "invoice.create", "invoice", id)
	})
	return d, wrap("create invoice", err)
}

// lockInvoice locks an invoice row of the caller's clinic for the rest of
// tx and returns its stored status, patient and total, or ErrNotFound.
func lockInvoice(ctx context.Context, tx *tenantdb.Tx, tenantID, id tenancy.ID) (status string, patient tenancy.ID, total int64, err error) {
	err = tx.QueryRow(ctx, `select status, patient_id, total_minor from invoices where clinic_id = $1 and id = $2 for update`,
		tenantID, id).Scan(&status, &patient, &total)
	return status, patient, total, notFound(err)
}

// IssueInvoice issues a draft invoice. From then on it is never edited:
// to correct it, void it and create another. Issuing anything but a draft
// is a conflict.
func (s *Store) IssueInvoice(ctx context.Context, id tenancy.ID) (InvoiceDetail, error) {
	p, err := tenant(ctx)
	if err != nil {
		return InvoiceDetail{}, err
	}
	var d InvoiceDetail
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		status, _, _, err := lockInvoice(ctx, tx, p.Tenant, id)
		if err != nil {
			return err
		}
		if status != "draft" {
			return conflict("not_draft", "Only a draft invoice can be issued.")
		}
		if _, err := tx.Exec(ctx, `update invoices set status = 'issued', issued_at = now() where clinic_id = $1 and id = $2`, p.Tenant, id); err != nil {
			return err
		}
		if d, err = invoiceDetail(ctx, tx, id); err != nil {
			return err
		}
		return record(ctx, tx, "invoice.issue", "invoice", id)
	})
	return d, wrap("issue invoice", err)
}

// VoidInvoice voids a draft or issued invoice; the record and its number
// are kept. An invoice with payments cannot be voided (the money would be
// allocated to nothing), and voiding twice is a conflict.
func (s *Store) VoidInvoice(ctx context.Context, id tenancy.ID) (InvoiceDetail, error) {
	p, err := tenant(ctx)
	if err != nil {
		return InvoiceDetail{}, err
	}
	var d InvoiceDetail
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		status, _, _, err := lockInvoice(ctx, tx, p.Tenant, id)
		if err != nil {
			return err
		}
		if status == "void" {
			return conflict("already_void", "The invoice is already void.")
		}
		var paid bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from payments where clinic_id = $1 and invoice_id = $2)`, p.Tenant, id).Scan(&paid); err != nil {
			return err
		}
		if paid {
			return conflict("has_payments", "An invoice with payments cannot be voided.")
		}
		if _, err := tx.Exec(ctx, `update invoices set status = 'void', voided_at = now() where clinic_id = $1 and id = $2`, p.Tenant, id); err != nil {
			return err
		}
		if d, err = invoiceDetail(ctx, tx, id); err != nil {
			return err
		}
		return record(ctx, tx, "invoice.void", "invoice", id)
	})
	return d, wrap("void invoice", err)
}

// AddPayment records a payment against an issued invoice of the caller's
// clinic and returns the invoice. Payments allocate exactly: the amount is
// a positive integer in the minor unit and never more than the balance
// (a conflict, "overpayment"). The invoice row is locked for the
// transaction, so concurrent payments are applied one after another and
// cannot together overpay.
func (s *Store) AddPayment(ctx context.Context, invoiceID tenancy.ID, in PaymentInput) (InvoiceDetail, error) {
	p, err := tenant(ctx)
	if err != nil {
		return InvoiceDetail{}, err
	}
	if in.AmountMinor <= 0 {
		return InvoiceDetail{}, invalid("amount_minor", "amount_minor must be a positive integer in the currency's minor unit")
	}
	if !oneOf(in.Method, PaymentMethods) {
		return InvoiceDetail{}, invalid("method", "method must be one of cash, card, bank_transfer, insurance, other")
	}
	var d InvoiceDetail
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		status, patient, total, err := lockInvoice(ctx, tx, p.Tenant, invoiceID)
		if err != nil {
			return err
		}
		if status != "issued" {
			return conflict("not_issued", "Payments are taken only on issued invoices.")
		}
		var paid int64
		if err := tx.QueryRow(ctx, `select coalesce(sum(amount_minor), 0)::bigint from payments where clinic_id = $1 and invoice_id = $2`,
			p.Tenant, invoiceID).Scan(&paid); err != nil {
			return err
		}
		if in.AmountMinor > total-paid {
			return conflict("overpayment", "The payment is more than the balance of the invoice.")
		}
		paymentID := tenancy.NewID()
		if _, err := tx.Exec(ctx, `insert into payments (clinic_id, id, invoice_id, patient_id, amount_minor, method)
			values ($1, $2, $3, $4, $5, $6)`, p.Tenant, paymentID, invoiceID, patient, in.AmountMinor, in.Method); err != nil {
			return err
		}
		if d, err = invoiceDetail(ctx, tx, invoiceID); err != nil {
			return err
		}
		return record(ctx, tx, "payment.create", "payment", paymentID)
	})
	return d, wrap("add payment", err)
}

// patientFKInvalid turns a foreign-key failure on the patient into plain invalid
// input: another clinic's patient is as unknown as a made-up one.
func patientFKInvalid(err error) error {
	if code, name := constraint(err); code == "23503" && strings.Contains(name, "patient") {
		return invalid("patient_id", "patient_id is not a patient of this clinic")
	}
	return err
}

// mulMinor and addMinor are int64 arithmetic on minor units that report
// overflow instead of wrapping.
func mulMinor(a, b int64) (int64, bool) {
	if a < 0 || b < 0 || (b != 0 && a > math.MaxInt64/b) {
		return 0, false
	}
	return a * b, true
}

func addMinor(a, b int64) (int64, bool) {
	if a < 0 || b < 0 || a > math.MaxInt64-b {
		return 0, false
	}
	return a + b, true
}
