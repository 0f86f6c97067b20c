package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Appointment is one booking in one chair. StartsAt and EndsAt are UTC
// instants; LocalStart and LocalEnd are the same instants as wall-clock
// times in the clinic's time zone (TimeZone), without an offset.
type Appointment struct {
	ID          tenancy.ID  `json:"id"`
	ClinicID    tenancy.ID  `json:"clinic_id"`
	PatientID   tenancy.ID  `json:"patient_id"`
	DentistID   tenancy.ID  `json:"dentist_id"`
	HygienistID *tenancy.ID `json:"hygienist_id"`
	OperatoryID tenancy.ID  `json:"operatory_id"`
	StartsAt    time.Time   `json:"starts_at"`
	EndsAt      time.Time   `json:"ends_at"`
	DurationMin int         `json:"duration_min"`
	LocalStart  string      `json:"local_start"`
	LocalEnd    string      `json:"local_end"`
	TimeZone    string      `json:"time_zone"`
	Type        string      `json:"type"`
	Note        string      `json:"note"`
	Status      string      `json:"status"`
	// HoursOverride is the reason the appointment was booked (or moved)
	// outside the clinic's opening hours or on a closure day; nil when it
	// lies within them.
	HoursOverride *string `json:"hours_override"`
	// CancelReason is why the appointment was cancelled, when it was and
	// a reason was given.
	CancelReason *string   `json:"cancel_reason"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Appointment statuses.
const (
	StatusScheduled = "scheduled"
	StatusConfirmed = "confirmed"
	StatusArrived   = "arrived"
	StatusCompleted = "completed"
	StatusCancelled = "cancelled"
	StatusNoShow    = "no_show"
)

// Transitions is the appointment status machine: the statuses each status
// may move to. Completed, cancelled and no-show are final; a cancelled or
// no-show appointment frees its chair, so it cannot come back to life
// (book again instead). Setting the status an appointment already has is
// a no-op, not a transition.
//
//	scheduled -> confirmed, arrived, cancelled, no_show
//	confirmed -> arrived, cancelled, no_show
//	arrived   -> completed, cancelled
var Transitions = map[string][]string{
	StatusScheduled: {StatusConfirmed, StatusArrived, StatusCancelled, StatusNoShow},
	StatusConfirmed: {StatusArrived, StatusCancelled, StatusNoShow},
	StatusArrived:   {StatusCompleted, StatusCancelled},
	StatusCompleted: {},
	StatusCancelled: {},
	StatusNoShow:    {},
}

// AppointmentStatuses lists every status, in the order of the day.
var AppointmentStatuses = []string{StatusScheduled, StatusConfirmed, StatusArrived, StatusCompleted, StatusCancelled, StatusNoShow}

// liveStatus reports whether an appointment in status holds its chair, patient
// and dentist.
func liveStatus(status string) bool { return status != StatusCancelled && status != StatusNoShow }

// Duration limits, in minutes (the database checks the same).
const (
	MinDurationMin = 5
	MaxDurationMin = 480
)

// LocalLayout is the layout of local wall-clock times in the API.
const LocalLayout = "2006-01-02T15:04:05"

// OptionalID is a JSON field that distinguishes "left out" (Set false)
// from null (Set true, ID nil), so that a PATCH can clear it.
type OptionalID struct {
	Set bool
	ID  *tenancy.ID
}

// UnmarshalJSON implements json.Unmarshaler; it is called only when the
// field is present.
func (o *OptionalID) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.ID = nil
		return nil
	}
	var id tenancy.ID
	if err := json.Unmarshal(b, &id); err != nil {
		return err
	}
	o.ID = &id
	return nil
}

// AppointmentInput is a new appointment, or (with fields left out) a
// partial update. The start is given either as StartsAt, an RFC 3339
// instant with any offset, or as LocalStart, a wall-clock time
// "2006-01-02T15:04:05" in the clinic's time zone; not both.
type AppointmentInput struct {
	PatientID   *tenancy.ID `json:"patient_id"`
	DentistID   *tenancy.ID `json:"dentist_id"`
	HygienistID OptionalID  `json:"hygienist_id"`
	OperatoryID *tenancy.ID `json:"operatory_id"`
	StartsAt    *time.Time  `json:"starts_at"`
	LocalStart  *string     `json:"local_start"`
	DurationMin *int        `json:"duration_min"`
	Type        *string     `json:"type"`
	Note        *string     `json:"note"`
	Status      *string     `json:"status"`
	// AllowDentistOverlap books the dentist even when they are already in
	// another live appointment without a hygienist at an overlapping time.
	AllowDentistOverlap bool `json:"allow_dentist_overlap"`
	// HoursOverride is the reason to book (or move) the appointment to a
	// time outside the clinic's opening hours or on a closure day; without
	// it such a time is refused (409 "outside_opening_hours"). Given for a
	// time within the hours, it is refused as invalid.
	HoursOverride *string `json:"hours_override"`
	// CancelReason is why the appointment is cancelled; it goes only with
	// status "cancelled".
	CancelReason *string `json:"cancel_reason"`
}

// reschedules reports whether the input changes who, where or when.
func (in AppointmentInput) reschedules() bool {
	return in.DentistID != nil || in.HygienistID.Set || in.OperatoryID != nil || in.StartsAt != nil ||
		in.LocalStart != nil || in.DurationMin != nil
}

// OnlyStatusOrNote reports whether the input changes nothing but the
// status and the note, the changes clinicians make during the day.
func (in AppointmentInput) OnlyStatusOrNote() bool {
	return !in.reschedules() && in.PatientID == nil && in.Type == nil
}

func (in AppointmentInput) validate(create bool) error {
	if create {
		switch {
		case in.PatientID == nil:
			return invalid("patient_id", "patient_id is required")
		case in.DentistID == nil:
			return invalid("dentist_id", "dentist_id is required")
		case in.OperatoryID == nil:
			return invalid("operatory_id", "operatory_id is required")
		case in.StartsAt == nil && in.LocalStart == nil:
			return invalid("starts_at", "starts_at (or local_start) is required")
		case in.DurationMin == nil:
			return invalid("duration_min", "duration_min is required")
		case in.Type == nil:
			return invalid("type", "type is required")
		}
		if in.Status != nil && *in.Status != StatusScheduled && *in.Status != StatusConfirmed {
			return invalid("status", "a new appointment is scheduled or confirmed")
		}
	} else if in.PatientID != nil {
		return invalid("patient_id", "an appointment's patient cannot change; cancel it and book the other patient")
	}
	if in.StartsAt != nil && in.LocalStart != nil {
		return invalid("starts_at", "give starts_at or local_start, not both")
	}
	if in.StartsAt != nil && (in.StartsAt.Year() < 2000 || in.StartsAt.Year() > 2200) {
		return invalid("starts_at", "starts_at is out of range")
	}
	if in.DurationMin != nil && (*in.DurationMin < MinDurationMin || *in.DurationMin > MaxDurationMin) {
		return invalid("duration_min", "duration_min must be "+itoa(MinDurationMin)+" to "+itoa(MaxDurationMin)+" minutes")
	}
	if err := textField("type", in.Type, 1, 100); err != nil {
		return err
	}
	if err := textField("note", in.Note, 0, 2000); err != nil {
		return err
	}
	if in.Status != nil && !oneOf(*in.Status, AppointmentStatuses) {
		return invalid("status", "status must be one of "+strings.Join(AppointmentStatuses, ", "))
	}
	if err := reasonField("hours_override", in.HoursOverride, "A booking outside opening hours needs a reason."); err != nil {
		return err
	}
	if err := reasonField("cancel_reason", in.CancelReason, "A cancellation needs a reason."); err != nil {
		return err
	}
	if in.CancelReason != nil && (in.Status == nil || *in.Status != StatusCancelled) {
		return invalid("cancel_reason", "A cancellation reason goes only with cancelling the appointment.")
	}
	if in.HoursOverride != nil && !create && in.StartsAt == nil && in.LocalStart == nil && in.DurationMin == nil {
		return invalid("hours_override", "A reason to book outside opening hours goes only with a new time for the appointment.")
	}
	return nil
}

// start resolves the input's start in loc; ok is false when none was given.
func (in AppointmentInput) start(loc *time.Location) (t time.Time, ok bool, err error) {
	switch {
	case in.StartsAt != nil:
		return in.StartsAt.UTC(), true, nil
	case in.LocalStart != nil:
		t, err := parseLocal(*in.LocalStart, loc)
		if err != nil {
			return time.Time{}, false, err
		}
		return t.UTC(), true, nil
	}
	return time.Time{}, false, nil
}

// parseLocal reads a wall-clock time in loc. A time that does not exist
// there (skipped when the clocks go forward) is refused; one that exists
// twice (when they go back) means the earlier instant.
func parseLocal(s string, loc *time.Location) (time.Time, error) {
	w, err := time.Parse(LocalLayout, s)
	if err != nil || w.Year() < 2000 || w.Year() > 2200 {
		return time.Time{}, invalid("local_start", "local_start is written YYYY-MM-DDTHH:MM:SS, without an offset")
	}
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
	if t.Format(LocalLayout) != w.Format(LocalLayout) {
		return time.Time{}, invalid("local_start", "local_start does not exist in the clinic's time zone (the clocks change then)")
	}
	// The earlier of two candidates, if the wall-clock time repeats.
	for _, d := range []time.Duration{-time.Hour, -30 * time.Minute} {
		if e := t.Add(d); e.In(loc).Format(LocalLayout) == w.Format(LocalLayout) {
			t = e
		}
	}
	return t, nil
}

var clinicLocations sync.Map // name -> *time.Location

// clinicLocation returns the location of an IANA time zone name, cached.
func clinicLocation(name string) (*time.Location, error) {
	if l, ok := clinicLocations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	clinicLocations.Store(name, l)
	return l, nil
}

const appointmentColumns = `a.id, a.clinic_id, a.patient_id, a.dentist_id, a.hygienist_id, a.operatory_id, a.starts_at, a.ends_at,
	a.type, a.note, a.status, a.hours_override, a.cancel_reason, a.created_at, a.updated_at, c.time_zone`

// appointmentFrom is the FROM clause of appointmentColumns: the clinic's
// registry row gives the time zone.
const appointmentFrom = ` from appointments a join clinics c on c.id = a.clinic_id`

func scanAppointment(row pgx.Row) (Appointment, error) {
	var a Appointment
	err := row.Scan(&a.ID, &a.ClinicID, &a.PatientID, &a.DentistID, &a.HygienistID, &a.OperatoryID, &a.StartsAt, &a.EndsAt,
		&a.Type, &a.Note, &a.Status, &a.HoursOverride, &a.CancelReason, &a.CreatedAt, &a.UpdatedAt, &a.TimeZone)
	if err != nil {
		return a, err
	}
	a.StartsAt, a.EndsAt = a.StartsAt.UTC(), a.EndsAt.UTC()
	a.DurationMin = int(a.EndsAt.Sub(a.StartsAt) / time.Minute)
	loc, err := clinicLocation(a.TimeZone)
	if err != nil {
		return a, err
	}
	a.LocalStart, a.LocalEnd = a.StartsAt.In(loc).Format(LocalLayout), a.EndsAt.In(loc).Format(LocalLayout)
	return a, nil
}

// AppointmentFilter narrows an appointment list. From and To bound the
// start: From <= starts_at < To.
type AppointmentFilter struct {
	From, To *time.Time
	// PatientID, OperatoryID and DentistID, when set, keep the
	// appointments of that patient, chair or dentist.
	PatientID   *tenancy.ID
	OperatoryID *tenancy.ID
	DentistID   *tenancy.ID
	// Status, when set, keeps the appointments of that status.
	Status string
	// Cursor is the cursor of the page to read, as the previous page
	// returned it; "" for the first page.
	Cursor string
	// Limit is the number of appointments a page holds at most (a default
	// when 0, capped at the store's largest page).
	Limit int
}

// ListAppointments returns the clinic's appointments ordered by start and
// id, a page at a time.
func (s *Store) ListAppointments(ctx context.Context, f AppointmentFilter) ([]Appointment, string, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, "", err
	}
	var after struct {
		S  time.Time
		ID tenancy.ID
	}
	if err := decodeCursor(f.Cursor, &after); err != nil {
		return nil, "", err
	}
	if f.Status != "" && !oneOf(f.Status, AppointmentStatuses) {
		return nil, "", invalid("status", "status must be one of "+strings.Join(AppointmentStatuses, ", "))
	}
	limit := pageLimit(f.Limit)
	args := []any{p.Tenant}
	where := ""
	add := func(cond string, v any) {
		args = append(args, v)
		where += " and " + strings.ReplaceAll(cond, "$n", "$"+itoa(len(args)))
	}
	if f.From != nil {
		add("a.starts_at >= $n", *f.From)
	}
	if f.To != nil {
		add("a.starts_at < $n", *f.To)
	}
	if f.PatientID != nil {
		add("a.patient_id = $n", *f.PatientID)
	}
	if f.OperatoryID != nil {
		add("a.operatory_id = $n", *f.OperatoryID)
	}
	if f.DentistID != nil {
		add("a.dentist_id = $n", *f.DentistID)
	}
	if f.Status != "" {
		add("a.status = $n", f.Status)
	}
	ks := keyset{cols: []string{"a.starts_at", "a.id"}}
	if !after.ID.IsZero() {
		var cond string
		cond, args = ks.after(args, after.S, after.ID)
		where += cond
	}
	return queryPage(ctx, s, "list appointments", `select `+appointmentColumns+appointmentFrom+` where a.clinic_id = $1`+where, args, ks, limit,
		func(r pgx.CollectableRow) (Appointment, error) { return scanAppointment(r) },
		func(last Appointment) any {
			after.S, after.ID = last.StartsAt, last.ID
			return after
		})
}

// Appointment returns one appointment of the caller's clinic, or
// ErrNotFound.
func (s *Store) Appointment(ctx context.Context, id tenancy.ID) (Appointment, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Appointment{}, err
	}
	return viewRecord(ctx, s, "get appointment", `select `+appointmentColumns+appointmentFrom+` where a.clinic_id = $1 and a.id = $2`,
		scanAppointment, "appointment.view", "appointment", p.Tenant, id)
}

// CreateAppointment books an appointment at the caller's clinic. It
// answers ErrInvalid naming the field for an unknown (or another
// clinic's) patient, dentist, hygienist or chair, a staff member without
// the role, or a hidden chair; ErrConflict with code "chair_busy",
// "patient_busy", "hygienist_busy" or "dentist_busy" for a clash. A time
// outside the clinic's opening hours, or on a closure day, is refused
// (ErrConflict CodeOutsideHours) unless in.HoursOverride gives a reason:
// the reason is kept with the appointment and the override audited as
// "appointment.hours_override" (the action alone, never the words).
func (s *Store) CreateAppointment(ctx context.Context, in AppointmentInput) (Appointment, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Appointment{}, err
	}
	if err := in.validate(true); err != nil {
		return Appointment{}, err
	}
	var out Appointment
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		loc, err := clinicZone(ctx, tx, p.Tenant)
		if err != nil {
			return err
		}
		start, _, err := in.start(loc)
		if err != nil {
			return err
		}
		end := start.Add(time.Duration(*in.DurationMin) * time.Minute)
		overridden, err := hoursRule(ctx, tx, p.Tenant, start, end, in.HoursOverride)
		if err != nil {
			return err
		}
		if err := bookablePatient(ctx, tx, p.Tenant, *in.PatientID); err != nil {
			return err
		}
		if err := bookableStaff(ctx, tx, p.Tenant, "dentist_id", *in.DentistID, "dentist"); err != nil {
			return err
		}
		if in.HygienistID.ID != nil {
			if err := bookableStaff(ctx, tx, p.Tenant, "hygienist_id", *in.HygienistID.ID, "hygienist"); err != nil {
				return err
			}
		}
		if err := bookableChair(ctx, tx, p.Tenant, *in.OperatoryID); err != nil {
			return err
		}
		dentistSolo := in.HygienistID.ID == nil
		if dentistSolo && !in.AllowDentistOverlap {
			if err := lockDentist(ctx, tx, p.Tenant, *in.DentistID); err != nil {
				return err
			}
		}
		id := tenancy.NewID()
		status := StatusScheduled
		if in.Status != nil {
			status = *in.Status
		}
		if _, err := tx.Exec(ctx, `insert into appointments (clinic_id, id, patient_id, dentist_id, hygienist_id, operatory_id,
			starts_at, ends_at, type, note, status, hours_override) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, ''), $11, $12)`,
			p.Tenant, id, *in.PatientID, *in.DentistID, in.HygienistID.ID, *in.OperatoryID, start, end, *in.Type, in.Note, status, in.HoursOverride); err != nil {
			return appointmentConflict(err)
		}
		// The reminder job is enqueued here, in this transaction: the
		// checks below may still refuse the booking, and then it goes too.
		if status == StatusScheduled || status == StatusConfirmed {
			if err := s.remind(ctx, tx, id, start); err != nil {
				return err
			}
		}
		if dentistSolo && !in.AllowDentistOverlap {
			if err := dentistFree(ctx, tx, p.Tenant, id, *in.DentistID, start, end); err != nil {
				return err
			}
		}
		if err := record(ctx, tx, "appointment.create", "appointment", id); err != nil {
			return err
		}
		if overridden {
			if err := record(ctx, tx, "appointment.hours_override", "appointment", id); err != nil {
				return err
			}
		}

		out, err = scanAppointment(tx.QueryRow(ctx, `select `+appointmentColumns+appointmentFrom+` where a.clinic_id = $1 and a.id = $2`, p.Tenant, id))
		return err
	})
	return out, wrap("create appointment", err)
}

// UpdateAppointment changes an appointment of the caller's clinic: its
// status (along Transitions only, else ErrConflict "invalid_transition"),
// note and type at any time, and its dentist, hygienist, chair, start
// and duration while it is scheduled or confirmed ("not_reschedulable"
// otherwise), with the same checks as CreateAppointment. Confirming an
// appointment checks the dentist's other bookings too ("dentist_busy"
// unless AllowDentistOverlap). A new time is held to the opening hours as
// in CreateAppointment (a time moved within them drops an earlier
// override's reason). Arrived, completed and no-show cannot be set before
// the appointment's day in the clinic's time zone (ErrConflict
// CodeBeforeDay). Cancelling keeps in.CancelReason, when given, with the
// appointment.
func (s *Store) UpdateAppointment(ctx context.Context, id tenancy.ID, in AppointmentInput) (Appointment, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Appointment{}, err
	}
	if err := in.validate(false); err != nil {
		return Appointment{}, err
	}
	var out Appointment
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		cur, err := scanAppointment(tx.QueryRow(ctx, `select `+appointmentColumns+appointmentFrom+`
			where a.clinic_id = $1 and a.id = $2 for update of a`, p.Tenant, id))
		if err != nil {
			return notFound(err)
		}
		status := cur.Status
		if in.Status != nil && *in.Status != cur.Status {
			if !slices.Contains(Transitions[cur.Status], *in.Status) {
				return conflict("invalid_transition", "An appointment that is "+statusWords(cur.Status)+" cannot become "+statusWords(*in.Status)+".")
			}
			status = *in.Status
		}
		start, end := cur.StartsAt, cur.EndsAt
		dentist, hygienist, chair := cur.DentistID, cur.HygienistID, cur.OperatoryID
		if in.reschedules() {
			if cur.Status != StatusScheduled && cur.Status != StatusConfirmed {
				return conflict("not_reschedulable", "Only a scheduled or confirmed appointment can be moved; this one is "+statusWords(cur.Status)+".")
			}
			loc, err := clinicLocation(cur.TimeZone)
			if err != nil {
				return err
			}
			if t, ok, err := in.start(loc); err != nil {
				return err
			} else if ok {
				start = t
			}
			d := end.Sub(cur.StartsAt)
			if in.DurationMin != nil {
				d = time.Duration(*in.DurationMin) * time.Minute
			}
			end = start.Add(d)
			if in.DentistID != nil && *in.DentistID != cur.DentistID {
				if err := bookableStaff(ctx, tx, p.Tenant, "dentist_id", *in.DentistID, "dentist"); err != nil {
					return err
				}
				dentist = *in.DentistID
			}
			if in.HygienistID.Set {
				if in.HygienistID.ID != nil && (cur.HygienistID == nil || *cur.HygienistID != *in.HygienistID.ID) {
					if err := bookableStaff(ctx, tx, p.Tenant, "hygienist_id", *in.HygienistID.ID, "hygienist"); err != nil {
						return err
					}
				}
				hygienist = in.HygienistID.ID
			}
			if in.OperatoryID != nil && *in.OperatoryID != cur.OperatoryID {
				if err := bookableChair(ctx, tx, p.Tenant, *in.OperatoryID); err != nil {
					return err
				}
				chair = *in.OperatoryID
			}
		}
		if err := s.dayRule(cur, status, start); err != nil {
			return err
		}
		cancelReason := cur.CancelReason
		if in.CancelReason != nil {
			if cur.Status == StatusCancelled {
				return conflict("invalid_transition", "This appointment is already cancelled; its reason cannot change.")
			}
			cancelReason = in.CancelReason
		}
		hoursOverride, overridden := cur.HoursOverride, false
		if !start.Equal(cur.StartsAt) || !end.Equal(cur.EndsAt) || in.HoursOverride != nil {
			if overridden, err = hoursRule(ctx, tx, p.Tenant, start, end, in.HoursOverride); err != nil {
				return err
			}
			hoursOverride = nil
			if overridden {
				hoursOverride = in.HoursOverride
			}
		}
		// Moving an appointment checks the dentist again, and so does
		// confirming one: portal requests are booked without the check
		// (a patient cannot see the dentist's other patients), and the
		// front desk's confirmation is where an overlap is caught.
		confirming := status == StatusConfirmed && cur.Status != StatusConfirmed
		checkDentist := (in.reschedules() || confirming) && liveStatus(status) && hygienist == nil && !in.AllowDentistOverlap
		if checkDentist {
			if err := lockDentist(ctx, tx, p.Tenant, dentist); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `update appointments set dentist_id = $3, hygienist_id = $4, operatory_id = $5,
			starts_at = $6, ends_at = $7, type = coalesce($8, type), note = coalesce($9, note), status = $10,
			hours_override = $11, cancel_reason = $12, updated_at = now()
			where clinic_id = $1 and id = $2`,
			p.Tenant, id, dentist, hygienist, chair, start, end, in.Type, in.Note, status, hoursOverride, cancelReason); err != nil {
			return appointmentConflict(err)
		}
		if checkDentist {
			if err := dentistFree(ctx, tx, p.Tenant, id, dentist, start, end); err != nil {
				return err
			}
		}
		if err := record(ctx, tx, "appointment.update", "appointment", id); err != nil {
			return err
		}
		if overridden {
			if err := record(ctx, tx, "appointment.hours_override", "appointment", id); err != nil {
				return err
			}
		}
		if !start.Equal(cur.StartsAt) && (status == StatusScheduled || status == StatusConfirmed) {
			if err := s.remind(ctx, tx, id, start); err != nil {
				return err
			}
		}
		out, err = scanAppointment(tx.QueryRow(ctx, `select `+appointmentColumns+appointmentFrom+` where a.clinic_id = $1 and a.id = $2`, p.Tenant, id))
		return err
	})
	return out, wrap("update appointment", err)
}

// dayStatuses are the statuses that say the appointment has begun (or
// was missed): none may be set before the appointment's day.
var dayStatuses = []string{StatusArrived, StatusCompleted, StatusNoShow}

// dayRule refuses (ErrConflict CodeBeforeDay) a change of a's status to
// one of dayStatuses before the day of start (the appointment's start once
// changed) in the clinic's time zone, by the store's clock.
func (s *Store) dayRule(a Appointment, status string, start time.Time) error {
	if status == a.Status || !slices.Contains(dayStatuses, status) {
		return nil
	}
	loc, err := clinicLocation(a.TimeZone)
	if err != nil {
		return err
	}
	today, day := s.now().In(loc).Format(time.DateOnly), start.In(loc).Format(time.DateOnly)
	if today < day {
		return conflict(CodeBeforeDay, "An appointment cannot be marked "+label(status)+" before its day ("+day+"); today is "+today+" at the clinic.")
	}
	return nil
}

// StatusAllowedNow reports whether a's status may be changed to status
// now, as far as the day goes ([CodeBeforeDay]): the same rule
// UpdateAppointment applies, for a form that should not offer what the
// store would refuse. The status machine is [Transitions].
func (s *Store) StatusAllowedNow(a Appointment, status string) bool {
	return s.dayRule(a, status, a.StartsAt) == nil
}

// label writes a status as the day's words: "no_show" is "no-show".
func label(status string) string {
	if status == StatusNoShow {
		return "no-show"
	}
	return status
}

// statusWords writes a status for people: "no_show" is "a no-show".
func statusWords(status string) string {
	if status == StatusNoShow {
		return "a no-show"
	}
	return status
}

// clinicZone returns the caller's clinic's time zone from the registry.
func clinicZone(ctx context.Context, tx *tenantdb.Tx, clinic tenancy.ID) (*time.Location, error) {
	var name string
	if err := tx.QueryRow(ctx, `select time_zone from clinics where id = $1`, clinic).Scan(&name); err != nil {
		return nil, notFound(err)
	}
	return clinicLocation(name)
}

// bookablePatient refuses a patient who is not on the clinic's books (or is
// archived) as invalid input: another clinic's patient is as unknown as a
// made-up id.
func bookablePatient(ctx context.Context, tx *tenantdb.Tx, clinic, id tenancy.ID) error {
	var status string
	err := tx.QueryRow(ctx, `select status from patients where clinic_id = $1 and id = $2`, clinic, id).Scan(&status)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return invalid("patient_id", "patient_id is not a patient of this clinic")
	case err != nil:
		return err
	case status == "archived":
		return invalid("patient_id", "This patient's record is archived; reactivate it before booking.")
	}
	return nil
}

// bookableStaff refuses a staff id that is not an enabled member of the
// clinic's staff with role.
func bookableStaff(ctx context.Context, tx *tenantdb.Tx, clinic tenancy.ID, field string, id tenancy.ID, role string) error {
	var roles []string
	var disabled bool
	err := tx.QueryRow(ctx, `select roles, disabled from staff where clinic_id = $1 and id = $2`, clinic, id).Scan(&roles, &disabled)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return invalid(field, field+" is not a member of this clinic's staff")
	case err != nil:
		return err
	case !slices.Contains(roles, role):
		return invalid(field, field+" is not a "+role+" of this clinic")
	case disabled:
		return invalid(field, field+" names a disabled account")
	}
	return nil
}

// bookableChair refuses an unknown chair, and a hidden one, which takes
// no new bookings.
func bookableChair(ctx context.Context, tx *tenantdb.Tx, clinic, id tenancy.ID) error {
	var hidden bool
	err := tx.QueryRow(ctx, `select hidden from operatories where clinic_id = $1 and id = $2`, clinic, id).Scan(&hidden)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return invalid("operatory_id", "operatory_id is not a chair of this clinic")
	case err != nil:
		return err
	case hidden:
		return &Error{Kind: ErrInvalid, Field: "operatory_id", Code: "operatory_hidden", Msg: "This chair is hidden and takes no new bookings."}
	}
	return nil
}

// lockDentist takes a transaction-scoped advisory lock on the clinic and
// dentist, so that two bookings of one dentist check for each other in
// turn: the second waits for the first to commit or roll back, then sees
// its row.
func lockDentist(ctx context.Context, tx *tenantdb.Tx, clinic, dentist tenancy.ID) error {
	_, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtextextended('appointments.dentist:' || $1::text || ':' || $2::text, 0))`,
		clinic.String(), dentist.String())
	return err
}

