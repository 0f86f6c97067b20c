package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// The billing tests create their own patients and invoices, so they
// neither depend on nor disturb the demo data other tests read.

type billLineJSON struct {
	ClinicID       tenancy.ID `json:"clinic_id"`
	InvoiceID      tenancy.ID `json:"invoice_id"`
	LineNo         int        `json:"line_no"`
	Code           string     `json:"code"`
	Quantity       int64      `json:"quantity"`
	UnitPriceMinor int64      `json:"unit_price_minor"`
	AmountMinor    int64      `json:"amount_minor"`
}

type billPaymentJSON struct {
	ID          tenancy.ID `json:"id"`
	ClinicID    tenancy.ID `json:"clinic_id"`
	InvoiceID   tenancy.ID `json:"invoice_id"`
	AmountMinor int64      `json:"amount_minor"`
	Method      string     `json:"method"`
}

type billInvoiceJSON struct {
	ID           tenancy.ID        `json:"id"`
	ClinicID     tenancy.ID        `json:"clinic_id"`
	Number       int               `json:"number"`
	PatientID    tenancy.ID        `json:"patient_id"`
	Currency     string            `json:"currency"`
	Status       string            `json:"status"`
	TotalMinor   int64             `json:"total_minor"`
	PaidMinor    int64             `json:"paid_minor"`
	BalanceMinor int64             `json:"balance_minor"`
	IssuedAt     *string           `json:"issued_at"`
	VoidedAt     *string           `json:"voided_at"`
	Lines        []billLineJSON    `json:"lines"`
	Payments     []billPaymentJSON `json:"payments"`
}

var billingLakeside = seed.Clinics[2]

// billPatient creates a patient of the token's clinic and returns its id.
func billPatient(t *testing.T, a *apptest.App, token string) tenancy.ID {
	t.Helper()
	r := a.Do(t, "POST", "/api/v1/patients", token, map[string]any{"given_name": "Billing", "family_name": "Test " + tenancy.NewID().String()[:8]})
	if r.Status != http.StatusCreated {
		t.Fatalf("create patient: %d %s", r.Status, r.Body)
	}
	var p patientJSON
	r.JSON(t, &p)
	return p.ID
}

// billCreate creates an invoice and fails the test unless it is created.
func billCreate(t *testing.T, a *apptest.App, token string, patient tenancy.ID, lines ...map[string]any) billInvoiceJSON {
	t.Helper()
	r := a.Do(t, "POST", "/api/v1/invoices", token, map[string]any{"patient_id": patient, "lines": lines})
	if r.Status != http.StatusCreated {
		t.Fatalf("create invoice: %d %s", r.Status, r.Body)
	}
	var inv billInvoiceJSON
	r.JSON(t, &inv)
	return inv
}

// billWant asserts the status of a apptest.Response and, for errors, that it is
// problem+json.
func billWant(t *testing.T, what string, r apptest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: got %d %s, want %d", what, r.Status, r.Body, status)
		return
	}
	if ct := r.Header.Get("Content-Type"); status >= 400 && ct != "application/problem+json" {
		t.Errorf("%s: content type %q, want application/problem+json", what, ct)
	}
}

