package api

import (
	"net/http"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// clinicAdmin admits the clinic's owners, and an impersonating platform
// admin ("support"), who acts as an owner would. Every staff role may read
// the settings, chairs, fee schedule and staff list (anyStaff); only these
// may change them.
var clinicAdmin = access.ClinicAdmin

// settingsRoutes registers the routes of clinic settings, operatories, staff, the owner's audit log.
func (s *Server) settingsRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodGet, v1+"/settings", anyStaff, s.getSettings)
	s.handle(auth, http.MethodPut, v1+"/settings", clinicAdmin, s.putSettings)
	s.handle(auth, http.MethodGet, v1+"/fee-schedule", anyStaff, s.getFees)
	s.handle(auth, http.MethodPut, v1+"/fee-schedule", clinicAdmin, s.putFees)
	s.handle(auth, http.MethodGet, v1+"/operatories", anyStaff, s.listOperatories)
	s.handle(auth, http.MethodPost, v1+"/operatories", clinicAdmin, s.createOperatory)
	s.handle(auth, http.MethodPatch, v1+"/operatories/{id}", clinicAdmin, s.updateOperatory)
	s.handle(auth, http.MethodGet, v1+"/staff", anyStaff, s.listStaff)
	s.handle(auth, http.MethodPost, v1+"/staff", clinicAdmin, s.createStaff)
	s.handle(auth, http.MethodPatch, v1+"/staff/{id}", clinicAdmin, s.updateStaff)
	s.handle(auth, http.MethodGet, v1+"/settings/exports", clinicOwner, s.listExports)
	s.handle(auth, http.MethodPost, v1+"/settings/exports", clinicOwner, noBody(s.requestExport))
	s.handle(auth, http.MethodGet, v1+"/settings/exports/{id}/archive", clinicOwner, s.downloadExport)
}

// clinicOwner admits the clinic's owners only: an export holds every
// record of the clinic, and an impersonating platform admin may not take
// one.
var clinicOwner = access.Owner

func (s *Server) listExports(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.Exports(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[store.Export]{Items: list})
}

// requestExport asks for an export of the clinic's records, made in the
// background: 202 with the export, to be downloaded once ready.
func (s *Server) requestExport(w http.ResponseWriter, r *http.Request) {
	e, err := s.store.RequestExport(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, e)
}

// downloadExport streams a ready export's archive, a gzipped tar.
func (s *Server) downloadExport(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	cw := &committedWriter{ResponseWriter: w, header: func(h http.Header) {
		h.Set("Content-Type", "application/gzip")
		h.Set("Content-Disposition", `attachment; filename="clinic-export-`+id.String()+`.tar.gz"`)
		h.Set("Cache-Control", "no-store")
	}}
	if err := s.store.WriteExportArchive(r.Context(), id, cw); err != nil {
		if cw.wrote {
			// The archive was under way: the client sees a truncated
			// gzip stream, which it cannot mistake for a whole one.
			s.log.ErrorContext(r.Context(), "export download failed", "err", err, "request_id", requestID(r))
			return
		}
		s.fail(w, r, err)
	}
}

// committedWriter sets its headers at the first write, so that an error
// before any byte of the body still gets a problem answer.
type committedWriter struct {
	http.ResponseWriter
	header func(http.Header)
	wrote  bool
}

func (c *committedWriter) Write(b []byte) (int, error) {
	if !c.wrote {
		c.wrote = true
		c.header(c.ResponseWriter.Header())
		c.ResponseWriter.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.store.Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// putSettings changes the fields it is given and keeps the others; the
// clinic's name is the platform's and is not among them.
func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) {
	var in store.SettingsInput
	if !decode(w, r, &in) {
		return
	}
	st, err := s.store.UpdateSettings(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// feeSchedule is the body of PUT /fee-schedule: the whole new schedule.
type feeSchedule struct {
	Items []store.FeeInput `json:"items"`
}

func (s *Server) getFees(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.Fees(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, ""))
}

func (s *Server) putFees(w http.ResponseWriter, r *http.Request) {
	var in feeSchedule
	if !decode(w, r, &in) {
		return
	}
	if in.Items == nil {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "items",
			Detail: "items is required (an empty list clears the schedule)."})
		return
	}
	list, err := s.store.ReplaceFees(r.Context(), in.Items)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, ""))
}

func (s *Server) listOperatories(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListOperatories(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, ""))
}

func (s *Server) createOperatory(w http.ResponseWriter, r *http.Request) {
	var in store.OperatoryInput
	if !decode(w, r, &in) {
		return
	}
	o, err := s.store.CreateOperatory(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", v1+"/operatories/"+o.ID.String())
	writeJSON(w, http.StatusCreated, o)
}

func (s *Server) updateOperatory(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in store.OperatoryInput
	if !decode(w, r, &in) {
		return
	}
	o, err := s.store.UpdateOperatory(r.Context(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) listStaff(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListStaff(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, ""))
}

func (s *Server) createStaff(w http.ResponseWriter, r *http.Request) {
	var in store.StaffInput
	if !decode(w, r, &in) {
		return
	}
	m, err := s.store.CreateStaff(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) updateStaff(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in store.StaffUpdate
	if !decode(w, r, &in) {
		return
	}
	m, err := s.store.UpdateStaff(r.Context(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}