// dentistFree refuses, with ErrConflict "dentist_busy", a dentist who has
// another live appointment without a hygienist overlapping [start, end).
// The caller holds lockDentist.
func dentistFree(ctx context.Context, tx *tenantdb.Tx, clinic, self, dentist tenancy.ID, start, end time.Time) error {
	var busy bool
	err := tx.QueryRow(ctx, `select exists (select 1 from appointments where clinic_id = $1 and dentist_id = $2 and id <> $3
		and hygienist_id is null and status not in ('cancelled', 'no_show')
		and tstzrange(starts_at, ends_at, '[)') && tstzrange($4, $5, '[)'))`, clinic, dentist, self, start, end).Scan(&busy)
	if err != nil {
		return err
	}
	if busy {
		return conflict("dentist_busy", "The dentist already has a patient at that time. Choose another time or dentist, or book anyway with allow_dentist_overlap.")
	}
	return nil
}

// appointmentConflict maps the database's refusals of a booking to errors
// a receptionist understands.
func appointmentConflict(err error) error {
	code, name := constraint(err)
	switch {
	case code == "23P01" && name == "appointments_chair_free":
		return conflict("chair_busy", "That chair is already booked at that time. Choose another time or chair.")
	case code == "23P01" && name == "appointments_patient_free":
		return conflict("patient_busy", "This patient already has an appointment at that time.")
	case code == "23P01" && name == "appointments_hygienist_free":
		return conflict("hygienist_busy", "The hygienist already has a patient at that time. Choose another time or hygienist.")
	case code == "23503":
		for _, f := range []string{"patient_id", "dentist_id", "hygienist_id", "operatory_id"} {
			if strings.Contains(name, "_"+f+"_") {
				return invalid(f, f+" is not known at this clinic")
			}
		}
	case code == "23514" && name == "appointments_duration":
		return invalid("duration_min", "duration_min must be "+itoa(MinDurationMin)+" to "+itoa(MaxDurationMin)+" minutes")
	}
	return err
}
