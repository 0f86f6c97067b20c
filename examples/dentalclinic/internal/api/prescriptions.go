package api

import (
	"net/http"
	"strconv"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// Who may see and write prescriptions. Clinical staff, and an
// impersonating platform admin, read them; only a dentist signed in as
// staff writes or voids one (support is not a dentist, and billing staff
// do not see them at all).
var (
	prescriptionReaders = clinical
	prescribers         = access.Prescribers
)

// prescriptionRoutes registers the routes of prescriptions (dentists only).
func (s *Server) prescriptionRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodGet, v1+"/prescriptions", prescriptionReaders, s.listPrescriptions)
	s.handle(auth, http.MethodPost, v1+"/prescriptions", prescribers, s.createPrescription)
	s.handle(auth, http.MethodGet, v1+"/prescriptions/{id}", prescriptionReaders, s.getPrescription)
	s.handle(auth, http.MethodPost, v1+"/prescriptions/{id}/void", prescribers, s.voidPrescription)
}

func (s *Server) listPrescriptions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	patient, ok := optionalIDParam(w, r, "patient_id")
	if !ok {
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	list, next, err := s.store.ListPrescriptions(r.Context(), store.PrescriptionFilter{PatientID: patient, Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, next))
}

func (s *Server) getPrescription(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	rx, err := s.store.Prescription(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rx)
}

func (s *Server) createPrescription(w http.ResponseWriter, r *http.Request) {
	var in store.PrescriptionInput
	if !decode(w, r, &in) {
		return
	}
	rx, err := s.store.CreatePrescription(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", v1+"/prescriptions/"+rx.ID.String())
	writeJSON(w, http.StatusCreated, rx)
}

type prescriptionVoid struct {
	Reason string `json:"reason"`
}

func (s *Server) voidPrescription(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in prescriptionVoid
	if !decode(w, r, &in) {
		return
	}
	rx, err := s.store.VoidPrescription(r.Context(), id, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rx)
}
