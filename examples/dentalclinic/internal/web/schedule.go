package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

func (s *Server) scheduleRoutes() {
	s.handle("GET /schedule", anyStaff, s.schedule)
	s.handle("GET /appointments/new", booking, s.newAppointment)
	s.handle("POST /appointments", booking, s.createAppointment)
	s.handle("GET /appointments/{id}", anyStaff, s.appointment)
	s.handle("POST /appointments/{id}", apptUpdating, s.updateAppointment)
}

// names is who is who in the caller's clinic, for showing names beside ids.
type names struct {
	patients   map[tenancy.ID]string
	safety     map[tenancy.ID]patientSafety
	staff      map[tenancy.ID]string
	Chairs     []store.Operatory
	Dentists   []store.StaffMember
	Hygienists []store.StaffMember
	Active     []store.Patient // active patients, by name
}

// patientSafety is what treatment must not miss of a patient: the medical
// alerts and allergies of the chart.
type patientSafety struct{ Alerts, Allergies []string }

// Any reports whether there is anything to warn of.
func (p patientSafety) Any() bool { return len(p.Alerts)+len(p.Allergies) > 0 }

// Text is the warning in words, for screen readers and tooltips.
func (p patientSafety) Text() string {
	var parts []string
	if len(p.Alerts) > 0 {
		parts = append(parts, "Medical alerts: "+strings.Join(p.Alerts, ", ")+".")
	}
	if len(p.Allergies) > 0 {
		parts = append(parts, "Allergies: "+strings.Join(p.Allergies, ", ")+".")
	}
	return strings.Join(parts, " ")
}

// Safety is the patient's alerts and allergies (none for an unknown id).
func (n *names) Safety(id tenancy.ID) patientSafety { return n.safety[id] }

func (n *names) Patient(id tenancy.ID) string {
	if v, ok := n.patients[id]; ok {
		return v
	}
	return "(unknown patient)"
}

func (n *names) Staff(id *tenancy.ID) string {
	if id == nil {
		return ""
	}
	return n.staff[*id]
}

func (n *names) Chair(id tenancy.ID) string {
	for _, c := range n.Chairs {
		if c.ID == id {
			return c.Name
		}
	}
	return ""
}

