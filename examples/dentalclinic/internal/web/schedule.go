package web

import (
	"context"
	"errors"
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

// Member is a staff member's name by id ("" for an unknown id).
func (n *names) Member(id tenancy.ID) string { return n.staff[id] }

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
	Date            string    // the day asked for, for the date picker
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
	// Who is the filter: "mine", "all" or a staff id; WhoLabel says it.
	Who, WhoLabel string
	// Mine offers "my day": the signed-in member is a dentist or a
	// hygienist.
	Mine bool
	// Chair is the chair shown on a phone (one at a time), ChairLinks the
	// switcher's links to the others.
	Chair      tenancy.ID
	ChairLinks []chairLink
	// ClosedDay, on the day view, says why the whole day is closed.
	ClosedDay string
}

// chairLink is one entry of the phone's chair switcher.
type chairLink struct {
	Name, Link string
	Current    bool
}

type scheduleRow struct {
	Time   string
	Closed bool // the clinic is closed for some of this half hour
	Cells  []scheduleCell
}

type scheduleCell struct {
	Chair        store.Operatory
	Current      bool                // the chair a phone shows
	Appointments []store.Appointment // starting in this half hour
	Continuing   []store.Appointment // started before it, still running
	NewLink      string              // to book it, when no live appointment holds it
	Others       bool                // held by an appointment the filter hides
	Closed       bool
}

type scheduleDay struct {
	Date   time.Time
	Link   string
	Closed bool           // closed all day: a closure, or no opening hours
	Cells  []scheduleCell // one per chair
}

// clinician reports whether p works in the chair (dentist or hygienist),
// whose schedule opens on their own day.
func clinician(p tenancy.Principal) bool { return p.HasRole("dentist") || p.HasRole("hygienist") }

// involves reports whether staff is the appointment's dentist or hygienist.
func involves(a store.Appointment, staff tenancy.ID) bool {
	return a.DentistID == staff || a.HygienistID != nil && *a.HygienistID == staff
}

// live reports whether an appointment holds its chair.
func live(a store.Appointment) bool {
	return a.Status != store.StatusCancelled && a.Status != store.StatusNoShow
}

