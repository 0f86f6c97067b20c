package api

import (
	"net/http"
	"strconv"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// Who may bill. The owner and billing staff read and write invoices and
// payments; the front desk reads them (to tell a patient what is owed). An
// impersonating platform admin ("support") reads and acts as an owner would.
var (
	billingReaders = access.BillingReaders
	billingWriters = access.BillingWriters
)

// billingRoutes registers the routes of invoices and payments.
func (s *Server) billingRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodGet, v1+"/invoices", billingReaders, s.listInvoices)
	s.handle(auth, http.MethodPost, v1+"/invoices", billingWriters, s.createInvoice)
	s.handle(auth, http.MethodGet, v1+"/invoices/{id}", billingReaders, s.getInvoice)
	s.handle(auth, http.MethodPost, v1+"/invoices/{id}/issue", billingWriters, noBody(s.issueInvoice))
	s.handle(auth, http.MethodPost, v1+"/invoices/{id}/void", billingWriters, noBody(s.voidInvoice))
	s.handle(auth, http.MethodPost, v1+"/invoices/{id}/payments", billingWriters, s.addPayment)
}

// optionalIDParam parses an optional id from the query string; a malformed one
// answers 422 naming the parameter.
func optionalIDParam(w http.ResponseWriter, r *http.Request, name string) (tenancy.ID, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return tenancy.ID{}, true
	}
	id, err := tenancy.ParseID(v)
	if err != nil {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: name, Detail: name + " is not a valid id."})
		return tenancy.ID{}, false
	}
	return id, true
}

func (s *Server) listInvoices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	patient, ok := optionalIDParam(w, r, "patient_id")
	if !ok {
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	list, next, err := s.store.ListInvoices(r.Context(), store.InvoiceFilter{
		PatientID: patient, Status: q.Get("status"), Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, next))
}

func (s *Server) getInvoice(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	inv, err := s.store.Invoice(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, inv)
}

func (s *Server) createInvoice(w http.ResponseWriter, r *http.Request) {
	var in store.InvoiceInput
	if !decode(w, r, &in) {
		return
	}
	inv, err := s.store.CreateInvoice(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", v1+"/invoices/"+inv.ID.String())
	writeJSON(w, http.StatusCreated, inv)
}

func (s *Server) issueInvoice(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	inv, err := s.store.IssueInvoice(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, inv)
}

func (s *Server) voidInvoice(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	inv, err := s.store.VoidInvoice(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, inv)
}

// addPayment records a payment and answers 201 with the invoice, whose
// payments list holds the new payment and whose balance reflects it.
func (s *Server) addPayment(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in store.PaymentInput
	if !decode(w, r, &in) {
		return
	}
	inv, err := s.store.AddPayment(r.Context(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", v1+"/invoices/"+inv.ID.String())
	writeJSON(w, http.StatusCreated, inv)
}
