package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

func (s *Server) portalRoutes() {
	s.handle("GET /portal", portalPatient, s.portalHome)
	s.handle("GET /portal/request", portalPatient, s.portalRequestPage)
	s.handle("POST /portal/request", portalPatient, s.portalRequest)
	s.handle("GET /portal/appointments/{id}/cancel", portalPatient, s.portalCancelPage)
	s.handle("POST /portal/appointments/{id}/cancel", portalPatient, s.portalCancel)
	s.handle("GET /portal/appointments/{id}/move", portalPatient, s.portalMovePage)
	s.handle("POST /portal/appointments/{id}/move", portalPatient, s.portalMove)
	s.handle("GET /portal/invoices", portalPatient, s.portalInvoices)
	s.handle("GET /portal/prescriptions", portalPatient, s.portalPrescriptions)
	s.handle("GET /portal/contact", portalPatient, s.portalContact)
	s.handle("POST /portal/contact", portalPatient, s.portalUpdateContact)
}

// portalAll reads every page of a portal list.
func portalAll[T any](ctx context.Context, list func(context.Context, store.PortalPage) ([]T, string, error)) ([]T, error) {
	var all []T
	cursor := ""
	for {
		items, next, err := list(ctx, store.PortalPage{Cursor: cursor, Limit: 200})
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}

type portalHomeData struct {
	Patient  store.Patient
	Upcoming []store.PortalAppointment
	Past     []store.PortalAppointment
	Requests []store.Request
	// Moving marks the appointments with a move request waiting.
	Moving map[string]bool
	// NoticeHours is the clinic's cancellation notice.
	NoticeHours int
}

// portalHome shows the patient's upcoming and past appointments at the
// clinic of their session, and nothing of any other clinic.
func (s *Server) portalHome(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Your appointments")
	if !ok {
		return
	}
	me, err := s.store.PortalMe(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := portalAll(r.Context(), s.store.PortalAppointments)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reqs, _, err := s.store.PortalRequests(r.Context(), store.PortalPage{Limit: 20})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.store.Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := portalHomeData{Patient: me, Requests: reqs, Moving: map[string]bool{}, NoticeHours: st.CancelNoticeHours}
	for _, q := range reqs {
		if q.Kind == store.RequestMove && q.Status == store.RequestRequested && q.AppointmentID != nil {
			d.Moving[q.AppointmentID.String()] = true
		}
	}
	now := s.now()
	for _, a := range list {
		if a.EndsAt.After(now) && a.Status != store.StatusCancelled && a.Status != store.StatusNoShow && a.Status != store.StatusCompleted {
			d.Upcoming = append(d.Upcoming, a)
		} else {
			d.Past = append([]store.PortalAppointment{a}, d.Past...)
		}
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "portal", v)
}

type portalRequestData struct {
	Date, Time, Type string
	Duration         int
	Times            []string
	Types            []string
	MinDate          string
	TimeZone         string
}

func (s *Server) portalRequestData(v *view) *portalRequestData {
	loc := v.Session.loc
	tomorrow := s.now().In(loc).AddDate(0, 0, 1)
	d := &portalRequestData{Date: tomorrow.Format(time.DateOnly), Time: "09:00", Type: "Check-up", Duration: 30,
		MinDate: tomorrow.Format(time.DateOnly), TimeZone: v.Session.TimeZone,
		Types: []string{"Check-up", "Hygiene", "Consultation"}}
	for m := 8 * 60; m < 18*60; m += 30 {
		d.Times = append(d.Times, time.Date(2000, 1, 1, m/60, m%60, 0, 0, time.UTC).Format("15:04"))
	}
	return d
}

func (s *Server) portalRequestPage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Request an appointment")
	if !ok {
		return
	}
	v.Data = s.portalRequestData(v)
	s.render(w, r, http.StatusOK, "portal_request", v)
}

// portalRequest asks for an appointment at a time the clinic is open and a
// chair is free; the clinic confirms it.
func (s *Server) portalRequest(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Request an appointment")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	d := s.portalRequestData(v)
	d.Date, d.Time, d.Type = r.PostFormValue("date"), r.PostFormValue("time"), strings.TrimSpace(r.PostFormValue("type"))
	d.Duration, _ = strconv.Atoi(r.PostFormValue("duration"))
	v.Data = d
	start, err := time.ParseInLocation("2006-01-02 15:04", d.Date+" "+d.Time, v.Session.loc)
	if err != nil {
		v.Error = "Choose a date and a time."
		s.render(w, r, http.StatusUnprocessableEntity, "portal_request", v)
		return
	}
	if _, err := s.store.RequestAppointment(r.Context(), store.AppointmentRequest{StartsAt: &start, DurationMin: &d.Duration, Type: &d.Type}); err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			s.render(w, r, status, "portal_request", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal?done=requested", http.StatusSeeOther)
}

type portalInvoicesData struct {
	Invoices []store.PortalInvoice
	Balance  int64
	Currency string
}

func (s *Server) portalInvoices(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Your invoices")
	if !ok {
		return
	}
	list, err := portalAll(r.Context(), s.store.PortalInvoices)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := portalInvoicesData{Invoices: list, Currency: v.Session.Currency}
	for _, inv := range list {
		if inv.Status != "void" {
			d.Balance += inv.BalanceMinor
		}
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "portal_invoices", v)
}

func (s *Server) portalPrescriptions(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Your prescriptions")
	if !ok {
		return
	}
	list, err := portalAll(r.Context(), s.store.PortalPrescriptions)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Data = list
	s.render(w, r, http.StatusOK, "portal_prescriptions", v)
}

func (s *Server) portalContact(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Your contact details")
	if !ok {
		return
	}
	me, err := s.store.PortalMe(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Data = me
	s.render(w, r, http.StatusOK, "portal_contact", v)
}

func (s *Server) portalUpdateContact(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Your contact details")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	phone, email, addr := strings.TrimSpace(r.PostFormValue("phone")), strings.TrimSpace(r.PostFormValue("email")), strings.TrimSpace(r.PostFormValue("address"))
	if _, err := s.store.UpdatePortalMe(r.Context(), store.PortalContact{Phone: &phone, Email: &email, Address: &addr}); err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			v.Data = store.Patient{Phone: phone, Email: email, Address: addr}
			s.render(w, r, status, "portal_contact", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal/contact?done=contact", http.StatusSeeOther)
}

// portalChangeable reports whether the portal offers to cancel or move a:
// scheduled or confirmed, and ahead. The store decides (the notice too).
func portalChangeable(a store.PortalAppointment, now time.Time) bool {
	return (a.Status == store.StatusScheduled || a.Status == store.StatusConfirmed) && a.StartsAt.After(now)
}

type portalCancelData struct {
	Appointment store.PortalAppointment
	NoticeHours int
}

// portalOwn reads the patient's own appointment of the path for a cancel
// or move page: another patient's is the same 404 as a missing one.
func (s *Server) portalOwn(w http.ResponseWriter, r *http.Request) (store.PortalAppointment, int, bool) {
	id, ok := s.pathID(w, r)
	if !ok {
		return store.PortalAppointment{}, 0, false
	}
	a, err := s.store.PortalAppointment(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return a, 0, false
	}
	st, err := s.store.Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return a, 0, false
	}
	return a, st.CancelNoticeHours, true
}

// portalCancelPage asks the patient to confirm a cancellation.
func (s *Server) portalCancelPage(w http.ResponseWriter, r *http.Request) {
	a, notice, ok := s.portalOwn(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Cancel an appointment")
	if !ok {
		return
	}
	v.Data = portalCancelData{Appointment: a, NoticeHours: notice}
	s.render(w, r, http.StatusOK, "portal_cancel", v)
}

// portalCancel cancels the appointment at once, within the clinic's
// notice; a refusal is the same page with the reason, nothing changed.
func (s *Server) portalCancel(w http.ResponseWriter, r *http.Request) {
	a, notice, ok := s.portalOwn(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Cancel an appointment")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	if _, err := s.store.CancelOwnAppointment(r.Context(), a.ID); err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			v.Data = portalCancelData{Appointment: a, NoticeHours: notice}
			s.render(w, r, status, "portal_cancel", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal?done=cancelled", http.StatusSeeOther)
}

type portalMoveData struct {
	Appointment store.PortalAppointment
	NoticeHours int
	*portalRequestData
}

func (s *Server) portalMovePage(w http.ResponseWriter, r *http.Request) {
	a, notice, ok := s.portalOwn(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Ask to move an appointment")
	if !ok {
		return
	}
	v.Data = portalMoveData{Appointment: a, NoticeHours: notice, portalRequestData: s.portalRequestData(v)}
	s.render(w, r, http.StatusOK, "portal_move", v)
}

// portalMove asks the clinic to move the appointment; the request waits
// for the front desk, and the appointment keeps its time until then.
func (s *Server) portalMove(w http.ResponseWriter, r *http.Request) {
	a, notice, ok := s.portalOwn(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Ask to move an appointment")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	d := portalMoveData{Appointment: a, NoticeHours: notice, portalRequestData: s.portalRequestData(v)}
	d.Date, d.Time = r.PostFormValue("date"), r.PostFormValue("time")
	v.Data = d
	start, err := time.ParseInLocation("2006-01-02 15:04", d.Date+" "+d.Time, v.Session.loc)
	if err != nil {
		v.Error = "Choose a date and a time."
		s.render(w, r, http.StatusUnprocessableEntity, "portal_move", v)
		return
	}
	if _, err := s.store.RequestMove(r.Context(), a.ID, store.MoveRequest{StartsAt: &start}); err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			s.render(w, r, status, "portal_move", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal?done=move-requested", http.StatusSeeOther)
}