// schedule shows a day (or a week) by chair, in the clinic's time zone:
// ?date=YYYY-MM-DD, view=week, who=mine|all|<staff id> (a clinician's
// own day by default, everyone's for the others), chair=<chair id> (the
// chair a phone shows).
func (s *Server) schedule(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Schedule")
	if !ok {
		return
	}
	loc := v.Session.loc
	q := r.URL.Query()
	now := s.now().In(loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	if d, err := time.ParseInLocation(time.DateOnly, q.Get("date"), loc); err == nil && d.Year() >= 2000 && d.Year() <= 2200 {
		day = d
	}
	week := q.Get("view") == "week"
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
	settings, err := s.store.Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	appts, err := s.appointmentsBetween(r.Context(), from.Add(-store.MaxDurationMin*time.Minute), to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, _ := tenancy.FromContext(r.Context())
	d := &scheduleData{Week: week, Day: from, Date: day.Format(time.DateOnly), Names: n, CanBook: can(r, booking),
		TimeZone: v.Session.TimeZone, Mine: clinician(p)}
	// The filter: who=mine (the default for clinicians), all (the default
	// for the others), or one dentist's or hygienist's id.
	d.Who = q.Get("who")
	explicit := d.Who != ""
	if !explicit {
		d.Who = "all"
		if d.Mine {
			d.Who = "mine"
		}
	}
	var only *tenancy.ID
	switch d.Who {
	case "all":
		d.WhoLabel = "Everyone"
	case "mine":
		if !d.Mine {
			d.Who, d.WhoLabel = "all", "Everyone"
			break
		}
		only, d.WhoLabel = &p.Subject, "My day"
	default:
		id, err := tenancy.ParseID(d.Who)
		if name, known := n.staff[id]; err == nil && known {
			only, d.WhoLabel = &id, name
		} else {
			d.Who, d.WhoLabel = "all", "Everyone"
		}
	}
	all := appts
	if only != nil {
		appts = slices.DeleteFunc(slices.Clone(appts), func(a store.Appointment) bool { return !involves(a, *only) })
	}
	// Appointments that start before the range only matter to the day
	// view's first rows; the count is of those starting in it.
	for _, a := range appts {
		if !a.StartsAt.Before(from) {
			d.AppointmentsLen++
		}
	}
	d.Chairs = slices.DeleteFunc(slices.Clone(n.Chairs), func(o store.Operatory) bool { return o.Hidden })
	if len(d.Chairs) > 0 {
		d.Chair = d.Chairs[0].ID
		if id, err := tenancy.ParseID(q.Get("chair")); err == nil && slices.ContainsFunc(d.Chairs, func(o store.Operatory) bool { return o.ID == id }) {
			d.Chair = id
		}
	}
	link := func(date time.Time, week bool, chair tenancy.ID) string {
		lq := url.Values{"date": {date.Format(time.DateOnly)}}
		if week {
			lq.Set("view", "week")
		}
		if explicit {
			lq.Set("who", d.Who)
		}
		if !chair.IsZero() && chair != d.Chairs[0].ID {
			lq.Set("chair", chair.String())
		}
		return "/schedule?" + lq.Encode()
	}
	step := 1
	if week {
		step = 7
	}
	d.Prev = link(from.AddDate(0, 0, -step), week, d.Chair)
	d.Next = link(from.AddDate(0, 0, step), week, d.Chair)
	d.Today = link(now, week, d.Chair)
	d.DayLink = link(day, false, d.Chair)
	d.WeekLink = link(day, true, d.Chair)
	if week {
		for i := range 7 {
			date := from.AddDate(0, 0, i)
			sd := scheduleDay{Date: date, Link: link(date, false, d.Chair), Closed: closedAllDay(settings, date)}
			for _, c := range d.Chairs {
				cell := scheduleCell{Chair: c, Closed: sd.Closed}
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
		for _, c := range d.Chairs {
			d.ChairLinks = append(d.ChairLinks, chairLink{Name: c.Name, Link: link(day, false, c.ID), Current: c.ID == d.Chair})
		}
		if closedAllDay(settings, day) {
			d.ClosedDay = "The clinic is closed on this day."
			if reason, ok := settings.ClosureReason(day.Format(time.DateOnly)); ok && reason != "" {
				d.ClosedDay = "The clinic is closed on this day: " + reason + "."
			}
		}
		d.Rows = dayRows(day, loc, settings, all, only, d)
	}
	d.Statuses = store.AppointmentStatuses
	v.Title = "Schedule"
	v.Data = d
	s.render(w, r, http.StatusOK, "schedule", v)
}

// closedAllDay reports whether the clinic does not open at all on day: a
// closure, or a weekday without opening hours.
func closedAllDay(st store.Settings, day time.Time) bool {
	if st.Closed(day.Format(time.DateOnly)) {
		return true
	}
	return len(st.OpeningHours[strings.ToLower(day.Weekday().String()[:3])]) == 0
}

// dayRows lays out the day view: a row per half hour from 08:00 to 18:00,
// or wider to show every appointment; an appointment appears in the row
// it starts in and holds its chair in every later row it overlaps. With
// only set, the appointments of others are not shown, but still hold
// their chairs (no "+" where one is).
func dayRows(day time.Time, loc *time.Location, st store.Settings, appts []store.Appointment, only *tenancy.ID, d *scheduleData) []scheduleRow {
	first, last := 8*60, 18*60
	end := day.AddDate(0, 0, 1)
	minutes := func(t time.Time) int { return int(t.Sub(day) / time.Minute) }
	for _, a := range appts {
		if !a.StartsAt.Before(end) || !a.EndsAt.After(day) {
			continue
		}
		s, e := max(0, minutes(a.StartsAt)), min(24*60, minutes(a.EndsAt))
		first, last = min(first, s/30*30), max(last, (e+29)/30*30)
	}
	var rows []scheduleRow
	for m := first; m < last; m += 30 {
		slot := day.Add(time.Duration(m) * time.Minute)
		next := slot.Add(30 * time.Minute)
		closed := !st.Open(slot, next)
		row := scheduleRow{Time: slot.In(loc).Format("15:04"), Closed: closed}
		for _, c := range d.Chairs {
			cell := scheduleCell{Chair: c, Current: c.ID == d.Chair, Closed: closed}
			held := false
			for _, a := range appts {
				if a.OperatoryID != c.ID || !a.StartsAt.Before(next) || !a.EndsAt.After(slot) {
					continue
				}
				if only != nil && !involves(a, *only) {
					if live(a) {
						held, cell.Others = true, true
					}
					continue
				}
				if a.StartsAt.Before(slot) {
					if !live(a) {
						continue // a cancelled visit shows where it started only
					}
					cell.Continuing = append(cell.Continuing, a)
				} else {
					cell.Appointments = append(cell.Appointments, a)
				}
				held = held || live(a)
			}
			if d.CanBook && !held {
				q := url.Values{"chair": {c.ID.String()}, "date": {day.Format(time.DateOnly)}, "time": {row.Time}}
				cell.NewLink = "/appointments/new?" + q.Encode()
			}
			row.Cells = append(row.Cells, cell)
		}
		rows = append(rows, row)
	}
	return rows
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
	// AskHoursReason shows the field for a reason to book outside the
	// opening hours (after the time was refused, or when one was given);
	// HoursOverride is its value.
	AskHoursReason bool
	HoursOverride  string
	// CanCancel offers the cancellation form (a reason and a
	// confirmation); CancelReason is the reason typed.
	CanCancel    bool
	CancelReason string
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
	if f.HoursOverride != "" {
		in.HoursOverride = &f.HoursOverride
	}
	a, err := s.store.CreateAppointment(r.Context(), in)
	if err != nil {
		if msg, status := formError(err); msg != "" {
			f.AskHoursReason = f.AskHoursReason || outsideHours(err)
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
		AllowOverlap: r.PostFormValue("allow_overlap") == "on", HoursOverride: strings.TrimSpace(r.PostFormValue("hours_override")),
		AskHoursReason: r.PostForm.Has("hours_override"),
	}
}

// outsideHours reports whether err is the refusal of a time outside the
// clinic's opening hours, which a reason may override.
func outsideHours(err error) bool {
	var se *store.Error
	return errors.As(err, &se) && se.Code == store.CodeOutsideHours
}

// appointmentForm fills the edit form from a stored appointment.
func (s *Server) appointmentForm(a store.Appointment, n *names, r *http.Request) *bookingForm {
	f := &bookingForm{ID: a.ID, Appointment: &a, Names: n, Patient: a.PatientID.String(), Dentist: a.DentistID.String(),
		Chair: a.OperatoryID.String(), Date: a.LocalStart[:10], Time: a.LocalStart[11:16], Duration: a.DurationMin,
		Type: a.Type, Note: a.Note,
		// Cancelling has its own form, which asks for a reason; arrived,
		// completed and no-show wait for the appointment's day.
		Transitions: slices.DeleteFunc(slices.Clone(store.Transitions[a.Status]), func(st string) bool {
			return st == store.StatusCancelled || !s.store.StatusAllowedNow(a, st)
		}),
		CanCancel:     can(r, apptUpdating) && slices.Contains(store.Transitions[a.Status], store.StatusCancelled),
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
	v.Data = s.appointmentForm(a, n, r)
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
	var f *bookingForm
	refuse := func(msg string) {
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
		v.Error, v.Data = msg, s.appointmentForm(a, n, r)
		s.render(w, r, http.StatusUnprocessableEntity, "appointment", v)
	}
	switch r.PostFormValue("action") {
	case "status":
		st := r.PostFormValue("status")
		if st == store.StatusCancelled {
			refuse("To cancel, use the cancellation form below: it asks for a reason.")
			return
		}
		in.Status = &st
	case "cancel":
		reason := strings.TrimSpace(r.PostFormValue("cancel_reason"))
		switch {
		case reason == "":
			refuse("Give a reason for cancelling the appointment.")
			return
		case r.PostFormValue("confirm_cancel") != "on":
			refuse("Tick the box to confirm that the appointment is to be cancelled.")
			return
		}
		st := store.StatusCancelled
		in.Status, in.CancelReason = &st, &reason
	case "reschedule":
		if !can(r, booking) {
			s.renderError(w, r, http.StatusForbidden, "Your role does not allow rescheduling.")
			return
		}
		f = readBookingForm(r)
		local := f.Date + "T" + f.Time + ":00"
		in.LocalStart, in.DurationMin = &local, &f.Duration
		in.OperatoryID, in.DentistID = formID(r, "chair"), formID(r, "dentist")
		in.AllowDentistOverlap = f.AllowOverlap
		if f.HoursOverride != "" {
			in.HoursOverride = &f.HoursOverride
		}
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
			af := s.appointmentForm(a, n, r)
			if f != nil { // the reschedule form keeps what was typed
				af.Dentist, af.Chair, af.Date, af.Time, af.Duration, af.AllowOverlap = f.Dentist, f.Chair, f.Date, f.Time, f.Duration, f.AllowOverlap
				af.HoursOverride, af.AskHoursReason = f.HoursOverride, f.AskHoursReason || outsideHours(err)
			}
			if in.CancelReason != nil {
				af.CancelReason = *in.CancelReason
			}
			v.Error, v.Data = msg, af
			s.render(w, r, status, "appointment", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/appointments/"+id.String()+"?done=updated", http.StatusSeeOther)
}
