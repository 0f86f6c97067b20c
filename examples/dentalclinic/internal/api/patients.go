package api

import (
	"net/http"
	"strconv"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

func (s *Server) patientRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodGet, v1+"/patients", anyStaff, s.listPatients)
	s.handle(auth, http.MethodPost, v1+"/patients", clinical, s.createPatient)
	s.handle(auth, http.MethodGet, v1+"/patients/{id}", anyStaff, s.getPatient)
	s.handle(auth, http.MethodPatch, v1+"/patients/{id}", clinical, s.updatePatient)
}

func (s *Server) listPatients(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	list, next, err := s.store.ListPatients(r.Context(), store.PatientFilter{
		Query: q.Get("q"), NamePrefix: q.Get("name_prefix"), Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, next))
}

func (s *Server) getPatient(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	p, err := s.store.Patient(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) createPatient(w http.ResponseWriter, r *http.Request) {
	var in store.PatientInput
	if !decode(w, r, &in) {
		return
	}
	p, err := s.store.CreatePatient(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/patients/"+p.ID.String())
	writeJSON(w, http.StatusCreated, p)
}

func (s *Server) updatePatient(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in store.PatientInput
	if !decode(w, r, &in) {
		return
	}
	p, err := s.store.UpdatePatient(r.Context(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
