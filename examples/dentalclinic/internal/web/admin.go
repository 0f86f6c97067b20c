package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/load"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/impersonation"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// impersonating admits a platform admin acting inside a clinic under an
// impersonation grant.
var impersonating = access.Impersonating

func (s *Server) adminRoutes() {
	s.handle("GET /admin", console, s.adminHome)
	s.handle("POST /admin/clinics", console, s.adminCreateClinic)
	s.handle("POST /admin/clinics/{id}/suspend", console, s.adminSuspend)
	s.handle("POST /admin/offboard", console, s.adminOffboard)
	s.handle("POST /admin/impersonate", console, s.adminImpersonate)
	s.handle("POST /impersonation/end", impersonating, s.endImpersonation)
}

type adminData struct {
	Clinics              []store.Clinic
	Activity             map[tenancy.ID]store.ClinicActivity
	Load                 *load.Report // nil: the app counts no load
	Offboardings         []store.Offboarding
	CanOffboard          bool
	OffboardClinic       string
	OffboardReason       string
	Name, Zone, Currency string
	Clinic, Reason       string
	Minutes              int
}

func (s *Server) adminPage(w http.ResponseWriter, r *http.Request, status int, v *view, d *adminData) {
	list, err := s.store.ListClinics(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Activity, err = s.store.ClinicActivities(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.load != nil {
		rep, err := s.load.Report(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Load = &rep
	}
	if d.Offboardings, err = s.store.Offboardings(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	d.CanOffboard = s.offboard != nil
	d.Clinics = list
	v.Data = d
	s.render(w, r, status, "admin", v)
}

// adminHome is the platform admin console: the clinic registry, a new
// clinic, suspension, and impersonation with a reason and a duration.
func (s *Server) adminHome(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Clinics")
	if !ok {
		return
	}
	s.adminPage(w, r, http.StatusOK, v, &adminData{Zone: "Europe/London", Currency: "GBP", Minutes: 30})
}

func (s *Server) adminCreateClinic(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Clinics")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	d := &adminData{Name: strings.TrimSpace(r.PostFormValue("name")), Zone: strings.TrimSpace(r.PostFormValue("time_zone")),
		Currency: strings.ToUpper(strings.TrimSpace(r.PostFormValue("currency"))), Minutes: 30}
	if _, err := s.store.CreateClinic(r.Context(), store.ClinicInput{Name: &d.Name, TimeZone: &d.Zone, Currency: &d.Currency}); err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			s.adminPage(w, r, status, v, d)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin?done=clinic", http.StatusSeeOther)
}

func (s *Server) adminSuspend(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if _, err := s.store.SuspendClinic(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.signin.ClinicSuspended(id)
	http.Redirect(w, r, "/admin?done=suspended", http.StatusSeeOther)
}

// adminImpersonate starts an audited impersonation: the admin's own
// session is kept aside in its own HttpOnly cookie, and the session cookie
// carries the short-lived impersonation token until it ends.
func (s *Server) adminImpersonate(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Clinics")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	d := &adminData{Clinic: r.PostFormValue("clinic"), Reason: strings.TrimSpace(r.PostFormValue("reason")), Zone: "Europe/London", Currency: "GBP"}
	d.Minutes, _ = strconv.Atoi(r.PostFormValue("minutes"))
	refuse := func(msg string) {
		v.Error = msg
		s.adminPage(w, r, http.StatusUnprocessableEntity, v, d)
	}
	id, err := tenancy.ParseID(d.Clinic)
	switch {
	case err != nil:
		refuse("Choose a clinic.")
		return
	case d.Reason == "":
		refuse("Say why you need to see this clinic: the reason is required, and its owner will read it.")
		return
	case d.Minutes < 1 || time.Duration(d.Minutes)*time.Minute > impersonation.MaxGrantDuration:
		refuse("The duration must be 1 to 60 minutes.")
		return
	}
	c, err := s.store.ClinicByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c.Status != "active" {
		refuse("This clinic is suspended; it cannot be impersonated.")
		return
	}
	_, token, err := s.imp.Start(r.Context(), c.ID, d.Reason, time.Duration(d.Minutes)*time.Minute)
	switch {
	case errors.Is(err, impersonation.ErrNoReason), errors.Is(err, audit.ErrInvalidEvent):
		refuse("The reason must be plain text of at most 500 bytes.")
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	own, _ := jwtctx.TokenFromContext(r.Context())
	if c := r.CookiesNamed(s.cookies.session); len(c) == 1 {
		s.setCookie(w, s.cookies.admin, c[0].Value, own.ExpiresAt)
	}
	if _, err := s.startSession(w, r, token); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/schedule", http.StatusSeeOther)
}

// endImpersonation ends the grant at once (its token is refused from now
// on), and gives the admin their own session back.
func (s *Server) endImpersonation(w http.ResponseWriter, r *http.Request) {
	tok, _ := jwtctx.TokenFromContext(r.Context())
	p := tok.Principal
	if p.Impersonation == nil {
		s.renderError(w, r, http.StatusForbidden, "There is no impersonation to end.")
		return
	}
	if _, err := s.imp.End(r.Context(), p.Tenant, p.Impersonation.GrantID); err != nil && !errors.Is(err, impersonation.ErrGrantEnded) {
		s.fail(w, r, err)
		return
	}
	if err := s.revoker.RevokeToken(r.Context(), tok.ID, tok.ExpiresAt); err != nil {
		s.fail(w, r, err)
		return
	}
	s.sessionEnded(w, r)
}

// adminOffboard suspends a clinic and starts its offboarding (its records
// exported, then erased, in the background), with a reason; the console
// lists it with its erasure record.
func (s *Server) adminOffboard(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Clinics")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	d := &adminData{OffboardClinic: r.PostFormValue("clinic"), OffboardReason: strings.TrimSpace(r.PostFormValue("reason")),
		Zone: "Europe/London", Currency: "GBP", Minutes: 30}
	id, err := tenancy.ParseID(d.OffboardClinic)
	if err != nil || s.offboard == nil {
		v.Error = "Choose the clinic to offboard."
		s.adminPage(w, r, http.StatusUnprocessableEntity, v, d)
		return
	}
	if _, err := s.offboard.Offboard(r.Context(), id, d.OffboardReason); err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			s.adminPage(w, r, status, v, d)
			return
		}
		s.fail(w, r, err)
		return
	}
	s.signin.ClinicSuspended(id)
	http.Redirect(w, r, "/admin?done=offboarding", http.StatusSeeOther)
}