// loadNames reads the clinic's chairs and staff, and its patients when
// withPatients is set.
func (s *Server) loadNames(ctx context.Context, withPatients bool) (*names, error) {
	n := &names{patients: map[tenancy.ID]string{}, safety: map[tenancy.ID]patientSafety{}, staff: map[tenancy.ID]string{}}
	var err error
	if n.Chairs, err = s.store.ListOperatories(ctx); err != nil {
		return nil, err
	}
	staff, err := s.store.ListStaff(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range staff {
		n.staff[m.ID] = m.Name
		if m.Disabled {
			continue
		}
		if slices.Contains(m.Roles, "dentist") {
			n.Dentists = append(n.Dentists, m)
		}
		if slices.Contains(m.Roles, "hygienist") {
			n.Hygienists = append(n.Hygienists, m)
		}
	}
	if withPatients {
		cursor := ""
		for {
			list, next, err := s.store.ListPatients(ctx, store.PatientFilter{Cursor: cursor, Limit: 200})
			if err != nil {
				return nil, err
			}
			for _, p := range list {
				n.patients[p.ID] = p.GivenName + " " + p.FamilyName
				if len(p.MedicalAlerts)+len(p.Allergies) > 0 {
					n.safety[p.ID] = patientSafety{Alerts: p.MedicalAlerts, Allergies: p.Allergies}
				}
				if p.Status == "active" {
					n.Active = append(n.Active, p)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return n, nil
}

// appointmentsBetween lists every appointment starting in [from, to).
func (s *Server) appointmentsBetween(ctx context.Context, from, to time.Time) ([]store.Appointment, error) {
	var all []store.Appointment
	cursor := ""
	for {
		list, next, err := s.store.ListAppointments(ctx, store.AppointmentFilter{From: &from, To: &to, Cursor: cursor, Limit: 200})
		if err != nil {
			return nil, err
		}
		all = append(all, list...)
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}

type scheduleData struct {
	Week            bool
	Day             time.Time // the day shown, or the week's Monday
	Prev, Next      string
	Today           string
	DayLink         string
	WeekLink        string
	Chairs          []store.Operatory
	Rows            []scheduleRow // day view: one per half hour
	Days            []scheduleDay // week view
	Names           *names
	CanBook         bool
	TimeZone        string
	Statuses        []string
	AppointmentsLen int
}

type scheduleRow struct {
	Time  string
	Cells []scheduleCell
}

type scheduleCell struct {
	Chair        store.Operatory
	Appointments []store.Appointment
	NewLink      string
}

type scheduleDay struct {
	Date  time.Time
	Link  string
	Cells []scheduleCell // one per chair
}

// schedule shows a day (or a week) by chair, in the clinic's time zone.
func (s *Server) schedule(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Schedule")
	if !ok {
		return
	}
	loc := v.Session.loc
	now := s.now().In(loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	if d, err := time.ParseInLocation(time.DateOnly, r.URL.Query().Get("date"), loc); err == nil {
		day = d
	}
	week := r.URL.Query().Get("view") == "week"
	from, to := day, day.AddDate(0, 0, 1)
	if week {
		from = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		to = from.AddDate(0, 0, 7)
	}
	n, err := s.loadNames(r.Context(), true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	appts, err := s.appointmentsBetween(r.Context(), from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	chairs := slices.DeleteFunc(slices.Clone(n.Chairs), func(o store.Operatory) bool { return o.Hidden })
	d := &scheduleData{Week: week, Day: from, Names: n, Chairs: chairs, CanBook: can(r, booking), TimeZone: v.Session.TimeZone,
		Today: "/schedule?date=" + now.Format(time.DateOnly), AppointmentsLen: len(appts)}
	viewQ := ""
	step := 1
	if week {
		viewQ, step = "&view=week", 7
	}
	d.Prev = "/schedule?date=" + from.AddDate(0, 0, -step).Format(time.DateOnly) + viewQ
	d.Next = "/schedule?date=" + from.AddDate(0, 0, step).Format(time.DateOnly) + viewQ
	d.Today += viewQ
	d.DayLink = "/schedule?date=" + day.Format(time.DateOnly)
	d.WeekLink = d.DayLink + "&view=week"
	if week {
		for i := range 7 {
			date := from.AddDate(0, 0, i)
			sd := scheduleDay{Date: date, Link: "/schedule?date=" + date.Format(time.DateOnly)}
			for _, c := range chairs {
				cell := scheduleCell{Chair: c}
				for _, a := range appts {
					if a.OperatoryID == c.ID && sameDay(a.StartsAt.In(loc), date) {
						cell.Appointments = append(cell.Appointments, a)
					}
				}
				sd.Cells = append(sd.Cells, cell)
			}
			d.Days = append(d.Days, sd)
		}
	} else {
		first, last := 8*60, 18*60
		for _, a := range appts {
			m := a.StartsAt.In(loc).Hour()*60 + a.StartsAt.In(loc).Minute()
			first, last = min(first, m/30*30), max(last, m/30*30+30)
		}
		for m := first; m < last; m += 30 {
			slot := day.Add(time.Duration(m) * time.Minute)
			row := scheduleRow{Time: slot.Format("15:04")}
			for _, c := range chairs {
				cell := scheduleCell{Chair: c}
				for _, a := range appts {
					st := a.StartsAt.In(loc)
					if a.OperatoryID == c.ID && !st.Before(slot) && st.Before(slot.Add(30*time.Minute)) {
						cell.Appointments = append(cell.Appointments, a)
					}
				}
				if d.CanBook {
					q := url.Values{"chair": {c.ID.String()}, "date": {day.Format(time.DateOnly)}, "time": {slot.Format("15:04")}}
					cell.NewLink = "/appointments/new?" + q.Encode()
				}
				row.Cells = append(row.Cells, cell)
			}
			d.Rows = append(d.Rows, row)
		}
	}
	d.Statuses = store.AppointmentStatuses
	v.Title = "Schedule"
	v.Data = d
	s.render(w, r, http.StatusOK, "schedule", v)
}

func sameDay(a, b time.Time) bool {
	return a.Year() == b.Year() && a.Month() == b.Month() && a.Day() == b.Day()
}

// bookingForm is the booking (and rescheduling) form's values.
type bookingForm struct {
	ID                           tenancy.ID
	Patient, Dentist, Hygienist  string
	Chair, Date, Time            string
	Duration                     int
	Type, Note                   string
	AllowOverlap                 bool
	Names                        *names
	Picker                       *patientPicker // the patient step of a new booking
	Appointment                  *store.Appointment
	Transitions                  []string
	CanReschedule, CanSetStatus  bool
	PatientName, ChairName       string
	DentistName, HygienistName   string
	LocalStartText, LocalEndText string
}

func (s *Server) newAppointment(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Book an appointment")
	if !ok {
		return
	}
	n, err := s.loadNames(r.Context(), false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := &bookingForm{Chair: q.Get("chair"), Date: q.Get("date"), Time: q.Get("time"), Patient: q.Get("patient"),
		Duration: 30, Type: "Check-up", Names: n}
	if f.Picker, err = s.patientPicker(r, "/appointments/new", f.Patient, bookingKeep...); err != nil {
		s.fail(w, r, err)
		return
	}
	if f.Date == "" {
		f.Date = s.now().In(v.Session.loc).Format(time.DateOnly)
	}
	if p, _ := tenancy.FromContext(r.Context()); p.HasRole("dentist") {
		f.Dentist = p.Subject.String()
	}
	v.Data = f
	s.render(w, r, http.StatusOK, "booking", v)
}

func formID(r *http.Request, field string) *tenancy.ID {
	id, err := tenancy.ParseID(r.PostFormValue(field))
	if err != nil {
		return nil
	}
	return &id
}

func (s *Server) createAppointment(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Book an appointment")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	n, err := s.loadNames(r.Context(), false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := readBookingForm(r)
	f.Names = n
	if f.Picker, err = s.patientPicker(r, "/appointments/new", f.Patient, bookingKeep...); err != nil {
		s.fail(w, r, err)
		return
	}
	in := store.AppointmentInput{
		PatientID: formID(r, "patient"), DentistID: formID(r, "dentist"), OperatoryID: formID(r, "chair"),
		Type: &f.Type, AllowDentistOverlap: f.AllowOverlap,
	}
	if f.Note != "" {
		in.Note = &f.Note
	}
	if h := formID(r, "hygienist"); h != nil {
		in.HygienistID = store.OptionalID{Set: true, ID: h}
	}
	local := f.Date + "T" + f.Time + ":00"
	in.LocalStart, in.DurationMin = &local, &f.Duration
	a, err := s.store.CreateAppointment(r.Context(), in)
	if err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error, v.Data = msg, f
			s.render(w, r, status, "booking", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/schedule?done=booked&date="+a.LocalStart[:10], http.StatusSeeOther)
}

func readBookingForm(r *http.Request) *bookingForm {
	d, _ := strconv.Atoi(r.PostFormValue("duration"))
	return &bookingForm{
		Patient: r.PostFormValue("patient"), Dentist: r.PostFormValue("dentist"), Hygienist: r.PostFormValue("hygienist"),
		Chair: r.PostFormValue("chair"), Date: r.PostFormValue("date"), Time: r.PostFormValue("time"), Duration: d,
		Type: strings.TrimSpace(r.PostFormValue("type")), Note: strings.TrimSpace(r.PostFormValue("note")),
		AllowOverlap: r.PostFormValue("allow_overlap") == "on",
	}
}

// appointmentForm fills the edit form from a stored appointment.
func appointmentForm(a store.Appointment, n *names, r *http.Request) *bookingForm {
	f := &bookingForm{ID: a.ID, Appointment: &a, Names: n, Patient: a.PatientID.String(), Dentist: a.DentistID.String(),
		Chair: a.OperatoryID.String(), Date: a.LocalStart[:10], Time: a.LocalStart[11:16], Duration: a.DurationMin,
		Type: a.Type, Note: a.Note, Transitions: store.Transitions[a.Status],
		CanReschedule: can(r, booking), CanSetStatus: can(r, apptUpdating),
		PatientName: n.Patient(a.PatientID), ChairName: n.Chair(a.OperatoryID), DentistName: n.Staff(&a.DentistID),
		HygienistName: n.Staff(a.HygienistID), LocalStartText: strings.Replace(a.LocalStart[:16], "T", " ", 1), LocalEndText: a.LocalEnd[11:16],
	}
	if a.HygienistID != nil {
		f.Hygienist = a.HygienistID.String()
	}
	return f
}

func (s *Server) appointment(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Appointment")
	if !ok {
		return
	}
	a, err := s.store.Appointment(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.loadNames(r.Context(), true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Data = appointmentForm(a, n, r)
	s.render(w, r, http.StatusOK, "appointment", v)
}

// updateAppointment changes an appointment's status (action "status") or
// reschedules it (action "reschedule": time, chair, length, dentist).
func (s *Server) updateAppointment(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	v, ok := s.start(w, r, "Appointment")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	var in store.AppointmentInput
	switch r.PostFormValue("action") {
	case "status":
		st := r.PostFormValue("status")
		in.Status = &st
	case "reschedule":
		if !can(r, booking) {
			s.renderError(w, r, http.StatusForbidden, "Your role does not allow rescheduling.")
			return
		}
		f := readBookingForm(r)
		local := f.Date + "T" + f.Time + ":00"
		in.LocalStart, in.DurationMin = &local, &f.Duration
		in.OperatoryID, in.DentistID = formID(r, "chair"), formID(r, "dentist")
		in.AllowDentistOverlap = f.AllowOverlap
	default:
		s.renderError(w, r, http.StatusBadRequest, "Unknown action.")
		return
	}
	_, err := s.store.UpdateAppointment(r.Context(), id, in)
	if err != nil {
		if msg, status := formError(err); msg != "" {
			a, gerr := s.store.Appointment(r.Context(), id)
			n, nerr := s.loadNames(r.Context(), true)
			if gerr != nil || nerr != nil {
				s.fail(w, r, err)
				return
			}
			v.Error, v.Data = msg, appointmentForm(a, n, r)
			s.render(w, r, status, "appointment", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/appointments/"+id.String()+"?done=updated", http.StatusSeeOther)
}