// billCheckClinic walks a JSON apptest.Response and fails the test for any record
// (an object with an id, or an invoice line) whose clinic_id is not want.
func billCheckClinic(t *testing.T, body []byte, want tenancy.ID) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			_, hasID := x["id"]
			_, isLine := x["line_no"]
			if hasID || isLine {
				if got := x["clinic_id"]; got != want.String() {
					t.Errorf("LEAK or missing clinic_id: record %v has clinic_id %v, want %v", x["id"], got, want)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

// billCount runs a privileged count.
func billCount(t *testing.T, a *apptest.App, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func billCounter(t *testing.T, a *apptest.App, clinic tenancy.ID) int64 {
	t.Helper()
	return billCount(t, a, `select last_number::bigint from invoice_counters where clinic_id = $1`, clinic)
}

// TestInvoicesReconcile follows an invoice from draft to paid in a GBP
// clinic and in Lakeside's USD: lines × prices = total, payments sum to
// paid, total − paid = balance, to the minor unit at every step, as the
// API shows it and as the database holds it.
func TestInvoicesReconcile(t *testing.T) {
	a := startApp(t)
	for _, c := range []seed.Clinic{riverside, billingLakeside} {
		t.Run(c.Currency, func(t *testing.T) {
			tok := a.SignIn(t, seed.StaffEmail("owner", c), tenancy.ID{})
			patient := billPatient(t, a, tok)
			fees := a.Fees(t, c.ID)
			lines := []struct {
				code string
				qty  int
			}{{"EXAM", 1}, {"XRAY", 3}, {"FILL2", 2}, {"SCALE", 7}}
			var want int64
			var body []map[string]any
			for _, l := range lines {
				want += fees[l.code] * int64(l.qty)
				body = append(body, apptest.FeeLine(l.code, l.qty))
			}
			before := billCounter(t, a, c.ID)

			inv := billCreate(t, a, tok, patient, body...)
			if inv.Currency != c.Currency || inv.Status != "draft" || inv.TotalMinor != want || inv.PaidMinor != 0 || inv.BalanceMinor != want {
				t.Fatalf("new invoice = %+v; want a %s draft of %d", inv, c.Currency, want)
			}
			if inv.Number != int(before)+1 {
				t.Errorf("number = %d, want the clinic's next, %d", inv.Number, before+1)
			}
			var sum int64
			for i, l := range inv.Lines {
				if l.Code != lines[i].code || l.UnitPriceMinor != fees[l.Code] || l.AmountMinor != l.UnitPriceMinor*l.Quantity || l.LineNo != i+1 {
					t.Errorf("line %d = %+v; want %s × %d at %d", i+1, l, lines[i].code, lines[i].qty, fees[lines[i].code])
				}
				sum += l.AmountMinor
			}
			if len(inv.Lines) != len(lines) || sum != inv.TotalMinor {
				t.Errorf("%d lines summing to %d; total %d", len(inv.Lines), sum, inv.TotalMinor)
			}

			r := a.Do(t, "POST", "/api/v1/invoices/"+inv.ID.String()+"/issue", tok, nil)
			billWant(t, "issue", r, 200)
			var issued billInvoiceJSON
			r.JSON(t, &issued)
			if issued.Status != "issued" || issued.Number != inv.Number || issued.IssuedAt == nil || issued.TotalMinor != want {
				t.Errorf("issued = %+v", issued)
			}

			// An odd amount first, then the exact rest.
			first := int64(1001)
			r = a.Do(t, "POST", "/api/v1/invoices/"+inv.ID.String()+"/payments", tok, map[string]any{"amount_minor": first, "method": "card"})
			billWant(t, "first payment", r, 201)
			var part billInvoiceJSON
			r.JSON(t, &part)
			if part.Status != "partly_paid" || part.PaidMinor != first || part.BalanceMinor != want-first || len(part.Payments) != 1 {
				t.Errorf("after paying %d of %d: %+v", first, want, part)
			}
			billCheckClinic(t, r.Body, c.ID)

			over := a.Do(t, "POST", "/api/v1/invoices/"+inv.ID.String()+"/payments", tok, map[string]any{"amount_minor": want - first + 1, "method": "cash"})
			billWant(t, "overpayment", over, 409)
			if !bytes.Contains(over.Body, []byte(`"code":"overpayment"`)) {
				t.Errorf("overpayment body %s", over.Body)
			}

			r = a.Do(t, "POST", "/api/v1/invoices/"+inv.ID.String()+"/payments", tok, map[string]any{"amount_minor": want - first, "method": "bank_transfer"})
			billWant(t, "final payment", r, 201)
			var paid billInvoiceJSON
			r.JSON(t, &paid)
			if paid.Status != "paid" || paid.PaidMinor != want || paid.BalanceMinor != 0 || len(paid.Payments) != 2 {
				t.Errorf("after paying in full: %+v", paid)
			}
			var paySum int64
			for _, p := range paid.Payments {
				paySum += p.AmountMinor
			}
			if paySum != paid.PaidMinor || paid.TotalMinor-paid.PaidMinor != paid.BalanceMinor {
				t.Errorf("payments sum %d, paid %d, total %d, balance %d do not reconcile", paySum, paid.PaidMinor, paid.TotalMinor, paid.BalanceMinor)
			}
			billWant(t, "a penny more", a.Do(t, "POST", "/api/v1/invoices/"+inv.ID.String()+"/payments", tok,
				map[string]any{"amount_minor": 1, "method": "cash"}), 409)

			// The database agrees to the minor unit.
			dbTotal := billCount(t, a, `select total_minor from invoices where clinic_id = $1 and id = $2`, c.ID, inv.ID)
			dbLines := billCount(t, a, `select sum(amount_minor)::bigint from invoice_lines where clinic_id = $1 and invoice_id = $2`, c.ID, inv.ID)
			dbPaid := billCount(t, a, `select sum(amount_minor)::bigint from payments where clinic_id = $1 and invoice_id = $2`, c.ID, inv.ID)
			if dbTotal != want || dbLines != want || dbPaid != want {
				t.Errorf("database: total %d, lines %d, payments %d; want %d each", dbTotal, dbLines, dbPaid, want)
			}

			// GET and the filtered list show the same figures.
			r = a.Do(t, "GET", "/api/v1/invoices/"+inv.ID.String(), tok, nil)
			billWant(t, "get", r, 200)
			billCheckClinic(t, r.Body, c.ID)
			var got billInvoiceJSON
			r.JSON(t, &got)
			if got.Status != "paid" || got.TotalMinor != want || got.PaidMinor != want || got.BalanceMinor != 0 || len(got.Lines) != len(lines) {
				t.Errorf("GET = %+v", got)
			}
			for status, n := range map[string]int{"": 1, "paid": 1, "issued": 0, "draft": 0} {
				r = a.Do(t, "GET", "/api/v1/invoices?patient_id="+patient.String()+"&status="+status, tok, nil)
				billWant(t, "list "+status, r, 200)
				billCheckClinic(t, r.Body, c.ID)
				var page struct{ Items []billInvoiceJSON }
				r.JSON(t, &page)
				if len(page.Items) != n {
					t.Errorf("list status=%q: %d invoices, want %d", status, len(page.Items), n)
				} else if n == 1 && (page.Items[0].ID != inv.ID || page.Items[0].PaidMinor != want || page.Items[0].BalanceMinor != 0) {
					t.Errorf("list status=%q: %+v", status, page.Items[0])
				}
			}
		})
	}
}

// TestInvoiceLifecycle covers numbering, issuing and voiding and the
// transitions that are refused.
func TestInvoiceLifecycle(t *testing.T) {
	a := startApp(t)
	tok := a.NewStaff(t, riverside, "billing").Token
	patient := billPatient(t, a, a.SignIn(t, seed.StaffEmail("frontdesk", riverside), tenancy.ID{}))
	path := func(inv billInvoiceJSON, action string) string { return "/api/v1/invoices/" + inv.ID.String() + action }

	first := billCreate(t, a, tok, patient, apptest.FeeLine("EXAM", 1))
	second := billCreate(t, a, tok, patient, apptest.FeeLine("XRAY", 1))
	if second.Number != first.Number+1 {
		t.Errorf("numbers %d then %d; want consecutive", first.Number, second.Number)
	}

	// A payment on a draft is refused; so is issuing twice.
	billWant(t, "pay a draft", a.Do(t, "POST", path(first, "/payments"), tok, map[string]any{"amount_minor": 1, "method": "cash"}), 409)
	billWant(t, "issue", a.Do(t, "POST", path(first, "/issue"), tok, nil), 200)
	billWant(t, "issue again", a.Do(t, "POST", path(first, "/issue"), tok, nil), 409)

	// Void keeps the record and its number; a void invoice takes nothing.
	r := a.Do(t, "POST", path(second, "/void"), tok, nil)
	billWant(t, "void a draft", r, 200)
	var voided billInvoiceJSON
	r.JSON(t, &voided)
	if voided.Status != "void" || voided.VoidedAt == nil || voided.Number != second.Number || voided.BalanceMinor != 0 {
		t.Errorf("voided draft = %+v", voided)
	}
	billWant(t, "void again", a.Do(t, "POST", path(second, "/void"), tok, nil), 409)
	billWant(t, "issue a void", a.Do(t, "POST", path(second, "/issue"), tok, nil), 409)
	billWant(t, "pay a void", a.Do(t, "POST", path(second, "/payments"), tok, map[string]any{"amount_minor": 1, "method": "cash"}), 409)
	if n := billCount(t, a, `select count(*) from invoices where clinic_id = $1 and id = $2 and status = 'void'`, riverside.ID, second.ID); n != 1 {
		t.Errorf("the voided invoice is not kept as void in the database (%d rows)", n)
	}

	// An issued invoice with a payment cannot be voided; without one it can.
	billWant(t, "pay", a.Do(t, "POST", path(first, "/payments"), tok, map[string]any{"amount_minor": 100, "method": "cash"}), 201)
	billWant(t, "void with a payment", a.Do(t, "POST", path(first, "/void"), tok, nil), 409)
	third := billCreate(t, a, tok, patient, apptest.FeeLine("EXTR", 1))
	billWant(t, "issue third", a.Do(t, "POST", path(third, "/issue"), tok, nil), 200)
	billWant(t, "void issued", a.Do(t, "POST", path(third, "/void"), tok, nil), 200)

	// The list shows each with its derived status.
	var page struct{ Items []billInvoiceJSON }
	a.Do(t, "GET", "/api/v1/invoices?patient_id="+patient.String(), tok, nil).JSON(t, &page)
	got := map[tenancy.ID]string{}
	for _, inv := range page.Items {
		got[inv.ID] = inv.Status
	}
	want := map[tenancy.ID]string{first.ID: "partly_paid", second.ID: "void", third.ID: "void"}
	for id, s := range want {
		if got[id] != s {
			t.Errorf("invoice %v listed as %q, want %q", id, got[id], s)
		}
	}
	if len(page.Items) != 3 || page.Items[0].Number < page.Items[2].Number {
		t.Errorf("list = %+v; want 3, newest first", page.Items)
	}

	// Each change, and opening an invoice, is in the owner's audit log.
	billWant(t, "open", a.Do(t, "GET", path(first, ""), tok, nil), 200)
	var paymentID string
	var detail billInvoiceJSON
	a.Do(t, "GET", path(first, ""), tok, nil).JSON(t, &detail)
	if len(detail.Payments) == 1 {
		paymentID = detail.Payments[0].ID.String()
	}
	events := map[string]bool{}
	for _, e := range a.AuditLog(t, a.SignIn(t, seed.StaffEmail("owner", riverside), tenancy.ID{})) {
		events[e.Action+" "+e.ResourceID] = true
	}
	for _, want := range []string{
		"invoice.create " + first.ID.String(), "invoice.issue " + first.ID.String(), "invoice.view " + first.ID.String(),
		"payment.create " + paymentID, "invoice.void " + second.ID.String(), "invoice.void " + third.ID.String(),
	} {
		if !events[want] {
			t.Errorf("no audit event %q", want)
		}
	}
}

// TestInvoicePagination walks a patient's invoices two at a time.
func TestInvoicePagination(t *testing.T) {
	a := startApp(t)
	tok := a.SignIn(t, seed.StaffEmail("frontdesk", hillcrest), tenancy.ID{})
	patient := billPatient(t, a, tok)
	made := map[tenancy.ID]bool{}
	for range 5 {
		made[billCreate(t, a, tok, patient, apptest.FeeLine("EXAM", 1)).ID] = true
	}
	seen := map[tenancy.ID]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		r := a.Do(t, "GET", "/api/v1/invoices?limit=2&patient_id="+patient.String()+"&cursor="+cursor, tok, nil)
		billWant(t, "page", r, 200)
		var page struct {
			Items      []billInvoiceJSON
			NextCursor *string `json:"next_cursor"`
		}
		r.JSON(t, &page)
		for _, inv := range page.Items {
			if seen[inv.ID] {
				t.Errorf("invoice %v on two pages", inv.ID)
			}
			seen[inv.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(seen) != len(made) {
		t.Errorf("pages held %d invoices, want %d", len(seen), len(made))
	}
}

// TestConcurrentPaymentsNeverOverpay races payments that together would
// exceed the balance: the invoice row lock lets exactly as many through as
// fit.
func TestConcurrentPaymentsNeverOverpay(t *testing.T) {
	a := startApp(t)
	tok := a.SignIn(t, seed.StaffEmail("owner", riverside), tenancy.ID{})
	patient := billPatient(t, a, tok)
	inv := billCreate(t, a, tok, patient, apptest.FeeLine("EXTR", 2)) // 2 × 150.00
	billWant(t, "issue", a.Do(t, "POST", "/api/v1/invoices/"+inv.ID.String()+"/issue", tok, nil), 200)

	amount := inv.TotalMinor/4 + 1 // three fit, the fourth would overpay
	const tries = 12
	var wg sync.WaitGroup
	statuses := make([]int, tries)
	body := fmt.Sprintf(`{"amount_minor": %d, "method": "card"}`, amount)
	for i := range tries {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", a.Base+"/api/v1/invoices/"+inv.ID.String()+"/payments", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	fit := int(inv.TotalMinor / amount)
	if count[201] != fit || count[409] != tries-fit {
		t.Errorf("statuses %v; want %d × 201 and %d × 409", count, fit, tries-fit)
	}
	paid := billCount(t, a, `select coalesce(sum(amount_minor), 0)::bigint from payments where clinic_id = $1 and invoice_id = $2`, riverside.ID, inv.ID)
	if paid > inv.TotalMinor || paid != int64(fit)*amount {
		t.Errorf("paid %d of %d; want %d", paid, inv.TotalMinor, int64(fit)*amount)
	}
}

// TestBillingPermissions: each route succeeds for a role that may use it
// and is 403 for one that may not, changing nothing.
func TestBillingPermissions(t *testing.T) {
	a := startApp(t)
	owner := a.SignIn(t, seed.StaffEmail("owner", riverside), tenancy.ID{})
	billing := a.NewStaff(t, riverside, "billing").Token
	frontDesk := a.NewStaff(t, riverside, "front_desk").Token
	dentist := a.SignIn(t, seed.StaffEmail("dentist", riverside), tenancy.ID{})
	hygienist := a.SignIn(t, seed.StaffEmail("hygienist", riverside), tenancy.ID{})
	patient := billPatient(t, a, owner)
	inv := billCreate(t, a, owner, patient, apptest.FeeLine("EXAM", 1), apptest.FeeLine("XRAY", 1))
	toVoid := billCreate(t, a, owner, patient, apptest.FeeLine("EXAM", 1))
	p := "/api/v1/invoices/" + inv.ID.String()
	pay := map[string]any{"amount_minor": 500, "method": "cash"}
	create := map[string]any{"patient_id": patient, "lines": []any{apptest.FeeLine("EXAM", 1)}}

	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		ok           []string // tokens (by name) allowed, in order of use
		okStatus     int
		denied       []string
	}{
		{"list", "GET", "/api/v1/invoices", nil, []string{"owner", "billing", "front_desk"}, 200, []string{"dentist", "hygienist"}},
		{"get", "GET", p, nil, []string{"owner", "billing", "front_desk"}, 200, []string{"dentist", "hygienist"}},
		{"create", "POST", "/api/v1/invoices", create, []string{"billing", "owner"}, 201, []string{"front_desk", "dentist", "hygienist"}},
		{"issue", "POST", p + "/issue", nil, []string{"billing"}, 200, []string{"front_desk", "dentist", "hygienist"}},
		{"payments", "POST", p + "/payments", pay, []string{"billing", "owner"}, 201, []string{"front_desk", "dentist", "hygienist"}},
		{"void", "POST", "/api/v1/invoices/" + toVoid.ID.String() + "/void", nil, []string{"owner"}, 200, []string{"front_desk", "dentist", "hygienist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokens := map[string]string{"owner": owner, "billing": billing, "front_desk": frontDesk, "dentist": dentist, "hygienist": hygienist}
			invoices := billCount(t, a, `select count(*) from invoices where clinic_id = $1 and patient_id = $2`, riverside.ID, patient)
			payments := billCount(t, a, `select count(*) from payments where clinic_id = $1 and patient_id = $2`, riverside.ID, patient)
			states := billCount(t, a, `select count(*) from invoices where clinic_id = $1 and patient_id = $2 and status = 'draft'`, riverside.ID, patient)
			for _, who := range tc.denied {
				billWant(t, who, a.Do(t, tc.method, tc.path, tokens[who], tc.body), 403)
			}
			if billCount(t, a, `select count(*) from invoices where clinic_id = $1 and patient_id = $2`, riverside.ID, patient) != invoices ||
				billCount(t, a, `select count(*) from payments where clinic_id = $1 and patient_id = $2`, riverside.ID, patient) != payments ||
				billCount(t, a, `select count(*) from invoices where clinic_id = $1 and patient_id = $2 and status = 'draft'`, riverside.ID, patient) != states {
				t.Errorf("a refused %s changed the data", tc.name)
			}
			for _, who := range tc.ok {
				r := a.Do(t, tc.method, tc.path, tokens[who], tc.body)
				billWant(t, who, r, tc.okStatus)
				billCheckClinic(t, r.Body, riverside.ID)
			}
		})
	}
}

// TestBillingForeignClinic: another clinic's invoice answers 404
// byte-identical to a made-up id on every route, and stays unchanged.
func TestBillingForeignClinic(t *testing.T) {
	a := startApp(t)
	hill := a.SignIn(t, seed.StaffEmail("owner", hillcrest), tenancy.ID{})
	hillPatient := billPatient(t, a, hill)
	foreign := billCreate(t, a, hill, hillPatient, apptest.FeeLine("EXAM", 1))
	billWant(t, "Hillcrest issues its own", a.Do(t, "POST", "/api/v1/invoices/"+foreign.ID.String()+"/issue", hill, nil), 200)
	// First prove the object exists, for its own clinic.
	billWant(t, "Hillcrest reads its own", a.Do(t, "GET", "/api/v1/invoices/"+foreign.ID.String(), hill, nil), 200)

	river := a.SignIn(t, seed.StaffEmail("owner", riverside), tenancy.ID{})
	counter := billCounter(t, a, riverside.ID)
	random := tenancy.NewID()
	for _, tc := range []struct {
		method, action string
		body           any
	}{
		{"GET", "", nil},
		{"POST", "/issue", nil},
		{"POST", "/void", nil},
		{"POST", "/payments", map[string]any{"amount_minor": 1, "method": "cash"}},
	} {
		f := a.Do(t, tc.method, "/api/v1/invoices/"+foreign.ID.String()+tc.action, river, tc.body)
		m := a.Do(t, tc.method, "/api/v1/invoices/"+random.String()+tc.action, river, tc.body)
		if f.Status != 404 || !bytes.Equal(f.Body, m.Body) || f.Header.Get("Content-Type") != m.Header.Get("Content-Type") {
			t.Errorf("%s %s: foreign %d %s; missing %d %s; want identical 404s", tc.method, tc.action, f.Status, f.Body, m.Status, m.Body)
		}
	}
	var status string
	var payments int64
	if err := a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(),
		`select status, (select count(*) from payments where invoice_id = $1) from invoices where id = $1`, foreign.ID).Scan(&status, &payments); err != nil {
		t.Fatal(err)
	}
	if status != "issued" || payments != 0 {
		t.Errorf("the foreign invoice is now %s with %d payments", status, payments)
	}

	// The list finds nothing of Hillcrest's patient; an invoice for that
	// patient is refused exactly as for a made-up patient, and takes no
	// number.
	r := a.Do(t, "GET", "/api/v1/invoices?patient_id="+hillPatient.String(), river, nil)
	var page struct{ Items []billInvoiceJSON }
	r.JSON(t, &page)
	if r.Status != 200 || len(page.Items) != 0 {
		t.Errorf("Riverside listing Hillcrest's patient's invoices: %d %s", r.Status, r.Body)
	}
	f := a.Do(t, "POST", "/api/v1/invoices", river, map[string]any{"patient_id": hillPatient, "lines": []any{apptest.FeeLine("EXAM", 1)}})
	m := a.Do(t, "POST", "/api/v1/invoices", river, map[string]any{"patient_id": tenancy.NewID(), "lines": []any{apptest.FeeLine("EXAM", 1)}})
	if f.Status != 422 || !bytes.Equal(f.Body, m.Body) {
		t.Errorf("invoice for a foreign patient: %d %s; for a made-up one: %d %s", f.Status, f.Body, m.Status, m.Body)
	}
	if got := billCounter(t, a, riverside.ID); got != counter {
		t.Errorf("Riverside's invoice counter moved from %d to %d on refused invoices", counter, got)
	}

	// The whole list carries only the caller's clinic.
	r = a.Do(t, "GET", "/api/v1/invoices?limit=200", river, nil)
	billWant(t, "list", r, 200)
	billCheckClinic(t, r.Body, riverside.ID)
}

// TestBillingBadInput: malformed JSON, unknown fields, wrong types,
// fractional or negative money, bad ids and overlong strings answer 4xx
// problem+json and change nothing.
func TestBillingBadInput(t *testing.T) {
	a := startApp(t)
	tok := a.SignIn(t, seed.StaffEmail("owner", billingLakeside), tenancy.ID{})
	patient := billPatient(t, a, tok)
	inv := billCreate(t, a, tok, patient, apptest.FeeLine("EXAM", 1))
	billWant(t, "issue", a.Do(t, "POST", "/api/v1/invoices/"+inv.ID.String()+"/issue", tok, nil), 200)
	pid := patient.String()

	raw := func(method, path, body string) apptest.Response {
		t.Helper()
		req, err := http.NewRequest(method, a.Base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	counter := billCounter(t, a, billingLakeside.ID)
	invoices := billCount(t, a, `select count(*) from invoices where clinic_id = $1 and patient_id = $2`, billingLakeside.ID, patient)
	payments := billCount(t, a, `select count(*) from payments where clinic_id = $1 and patient_id = $2`, billingLakeside.ID, patient)

	payPath := "/api/v1/invoices/" + inv.ID.String() + "/payments"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"malformed", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": [`, 400, ""},
		{"unknown field", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": [{"code": "EXAM", "quantity": 1}], "total_minor": 1}`, 400, ""},
		{"unknown line field", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": [{"code": "EXAM", "quantity": 1, "price_minor": 1}]}`, 400, ""},
		{"two objects", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": [{"code": "EXAM", "quantity": 1}]} {}`, 400, ""},
		{"quantity as string", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": [{"code": "EXAM", "quantity": "1"}]}`, 400, ""},
		{"fractional quantity", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": [{"code": "EXAM", "quantity": 1.5}]}`, 400, ""},
		{"negative quantity", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": [{"code": "EXAM", "quantity": -1}]}`, 422, "lines[0].quantity"},
		{"zero quantity", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": [{"code": "EXAM", "quantity": 0}]}`, 422, "lines[0].quantity"},
		{"huge quantity", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": [{"code": "EXAM", "quantity": 99999999999}]}`, 422, "lines[0].quantity"},
		{"unknown code", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": [{"code": "EXAM", "quantity": 1}, {"code": "NOPE", "quantity": 1}]}`, 422, "lines[1].code"},
		{"overlong code", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": [{"code": "` + strings.Repeat("X", 21) + `", "quantity": 1}]}`, 422, "lines[0].code"},
		{"no lines", "POST", "/api/v1/invoices", `{"patient_id": "` + pid + `", "lines": []}`, 422, "lines"},
		{"no patient", "POST", "/api/v1/invoices", `{"lines": [{"code": "EXAM", "quantity": 1}]}`, 422, "patient_id"},
		{"invalid patient uuid", "POST", "/api/v1/invoices", `{"patient_id": "not-a-uuid", "lines": [{"code": "EXAM", "quantity": 1}]}`, 400, ""},
		{"patient as number", "POST", "/api/v1/invoices", `{"patient_id": 5, "lines": [{"code": "EXAM", "quantity": 1}]}`, 400, ""},
		{"fractional money", "POST", payPath, `{"amount_minor": 10.5, "method": "cash"}`, 400, ""},
		{"money in major units", "POST", payPath, `{"amount_minor": 1e2, "method": "cash"}`, 400, ""},
		{"money as string", "POST", payPath, `{"amount_minor": "100", "method": "cash"}`, 400, ""},
		{"negative money", "POST", payPath, `{"amount_minor": -100, "method": "cash"}`, 422, "amount_minor"},
		{"zero money", "POST", payPath, `{"amount_minor": 0, "method": "cash"}`, 422, "amount_minor"},
		{"money overflow", "POST", payPath, `{"amount_minor": 9223372036854775808, "method": "cash"}`, 400, ""},
		{"unknown method", "POST", payPath, `{"amount_minor": 100, "method": "bitcoin"}`, 422, "method"},
		{"overlong method", "POST", payPath, `{"amount_minor": 100, "method": "` + strings.Repeat("c", 5000) + `"}`, 422, "method"},
		{"unknown payment field", "POST", payPath, `{"amount_minor": 100, "method": "cash", "currency": "GBP"}`, 400, ""},
		{"empty payment", "POST", payPath, ``, 400, ""},
		{"invalid invoice id", "POST", "/api/v1/invoices/not-a-uuid/payments", `{"amount_minor": 100, "method": "cash"}`, 404, ""},
		{"invalid patient filter", "GET", "/api/v1/invoices?patient_id=nope", "", 422, "patient_id"},
		{"invalid status filter", "GET", "/api/v1/invoices?status=owing", "", 422, "status"},
		{"forged cursor", "GET", "/api/v1/invoices?cursor=!!!", "", 422, "cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := raw(tc.method, tc.path, tc.body)
			billWant(t, tc.name, r, tc.status)
			var p struct {
				Status int    `json:"status"`
				Field  string `json:"field"`
			}
			r.JSON(t, &p)
			if p.Status != tc.status || p.Field != tc.field {
				t.Errorf("problem = %s; want status %d, field %q", r.Body, tc.status, tc.field)
			}
		})
	}
	if got := billCounter(t, a, billingLakeside.ID); got != counter {
		t.Errorf("invoice counter moved from %d to %d", counter, got)
	}
	if got := billCount(t, a, `select count(*) from invoices where clinic_id = $1 and patient_id = $2`, billingLakeside.ID, patient); got != invoices {
		t.Errorf("invoices %d, want %d", got, invoices)
	}
	if got := billCount(t, a, `select count(*) from payments where clinic_id = $1 and patient_id = $2`, billingLakeside.ID, patient); got != payments {
		t.Errorf("payments %d, want %d", got, payments)
	}
}

// TestBillingUnderImpersonation: a platform admin impersonating a clinic
// acts with the "support" role: reads and bills as an owner would, cannot
// prescribe, and reaches nothing of another clinic.
func TestBillingUnderImpersonation(t *testing.T) {
	a := startApp(t)
	admin := a.SignIn(t, seed.AdminEmail, tenancy.ID{})
	r := a.Do(t, "POST", "/api/v1/admin/impersonations", admin, map[string]any{"clinic_id": riverside.ID, "reason": "billing support test", "minutes": 5})
	if r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed {
		t.Skip("POST /api/v1/admin/impersonations is not served yet")
	}
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("impersonate: %d %s", r.Status, r.Body)
	}
	var grant struct {
		GrantID tenancy.ID `json:"grant_id"`
		Token   string     `json:"token"`
	}
	r.JSON(t, &grant)
	support := grant.Token
	defer a.Do(t, "DELETE", "/api/v1/admin/impersonations/"+grant.GrantID.String(), admin, nil)

	patient := billPatient(t, a, a.SignIn(t, seed.StaffEmail("frontdesk", riverside), tenancy.ID{}))
	inv := billCreate(t, a, support, patient, apptest.FeeLine("EXAM", 2))
	p := "/api/v1/invoices/" + inv.ID.String()
	billWant(t, "support issues", a.Do(t, "POST", p+"/issue", support, nil), 200)
	billWant(t, "support takes a payment", a.Do(t, "POST", p+"/payments", support, map[string]any{"amount_minor": 1, "method": "cash"}), 201)
	r = a.Do(t, "GET", p, support, nil)
	billWant(t, "support reads", r, 200)
	billCheckClinic(t, r.Body, riverside.ID)
	r = a.Do(t, "GET", "/api/v1/invoices", support, nil)
	billWant(t, "support lists", r, 200)
	billCheckClinic(t, r.Body, riverside.ID)
	billWant(t, "support reads prescriptions", a.Do(t, "GET", "/api/v1/prescriptions", support, nil), 200)
	billWant(t, "support prescribes", a.Do(t, "POST", "/api/v1/prescriptions", support, map[string]any{
		"patient_id": patient, "drug": "Ibuprofen", "strength": "400 mg", "form": "tablet", "directions": "x", "quantity": 1,
		"prescribed_on": time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly)}), 403)

	hill := a.SignIn(t, seed.StaffEmail("owner", hillcrest), tenancy.ID{})
	foreign := billCreate(t, a, hill, billPatient(t, a, hill), apptest.FeeLine("EXAM", 1))
	f := a.Do(t, "GET", "/api/v1/invoices/"+foreign.ID.String(), support, nil)
	m := a.Do(t, "GET", "/api/v1/invoices/"+tenancy.NewID().String(), support, nil)
	if f.Status != 404 || !bytes.Equal(f.Body, m.Body) {
		t.Errorf("support reading Hillcrest's invoice: %d %s; a missing one: %d %s", f.Status, f.Body, m.Status, m.Body)
	}
}
