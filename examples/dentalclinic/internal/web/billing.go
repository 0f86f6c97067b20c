package web

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

func (s *Server) billingRoutes() {
	s.handle("GET /invoices", billingReaders, s.invoices)
	s.handle("GET /invoices/new", billingWriters, s.newInvoice)
	s.handle("POST /invoices", billingWriters, s.createInvoice)
	s.handle("GET /invoices/{id}", billingReaders, s.invoice)
	s.handle("POST /invoices/{id}/issue", billingWriters, s.issueInvoice)
	s.handle("POST /invoices/{id}/void", billingWriters, s.voidInvoice)
	s.handle("POST /invoices/{id}/payments", billingWriters, s.addPayment)
}

type invoicesData struct {
	Invoices []store.Invoice // each with its patient's name
	Status   string
	Patient  string // the patient search typed
	Statuses []string
	CanBill  bool
	// Next is the address of the next page ("" on the last), First that
	// of the first when this is a later page.
	Next, First string
}

// invoicePageSize is the number of invoices a page of the list shows.
const invoicePageSize = 50

func (s *Server) invoices(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Invoices")
	if !ok {
		return
	}
	q := r.URL.Query()
	d := invoicesData{Status: q.Get("status"), Patient: strings.TrimSpace(q.Get("patient")), Statuses: store.InvoiceStatuses, CanBill: can(r, billingWriters)}
	list, next, err := s.store.ListInvoices(r.Context(), store.InvoiceFilter{Status: d.Status, Patient: d.Patient, Cursor: q.Get("cursor"), Limit: invoicePageSize})
	if err != nil {
		if msg, status := formError(err); msg != "" {
			s.renderError(w, r, status, msg)
			return
		}
		s.fail(w, r, err)
		return
	}
	d.Invoices = list
	d.First, d.Next = pageLinks("/invoices", map[string]string{"status": d.Status, "patient": d.Patient}, q.Get("cursor"), next)
	v.Data = d
	s.render(w, r, http.StatusOK, "invoices", v)
}

type newInvoiceData struct {
	Patient string
	Picker  *patientPicker
	Names   *names
	Fees    []store.Fee
	Qty     map[string]int
}

func (s *Server) newInvoiceData(r *http.Request, patient string) (*newInvoiceData, error) {
	d := &newInvoiceData{Patient: patient, Qty: map[string]int{}}
	var err error
	if d.Names, err = s.loadNames(r.Context(), false); err != nil {
		return nil, err
	}
	if d.Picker, err = s.invoicePicker(r, patient); err != nil {
		return nil, err
	}
	if d.Fees, err = s.store.Fees(r.Context()); err != nil {
		return nil, err
	}
	return d, nil
}

// invoicePicker is the booking form's patient picker (active patients)
// for an invoice, which any patient may get (store.CreateInvoice does
// not ask the status): the search also offers inactive patients, and a
// patient chosen by id (the chart's "New invoice") is offered whatever
// their status, archived too, so that a last visit can be billed.
func (s *Server) invoicePicker(r *http.Request, selected string) (*patientPicker, error) {
	pk, err := s.patientPicker(r, "/invoices/new", selected)
	if err != nil {
		return nil, err
	}
	if id, err := tenancy.ParseID(selected); err == nil && !slices.ContainsFunc(pk.Choices, func(p store.Patient) bool { return p.ID == id }) {
		list, _, err := s.store.ListPatients(r.Context(), store.PatientFilter{ID: &id, Limit: 1})
		if err != nil {
			return nil, err
		}
		pk.Choices = append(list, pk.Choices...)
	}
	if pk.Query != "" {
		list, next, err := s.store.ListPatients(r.Context(), store.PatientFilter{Query: pk.Query, Status: "inactive", Limit: pickerSize})
		if err != nil {
			return nil, err
		}
		for _, p := range list {
			if p.ID.String() != selected {
				pk.Choices = append(pk.Choices, p)
			}
		}
		pk.More = pk.More || next != ""
	}
	return pk, nil
}

func (s *Server) newInvoice(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "New invoice")
	if !ok {
		return
	}
	d, err := s.newInvoiceData(r, r.URL.Query().Get("patient"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "invoice_new", v)
}

// createInvoice makes a draft invoice from fee-schedule codes and
// quantities (form fields "qty_<code>"); the store prices the lines.
func (s *Server) createInvoice(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "New invoice")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	d, err := s.newInvoiceData(r, r.PostFormValue("patient"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in := store.InvoiceInput{}
	if id := formID(r, "patient"); id != nil {
		in.PatientID = *id
	}
	for _, f := range d.Fees {
		q, _ := strconv.Atoi(r.PostFormValue("qty_" + f.Code))
		if q > 0 {
			d.Qty[f.Code] = q
			in.Lines = append(in.Lines, store.InvoiceLineInput{Code: f.Code, Quantity: q})
		}
	}
	inv, err := s.store.CreateInvoice(r.Context(), in)
	if err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error, v.Data = msg, d
			s.render(w, r, status, "invoice_new", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/invoices/"+inv.ID.String()+"?done=invoice", http.StatusSeeOther)
}

type invoiceData struct {
	Invoice     store.InvoiceDetail
	PatientName string
	CanBill     bool
	Methods     []string
}

func (s *Server) invoice(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Invoice")
	if !ok {
		return
	}
	s.showInvoice(w, r, v, id, http.StatusOK)
}

func (s *Server) showInvoice(w http.ResponseWriter, r *http.Request, v *view, id tenancy.ID, status int) {
	inv, err := s.store.Invoice(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.loadNames(r.Context(), true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = "Invoice " + strconv.Itoa(inv.Number)
	v.Data = invoiceData{Invoice: inv, PatientName: n.Patient(inv.PatientID), CanBill: can(r, billingWriters), Methods: store.PaymentMethods}
	s.render(w, r, status, "invoice", v)
}

// invoiceAction runs one change to an invoice and shows the invoice again,
// with the refusal in words when there is one.
func (s *Server) invoiceAction(w http.ResponseWriter, r *http.Request, done string, act func(id tenancy.ID) error) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Invoice")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	if err := act(id); err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			s.showInvoice(w, r, v, id, status)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/invoices/"+id.String()+"?done="+done, http.StatusSeeOther)
}

func (s *Server) issueInvoice(w http.ResponseWriter, r *http.Request) {
	s.invoiceAction(w, r, "issued", func(id tenancy.ID) error {
		_, err := s.store.IssueInvoice(r.Context(), id)
		return err
	})
}

func (s *Server) voidInvoice(w http.ResponseWriter, r *http.Request) {
	s.invoiceAction(w, r, "voided", func(id tenancy.ID) error {
		_, err := s.store.VoidInvoice(r.Context(), id)
		return err
	})
}

// addPayment records a payment; the amount is typed in major units
// ("12.50") and stored in minor units.
func (s *Server) addPayment(w http.ResponseWriter, r *http.Request) {
	s.invoiceAction(w, r, "paid", func(id tenancy.ID) error {
		minor, ok := parseMoney(r.PostFormValue("amount"))
		if !ok {
			return &store.Error{Kind: store.ErrInvalid, Code: "invalid", Field: "amount", Msg: "Type the amount as a number such as 45.00."}
		}
		_, err := s.store.AddPayment(r.Context(), id, store.PaymentInput{AmountMinor: minor, Method: r.PostFormValue("method")})
		return err
	})
}

// parseMoney reads "12", "12.5" or "12.50" as minor units of a
// two-decimal currency.
func parseMoney(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 || w > math.MaxInt64/100-1 {
		return 0, false
	}
	return w*100 + f, true
}
