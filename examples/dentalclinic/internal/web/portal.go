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
	d := portalHomeData{Patient: me}
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
