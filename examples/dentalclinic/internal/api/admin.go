package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/impersonation"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// platformConsole admits only a platform admin's own session (a session
// token, no tenant): an admin impersonating a clinic carries the same
// kind, and the impersonation token must never reach the console
// (access.Allow.Console).
var platformConsole = access.PlatformConsole

// adminRoutes registers the routes of the platform admin console and impersonation.
//
// Any platform admin may end any impersonation grant, not only the admin
// who started it: ending is the safe direction (it only takes access
// away), and another admin must be able to cut off a grant whose holder
// is away or whose laptop is lost. The end names who ended it in the
// clinic's audit chain.
func (s *Server) adminRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodGet, v1+"/admin/clinics", platformConsole, s.adminListClinics)
	s.handle(auth, http.MethodPost, v1+"/admin/clinics", platformConsole, s.adminCreateClinic)
	s.handle(auth, http.MethodPost, v1+"/admin/clinics/{id}/suspend", platformConsole, noBody(s.adminSuspendClinic))
	s.handle(auth, http.MethodPost, v1+"/admin/clinics/{id}/offboard", platformConsole, s.adminOffboardClinic)
	s.handle(auth, http.MethodGet, v1+"/admin/offboardings", platformConsole, s.adminListOffboardings)
	s.handle(auth, http.MethodPost, v1+"/admin/impersonations", platformConsole, s.adminStartImpersonation)
	s.handle(auth, http.MethodDelete, v1+"/admin/impersonations/{id}", platformConsole, noBody(s.adminEndImpersonation))
}

// adminFail maps the console's own errors, then the store's.
func (s *Server) adminFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotPlatformAdmin), errors.Is(err, impersonation.ErrNotAdmin):
		forbidden(w)
	case errors.Is(err, impersonation.ErrNoReason), errors.Is(err, audit.ErrInvalidEvent):
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "reason",
			Detail: "reason must say why, in at most 500 bytes of plain text."})
	case errors.Is(err, impersonation.ErrDuration):
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "minutes", Detail: "minutes must be 1 to 60."})
	case errors.Is(err, impersonation.ErrGrantNotFound):
		notFound(w)
	case errors.Is(err, impersonation.ErrGrantEnded):
		writeProblem(w, Problem{Status: http.StatusConflict, Code: "already_ended", Detail: "This impersonation has already ended."})
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) adminListClinics(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListClinics(r.Context())
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, ""))
}

func (s *Server) adminCreateClinic(w http.ResponseWriter, r *http.Request) {
	var in store.ClinicInput
	if !decode(w, r, &in) {
		return
	}
	c, err := s.store.CreateClinic(r.Context(), in)
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) adminSuspendClinic(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	c, err := s.store.SuspendClinic(r.Context(), id)
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	s.signin.ClinicSuspended(id)
	writeJSON(w, http.StatusOK, c)
}

// offboardRequest is the body of POST /admin/clinics/{id}/offboard.
type offboardRequest struct {
	Reason string `json:"reason"`
}

// adminOffboardClinic suspends the clinic and starts its offboarding (its
// records exported, then erased): 202 with the offboarding's record, to be
// followed in GET /admin/offboardings.
func (s *Server) adminOffboardClinic(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in offboardRequest
	if !decode(w, r, &in) {
		return
	}
	if s.offboard == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: "not_configured", Detail: "This server cannot offboard clinics."})
		return
	}
	ob, err := s.offboard.Offboard(r.Context(), id, in.Reason)
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	s.signin.ClinicSuspended(id)
	writeJSON(w, http.StatusAccepted, ob)
}

func (s *Server) adminListOffboardings(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.Offboardings(r.Context())
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[store.Offboarding]{Items: list})
}

type impersonationRequest struct {
	ClinicID *tenancy.ID `json:"clinic_id"`
	Reason   string      `json:"reason"`
	Minutes  int         `json:"minutes"`
}

type impersonationResponse struct {
	GrantID   tenancy.ID `json:"grant_id"`
	ClinicID  tenancy.ID `json:"clinic_id"`
	Token     string     `json:"token"`
	ExpiresAt time.Time  `json:"expires_at"`
}

// adminStartImpersonation starts an audited impersonation of an active
// clinic: 404 for an unknown clinic, 422 for a suspended one, a missing
// reason or minutes outside 1..60.
func (s *Server) adminStartImpersonation(w http.ResponseWriter, r *http.Request) {
	var req impersonationRequest
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.ClinicID == nil || req.ClinicID.IsZero():
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "clinic_id", Detail: "clinic_id is required."})
		return
	case strings.TrimSpace(req.Reason) == "":
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "reason", Detail: "reason is required: say why."})
		return
	case len(req.Reason) > audit.MaxReasonLen || strings.ContainsFunc(req.Reason, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }):
		// Checked here, before the clinic lookup writes its own audit
		// record, as impersonation.Grants.Start would refuse it after.
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "reason",
			Detail: "reason must be at most " + strconv.Itoa(audit.MaxReasonLen) + " bytes of printable text."})
		return
	case req.Minutes < 1 || req.Minutes > int(impersonation.MaxGrantDuration/time.Minute):
		// Compared in minutes: a huge count multiplied into a Duration
		// would overflow and pass.
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "minutes", Detail: "minutes must be 1 to 60."})
		return
	}
	c, err := s.store.ClinicByID(r.Context(), *req.ClinicID)
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	if c.Status != "active" {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "clinic_suspended", Field: "clinic_id",
			Detail: "This clinic is suspended; it cannot be impersonated."})
		return
	}
	g, token, err := s.imp.Start(r.Context(), c.ID, req.Reason, time.Duration(req.Minutes)*time.Minute)
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, impersonationResponse{GrantID: g.ID, ClinicID: g.Tenant, Token: token, ExpiresAt: g.ExpiresAt.UTC()})
}

type impersonationEnded struct {
	GrantID   tenancy.ID `json:"grant_id"`
	ClinicID  tenancy.ID `json:"clinic_id"`
	AdminID   tenancy.ID `json:"admin_id"`
	ExpiresAt time.Time  `json:"expires_at"`
	EndedAt   time.Time  `json:"ended_at"`
	EndedBy   tenancy.ID `json:"ended_by"`
}

// adminEndImpersonation ends a grant at once: its token is refused from
// now on. 404 for an unknown grant, 409 for one already ended.
func (s *Server) adminEndImpersonation(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	g, err := s.store.ImpersonationGrant(r.Context(), id)
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	ended, err := s.imp.End(r.Context(), g.ClinicID, g.ID)
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, impersonationEnded{GrantID: ended.ID, ClinicID: ended.Tenant, AdminID: ended.Admin,
		ExpiresAt: ended.ExpiresAt.UTC(), EndedAt: ended.EndedAt.UTC(), EndedBy: ended.EndedBy})
}
