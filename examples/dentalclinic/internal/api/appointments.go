package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// Who may touch appointments. Every staff role reads the schedule
// (billing needs it to invoice). Booking and moving appointments is the
// front desk's, the dentists' and the owner's; hygienists also change an
// appointment's status and note during the day (arrived, completed), and
// nothing else (checked in updateAppointment). An impersonating platform
// admin ("support") acts as an owner would.
var (
	booking      = access.Booking
	apptUpdating = access.ApptUpdating
)

// appointmentRoutes registers the routes of appointments: the schedule by chair, booking, status changes.
func (s *Server) appointmentRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodGet, v1+"/appointments", anyStaff, s.listAppointments)
	s.handle(auth, http.MethodPost, v1+"/appointments", booking, s.createAppointment)
	s.handle(auth, http.MethodGet, v1+"/appointments/{id}", anyStaff, s.getAppointment)
	s.handle(auth, http.MethodPatch, v1+"/appointments/{id}", apptUpdating, s.updateAppointment)
}

// listAppointments answers GET /appointments?from=&to=&patient_id=&operatory_id=&dentist_id=&status=&cursor=&limit=.
// from and to are RFC 3339 instants bounding the start (from <= start < to).
func (s *Server) listAppointments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.AppointmentFilter{Cursor: q.Get("cursor"), Status: q.Get("status")}
	for _, t := range []struct {
		name string
		dst  **time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				badRequest(w, "bad_query", t.name+" is not an RFC 3339 time such as 2026-11-25T09:00:00Z.")
				return
			}
			*t.dst = &tm
		}
	}
	for _, p := range []struct {
		name string
		dst  **tenancy.ID
	}{{"patient_id", &f.PatientID}, {"operatory_id", &f.OperatoryID}, {"dentist_id", &f.DentistID}} {
		if v := q.Get(p.name); v != "" {
			id, err := tenancy.ParseID(v)
			if err != nil {
				badRequest(w, "bad_query", p.name+" is not an id.")
				return
			}
			*p.dst = &id
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			badRequest(w, "bad_query", "limit is a positive whole number.")
			return
		}
		f.Limit = n
	}
	list, next, err := s.store.ListAppointments(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, next))
}

func (s *Server) getAppointment(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	a, err := s.store.Appointment(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) createAppointment(w http.ResponseWriter, r *http.Request) {
	var in store.AppointmentInput
	if !decode(w, r, &in) {
		return
	}
	a, err := s.store.CreateAppointment(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", v1+"/appointments/"+a.ID.String())
	writeJSON(w, http.StatusCreated, a)
}

func (s *Server) updateAppointment(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in store.AppointmentInput
	if !decode(w, r, &in) {
		return
	}
	if !in.OnlyStatusOrNote() && !mayAllow(r, booking) {
		writeProblem(w, Problem{Status: http.StatusForbidden, Code: "forbidden",
			Detail: "Your role may change an appointment's status and note only."})
		return
	}
	a, err := s.store.UpdateAppointment(r.Context(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// mayAllow reports whether the request's principal holds one of allow's
// roles (its kind was checked by the route's own Allow).
func mayAllow(r *http.Request, allow Allow) bool {
	p, ok := tenancy.FromContext(r.Context())
	if !ok {
		return false
	}
	for _, role := range allow.Roles {
		if p.HasRole(role) {
			return true
		}
	}
	return false
}
