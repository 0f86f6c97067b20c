package web

import (
	"net/http"
	"strconv"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// moneyRoutes are the papers of the money: a printable receipt per
// payment, a statement per patient, and the patient's own invoice in the
// portal. Each {id} is a record id of the kind its path names.
func (s *Server) moneyRoutes() {
	s.handle("GET /payments/{id}/receipt", billingReaders, s.receipt)     // a payment id
	s.handle("GET /patients/{id}/statement", billingReaders, s.statement) // a patient id
	s.handle("GET /portal/invoices/{id}", portalPatient, s.portalInvoice) // an invoice id, the patient's own
}

// receipt is the printable receipt of one payment: the clinic, the
// patient, the amount and method, and where the invoice stood after it.
func (s *Server) receipt(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Receipt")
	if !ok {
		return
	}
	rc, err := s.store.Receipt(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	address, err := s.clinicAddress(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = "Receipt for invoice " + strconv.Itoa(rc.Invoice.Number)
	v.Data = paperData[store.Receipt]{Of: rc, ClinicAddress: address}
	s.render(w, r, http.StatusOK, "receipt", v)
}

// statement is a patient's printable statement: invoices, payments, and
// the balance owed.
func (s *Server) statement(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Statement")
	if !ok {
		return
	}
	st, err := s.store.Statement(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	address, err := s.clinicAddress(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = "Statement for " + st.Patient.Name()
	v.Data = paperData[store.Statement]{Of: st, ClinicAddress: address}
	s.render(w, r, http.StatusOK, "statement", v)
}

// paperData is a printable page's record with the clinic's postal
// address (from its settings), which the paper's head prints under the
// clinic's name.
type paperData[T any] struct {
	Of            T
	ClinicAddress string
}

func (s *Server) clinicAddress(r *http.Request) (string, error) {
	st, err := s.store.Settings(r.Context())
	return st.Address, err
}

// portalInvoice shows the patient one of their own invoices with its
// lines and payments. Anyone else's invoice, at this clinic or another,
// is the same 404 as a missing one (store.PortalInvoice).
func (s *Server) portalInvoice(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Your invoice")
	if !ok {
		return
	}
	inv, err := s.store.PortalInvoice(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = "Invoice " + strconv.Itoa(inv.Number)
	v.Data = inv
	s.render(w, r, http.StatusOK, "portal_invoice", v)
}
