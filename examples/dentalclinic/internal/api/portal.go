package api

import (
	"net/http"
	"strconv"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/signin"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

var (
	// portalPatient admits only a patient's portal session: no staff, no
	// platform admin, impersonating or not.
	portalPatient = access.PortalPatient
	// portalInviters are the staff who hand out portal invite codes. An
	// impersonating admin ("support") may not: a portal account made from
	// such a code would outlive the grant.
	portalInviters = access.PortalInviters
)

// portalRoutes registers the routes of the patient portal.
func (s *Server) portalRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodPost, v1+"/patients/{id}/portal-invite", portalInviters, noBody(s.portalInvite))
	s.handle(auth, http.MethodPost, v1+"/portal/enrol", publicRoute, s.portalEnrol)
	s.handle(auth, http.MethodPost, v1+"/portal/login", publicRoute, s.portalLogin)
	s.handle(auth, http.MethodGet, v1+"/portal/me", portalPatient, s.portalMe)
	s.handle(auth, http.MethodPatch, v1+"/portal/me", portalPatient, s.portalUpdateMe)
	s.handle(auth, http.MethodGet, v1+"/portal/appointments", portalPatient, s.portalAppointments)
	s.handle(auth, http.MethodGet, v1+"/portal/appointments/{id}", portalPatient, s.portalAppointment)
	s.handle(auth, http.MethodPost, v1+"/portal/appointments/{id}/cancel", portalPatient, noBody(s.portalCancelAppointment))
	s.handle(auth, http.MethodPost, v1+"/portal/appointments/{id}/move-request", portalPatient, s.portalRequestMove)
	s.handle(auth, http.MethodPost, v1+"/portal/appointment-requests", portalPatient, s.portalRequestAppointment)
	s.handle(auth, http.MethodGet, v1+"/portal/appointment-requests", portalPatient, s.portalRequests)
	s.handle(auth, http.MethodGet, v1+"/portal/appointment-requests/{id}", portalPatient, s.portalRequest)
	s.handle(auth, http.MethodGet, v1+"/portal/invoices", portalPatient, s.portalInvoices)
	s.handle(auth, http.MethodGet, v1+"/portal/invoices/{id}", portalPatient, s.portalInvoice)
	s.handle(auth, http.MethodGet, v1+"/portal/prescriptions", portalPatient, s.portalPrescriptions)
}

// portalInvite issues an invite code for a patient of the caller's
// clinic. The code is in this response only; the server keeps its hash.
func (s *Server) portalInvite(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	inv, err := s.store.CreatePortalInvite(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, inv)
}

type portalEnrolRequest struct {
	Code     string `json:"code"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// portalEnrol turns an invite code into a portal account at the code's
// clinic. Attempts are rate-limited per address, like sign-in.
func (s *Server) portalEnrol(w http.ResponseWriter, r *http.Request) {
	var req portalEnrolRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Code == "" || req.Email == "" || req.Password == "" {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Detail: "code, email and password are required."})
		return
	}
	if err := s.signin.AllowEnrol(signin.ClientIP(r)); err != nil {
		s.signInFailed(w, r, err)
		return
	}
	out, err := s.store.EnrolPortal(r.Context(), req.Code, req.Email, req.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// portalLogin signs a patient in to one clinic's portal, by staff
// sign-in's rules (the same service, the same rate limit).
func (s *Server) portalLogin(w http.ResponseWriter, r *http.Request) { s.signIn(w, r, true) }

func (s *Server) portalMe(w http.ResponseWriter, r *http.Request) {
	p, err := s.store.PortalMe(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) portalUpdateMe(w http.ResponseWriter, r *http.Request) {
	var in store.PortalContact
	if !decode(w, r, &in) {
		return
	}
	p, err := s.store.UpdatePortalMe(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func portalPageOf(r *http.Request) store.PortalPage {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	return store.PortalPage{Cursor: q.Get("cursor"), Limit: limit}
}

func (s *Server) portalAppointments(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.store.PortalAppointments(r.Context(), portalPageOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, next))
}

func (s *Server) portalAppointment(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	a, err := s.store.PortalAppointment(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) portalRequestAppointment(w http.ResponseWriter, r *http.Request) {
	var in store.AppointmentRequest
	if !decode(w, r, &in) {
		return
	}
	q, err := s.store.RequestAppointment(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", v1+"/portal/appointment-requests/"+q.ID.String())
	writeJSON(w, http.StatusCreated, q)
}

// portalRequestMove asks for one of the patient's appointments at
// another time; the request waits for the clinic.
func (s *Server) portalRequestMove(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in store.MoveRequest
	if !decode(w, r, &in) {
		return
	}
	q, err := s.store.RequestMove(r.Context(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", v1+"/portal/appointment-requests/"+q.ID.String())
	writeJSON(w, http.StatusCreated, q)
}

// portalCancelAppointment cancels one of the patient's appointments, at
// once, within the clinic's notice rule.
func (s *Server) portalCancelAppointment(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	a, err := s.store.CancelOwnAppointment(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) portalRequests(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.store.PortalRequests(r.Context(), portalPageOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, next))
}

func (s *Server) portalRequest(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	q, err := s.store.PortalRequest(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}

func (s *Server) portalInvoices(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.store.PortalInvoices(r.Context(), portalPageOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, next))
}

func (s *Server) portalInvoice(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	v, err := s.store.PortalInvoice(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) portalPrescriptions(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.store.PortalPrescriptions(r.Context(), portalPageOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, next))
}
