package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Appointment requests. A portal patient asks for a new appointment, or
// for one of theirs to move; the request waits for the front desk, who
// confirm or decline it. A request holds no chair and blocks no slot:
// only confirming it books (or moves) an appointment, and confirming
// checks again, as a staff booking would, that the clinic is open then,
// that a chair is free and that the dentist and the patient are. The
// patient sees each request's state, and the reason of a decline.

// Request kinds.
const (
	RequestNew  = "new"  // a new appointment
	RequestMove = "move" // an existing appointment at another time
)

// Request statuses. A request is requested until the front desk confirms
// or declines it; a move request is withdrawn when its appointment is
// cancelled first.
const (
	RequestRequested = "requested"
	RequestConfirmed = "confirmed"
	RequestDeclined  = "declined"
	RequestWithdrawn = "withdrawn"
)

// RequestStatuses lists every request status.
var RequestStatuses = []string{RequestRequested, RequestConfirmed, RequestDeclined, RequestWithdrawn}

// maxOpenRequests bounds the requests one patient may have waiting.
const maxOpenRequests = 5

// maxDeclineReason bounds the reason given for a decline.
const maxDeclineReason = 500

// Request is a patient's appointment request. StartsAt and EndsAt are the
// time asked for, UTC; LocalStart and LocalEnd the same in the clinic's
// zone. AppointmentID is, for a move, the appointment to move, and for a
// confirmed new request the appointment booked. PatientName and
// CurrentLocalStart (a move's appointment's present start) are filled for
// staff only.
type Request struct {
	ID                tenancy.ID  `json:"id"`
	ClinicID          tenancy.ID  `json:"clinic_id"`
	PatientID         tenancy.ID  `json:"patient_id"`
	Kind              string      `json:"kind"`
	AppointmentID     *tenancy.ID `json:"appointment_id"`
	DentistID         tenancy.ID  `json:"dentist_id"`
	StartsAt          time.Time   `json:"starts_at"`
	EndsAt            time.Time   `json:"ends_at"`
	DurationMin       int         `json:"duration_min"`
	LocalStart        string      `json:"local_start"`
	LocalEnd          string      `json:"local_end"`
	TimeZone          string      `json:"time_zone"`
	Type              string      `json:"type"`
	Status            string      `json:"status"`
	Reason            string      `json:"reason"`
	CreatedAt         time.Time   `json:"created_at"`
	DecidedAt         *time.Time  `json:"decided_at"`
	PatientName       string      `json:"patient_name,omitempty"`
	CurrentLocalStart string      `json:"current_local_start,omitempty"`
}

const requestColumns = `q.id, q.clinic_id, q.patient_id, q.kind, q.appointment_id, q.dentist_id, q.starts_at, q.ends_at, q.type,
	q.status, q.reason, q.created_at, q.decided_at, c.time_zone`

// requestFrom is the FROM clause of requestColumns, for a clinic $1.
const requestFrom = ` from appointment_requests q join clinics c on c.id = q.clinic_id where q.clinic_id = $1`

// staffRequestColumns adds what the front desk sees: the patient's name
// and a move's present start.
const staffRequestColumns = requestColumns + `, p.given_name || ' ' || p.family_name,
	(select a.starts_at from appointments a where a.clinic_id = $1 and a.id = q.appointment_id and q.kind = 'move')`

const staffRequestFrom = ` from appointment_requests q join clinics c on c.id = q.clinic_id
	join patients p on p.clinic_id = q.clinic_id and p.id = q.patient_id and p.clinic_id = $1
	where q.clinic_id = $1`

func scanRequestInto(q *Request, extra ...any) []any {
	return append([]any{&q.ID, &q.ClinicID, &q.PatientID, &q.Kind, &q.AppointmentID, &q.DentistID, &q.StartsAt, &q.EndsAt, &q.Type,
		&q.Status, &q.Reason, &q.CreatedAt, &q.DecidedAt, &q.TimeZone}, extra...)
}

func (q *Request) localize(current *time.Time) error {
	loc, err := clinicLocation(q.TimeZone)
	if err != nil {
		return err
	}
	q.StartsAt, q.EndsAt, q.CreatedAt = q.StartsAt.UTC(), q.EndsAt.UTC(), q.CreatedAt.UTC()
	if q.DecidedAt != nil {
		*q.DecidedAt = q.DecidedAt.UTC()
	}
	q.DurationMin = int(q.EndsAt.Sub(q.StartsAt) / time.Minute)
	q.LocalStart, q.LocalEnd = q.StartsAt.In(loc).Format(LocalLayout), q.EndsAt.In(loc).Format(LocalLayout)
	if current != nil {
		q.CurrentLocalStart = current.In(loc).Format(LocalLayout)
	}
	return nil
}

func scanRequest(row pgx.Row) (Request, error) {
	var q Request
	if err := row.Scan(scanRequestInto(&q)...); err != nil {
		return q, err
	}
	return q, q.localize(nil)
}

func scanStaffRequest(row pgx.Row) (Request, error) {
	var q Request
	var current *time.Time
	if err := row.Scan(scanRequestInto(&q, &q.PatientName, &current)...); err != nil {
		return q, err
	}
	return q, q.localize(current)
}

// errOutsideHours is the answer for a time the clinic is not open for.
var errOutsideHours = &Error{Kind: ErrInvalid, Field: "starts_at", Code: "outside_opening_hours",
	Msg: "The clinic is not open for the whole of that time. Choose a time within its opening hours."}

// clinicRules are what the portal's rules read of a clinic: its zone, its
// opening hours and closures (clinic_settings' JSON) and its cancellation
// notice.
type clinicRules struct {
	loc             *time.Location
	hours, closures []byte
	notice          time.Duration
}

func readClinicRules(ctx context.Context, tx *tenantdb.Tx, clinic tenancy.ID) (clinicRules, error) {
	var r clinicRules
	var zone string
	var hours int
	err := tx.QueryRow(ctx, `select c.time_zone, s.opening_hours, s.closures, coalesce(s.cancel_notice_hours, $2)
		from clinics c left join clinic_settings s on s.clinic_id = c.id and s.clinic_id = $1
		where c.id = $1`, clinic, DefaultCancelNoticeHours).Scan(&zone, &r.hours, &r.closures, &hours)
	if err != nil {
		return r, notFound(err)
	}
	r.notice = time.Duration(hours) * time.Hour
	r.loc, err = clinicLocation(zone)
	return r, err
}

// open refuses [start, end) unless the clinic is open for all of it.
func (r clinicRules) open(start, end time.Time) error {
	ok, err := portalOpen(r.hours, r.closures, r.loc, start, end)
	if err != nil {
		return err
	}
	if !ok {
		return errOutsideHours
	}
	return nil
}

// inNotice refuses, with ErrConflict "too_late", a change to an
// appointment starting within the clinic's notice of now.
func (r clinicRules) inNotice(start, now time.Time) error {
	if start.Sub(now) < r.notice {
		hours := int(r.notice / time.Hour)
		return conflict("too_late", "Appointments can be changed online only up to "+itoa(hours)+" hours before they start. Please call the clinic.")
	}
	return nil
}

// patientFree refuses, with ErrConflict "patient_busy", a time that
// overlaps one of the patient's live appointments (but except, if not
// nil) or waiting requests.
func patientFree(ctx context.Context, tx *tenantdb.Tx, clinic, patient tenancy.ID, except *tenancy.ID, start, end time.Time) error {
	var busy bool
	err := tx.QueryRow(ctx, `select exists (select 1 from appointments where clinic_id = $1 and patient_id = $2 and ($5::uuid is null or id <> $5)
			and status not in ('cancelled', 'no_show') and tstzrange(starts_at, ends_at, '[)') && tstzrange($3, $4, '[)'))
		or exists (select 1 from appointment_requests where clinic_id = $1 and patient_id = $2 and status = 'requested'
			and tstzrange(starts_at, ends_at, '[)') && tstzrange($3, $4, '[)'))`,
		clinic, patient, start, end, except).Scan(&busy)
	if err != nil {
		return err
	}
	if busy {
		return conflict("patient_busy", "You already have an appointment, or a request waiting, at that time.")
	}
	return nil
}

// openRequestsFull refuses a patient who has maxOpenRequests waiting.
func openRequestsFull(ctx context.Context, tx *tenantdb.Tx, clinic, patient tenancy.ID) error {
	var n int
	if err := tx.QueryRow(ctx, `select count(*) from appointment_requests where clinic_id = $1 and patient_id = $2 and status = 'requested'`,
		clinic, patient).Scan(&n); err != nil {
		return err
	}
	if n >= maxOpenRequests {
		return conflict("too_many_requests", "You have "+itoa(n)+" requests waiting for the clinic already. Wait for an answer, or call the clinic.")
	}
	return nil
}

// RequestAppointment asks, for the signed-in patient, for an appointment
// with their primary dentist at the requested time. The request waits for
// the front desk (ConfirmRequest, DeclineRequest) and holds no chair
// meanwhile. The time must lie within the clinic's opening hours (in the
// clinic's time zone) and not on a closure (ErrInvalid
// "outside_opening_hours"), and not overlap the patient's own
// appointments or waiting requests (ErrConflict "patient_busy"). It
// answers ErrInvalid "no_primary_dentist" for a patient without a primary
// dentist and ErrConflict "too_many_requests" for one with five requests
// waiting. The dentist's other bookings and the chairs are not checked
// here (the patient cannot read them); confirming does.
func (s *Store) RequestAppointment(ctx context.Context, in AppointmentRequest) (Request, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return Request{}, err
	}
	if err := in.validate(time.Now()); err != nil {
		return Request{}, err
	}
	start := in.StartsAt.UTC()
	end := start.Add(time.Duration(*in.DurationMin) * time.Minute)
	var out Request
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var status string
		var dentist *tenancy.ID
		if err := tx.QueryRow(ctx, `select status, primary_dentist_id from patients where clinic_id = $1 and id = $2`,
			clinic, self).Scan(&status, &dentist); err != nil {
			return notFound(err)
		}
		if status == "archived" {
			return invalid("patient", "Your record at this clinic is archived; please call the clinic.")
		}
		if dentist == nil {
			return &Error{Kind: ErrInvalid, Code: "no_primary_dentist", Msg: "The clinic has not assigned you a dentist yet; please call the clinic."}
		}
		rules, err := readClinicRules(ctx, tx, clinic)
		if err != nil {
			return err
		}
		if err := rules.open(start, end); err != nil {
			return err
		}
		if err := patientFree(ctx, tx, clinic, self, nil, start, end); err != nil {
			return err
		}
		if err := openRequestsFull(ctx, tx, clinic, self); err != nil {
			return err
		}
		id := tenancy.NewID()
		if _, err := tx.Exec(ctx, `insert into appointment_requests (clinic_id, id, patient_id, kind, dentist_id, starts_at, ends_at, type)
			values ($1, $2, $3, 'new', $4, $5, $6, $7)`, clinic, id, self, *dentist, start, end, *in.Type); err != nil {
			return err
		}
		if err := record(ctx, tx, "appointment_request.create", "appointment_request", id); err != nil {
			return err
		}
		out, err = scanRequest(tx.QueryRow(ctx, `select `+requestColumns+requestFrom+` and q.id = $2`, clinic, id))
		return err
	})
	return out, wrap("request appointment", err)
}

// MoveRequest asks for one of the patient's appointments at another time;
// the duration and type stay.
type MoveRequest struct {
	StartsAt *time.Time `json:"starts_at"`
}

// portalOwnAppointment locks one of the signed-in patient's appointments
// for a change; another patient's is ErrNotFound, like a missing one. A
// change needs a scheduled or confirmed appointment (ErrConflict
// "not_changeable") that starts outside the clinic's notice ("too_late").
func portalOwnAppointment(ctx context.Context, tx *tenantdb.Tx, clinic, self, id tenancy.ID, rules clinicRules, now time.Time) (PortalAppointment, error) {
	a, err := scanPortalAppointment(tx.QueryRow(ctx, portalAppointmentSelect+` and a.id = $3 for update of a`, clinic, self, id))
	if err != nil {
		return a, notFound(err)
	}
	if a.Status != StatusScheduled && a.Status != StatusConfirmed {
		return a, conflict("not_changeable", "This appointment is "+statusWords(a.Status)+"; it cannot be changed.")
	}
	return a, rules.inNotice(a.StartsAt, now)
}

// RequestMove asks, for the signed-in patient, for one of their
// appointments to move to in.StartsAt. Like a new request it waits for
// the front desk; the appointment keeps its time until then. The
// appointment must be the patient's own (else ErrNotFound), scheduled or
// confirmed ("not_changeable"), and start outside the clinic's
// cancellation notice ("too_late"); the new time must be one the clinic
// is open ("outside_opening_hours") and the patient free. An appointment
// has one move request waiting at most ("move_pending").
func (s *Store) RequestMove(ctx context.Context, id tenancy.ID, in MoveRequest) (Request, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return Request{}, err
	}
	if in.StartsAt == nil {
		return Request{}, invalid("starts_at", "starts_at is required")
	}
	now := time.Now()
	var out Request
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		rules, err := readClinicRules(ctx, tx, clinic)
		if err != nil {
			return err
		}
		a, err := portalOwnAppointment(ctx, tx, clinic, self, id, rules, now)
		if err != nil {
			return err
		}
		d := a.DurationMin
		if err := (AppointmentRequest{StartsAt: in.StartsAt, DurationMin: &d, Type: &a.Type}).validate(now); err != nil {
			if e := (*Error)(nil); errors.As(err, &e) && e.Field == "duration_min" {
				return conflict("not_changeable", "This appointment is too long to move online; please call the clinic.")
			}
			return err
		}
		start := in.StartsAt.UTC()
		end := start.Add(time.Duration(d) * time.Minute)
		if start.Equal(a.StartsAt) {
			return invalid("starts_at", "That is the appointment's present time. Choose another time.")
		}
		if err := rules.open(start, end); err != nil {
			return err
		}
		if err := patientFree(ctx, tx, clinic, self, &id, start, end); err != nil {
			return err
		}
		if err := openRequestsFull(ctx, tx, clinic, self); err != nil {
			return err
		}
		rid := tenancy.NewID()
		if _, err := tx.Exec(ctx, `insert into appointment_requests (clinic_id, id, patient_id, kind, appointment_id, dentist_id, starts_at, ends_at, type)
			values ($1, $2, $3, 'move', $4, $5, $6, $7, $8)`, clinic, rid, self, id, a.DentistID, start, end, a.Type); err != nil {
			if code, name := constraint(err); code == "23505" && name == "appointment_requests_one_move" {
				return conflict("move_pending", "You have asked to move this appointment already; wait for the clinic's answer.")
			}
			return err
		}
		if err := record(ctx, tx, "appointment_request.create", "appointment_request", rid); err != nil {
			return err
		}
		out, err = scanRequest(tx.QueryRow(ctx, `select `+requestColumns+requestFrom+` and q.id = $2`, clinic, rid))
		return err
	})
	return out, wrap("request move", err)
}

// CancelOwnAppointment cancels one of the signed-in patient's
// appointments at once, if it starts outside the clinic's cancellation
// notice (Settings.CancelNoticeHours; ErrConflict "too_late" inside it)
// and is scheduled or confirmed ("not_changeable"). Another patient's
// appointment is ErrNotFound, like a missing one. A move request waiting
// for it is withdrawn. The cancellation is audited.
func (s *Store) CancelOwnAppointment(ctx context.Context, id tenancy.ID) (PortalAppointment, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return PortalAppointment{}, err
	}
	var out PortalAppointment
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		rules, err := readClinicRules(ctx, tx, clinic)
		if err != nil {
			return err
		}
		if _, err := portalOwnAppointment(ctx, tx, clinic, self, id, rules, time.Now()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update appointments set status = 'cancelled', updated_at = now()
			where clinic_id = $1 and patient_id = $2 and id = $3`, clinic, self, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update appointment_requests set status = 'withdrawn', decided_at = now()
			where clinic_id = $1 and patient_id = $2 and appointment_id = $3 and kind = 'move' and status = 'requested'`, clinic, self, id); err != nil {
			return err
		}
		if err := record(ctx, tx, "appointment.cancel", "appointment", id); err != nil {
			return err
		}
		out, err = scanPortalAppointment(tx.QueryRow(ctx, portalAppointmentSelect+` and a.id = $3`, clinic, self, id))
		return err
	})
	return out, wrap("cancel appointment", err)
}

// PortalRequests returns the signed-in patient's requests at the clinic,
// newest first, a page at a time.
func (s *Store) PortalRequests(ctx context.Context, pg PortalPage) ([]Request, string, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return nil, "", err
	}
	return s.listRequests(ctx, "portal requests", `select `+requestColumns+requestFrom+` and q.patient_id = $2`,
		[]any{clinic, self}, scanRequest, pg.Cursor, pg.Limit)
}

// PortalRequest returns one of the signed-in patient's requests; anyone
// else's is ErrNotFound, exactly like a missing one.
func (s *Store) PortalRequest(ctx context.Context, id tenancy.ID) (Request, error) {
	clinic, self, err := patientSelf(ctx)
	if err != nil {
		return Request{}, err
	}
	q, err := scanRequest(s.db.QueryRow(ctx, `select `+requestColumns+requestFrom+` and q.patient_id = $2 and q.id = $3`, clinic, self, id))
	return q, wrap("portal request", notFound(err))
}

// RequestFilter narrows the clinic's list of requests: Status one of
// RequestStatuses, or "" for all.
type RequestFilter struct {
	Status string
	// Cursor is the cursor of the page to read, as the previous page
	// returned it; "" for the first page.
	Cursor string
	// Limit is the number of requests a page holds at most (a default
	// when 0, capped at the store's largest page).
	Limit int
}

// Requests returns the caller's clinic's appointment requests, newest
// first, a page at a time, with the patients' names: the front desk's
// inbox.
func (s *Store) Requests(ctx context.Context, f RequestFilter) ([]Request, string, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, "", err
	}
	query, args := `select `+staffRequestColumns+staffRequestFrom, []any{p.Tenant}
	if f.Status != "" {
		if !oneOf(f.Status, RequestStatuses) {
			return nil, "", invalid("status", "status must be one of "+strings.Join(RequestStatuses, ", "))
		}
		args = append(args, f.Status)
		query += ` and q.status = $2`
	}
	return s.listRequests(ctx, "list requests", query, args, scanStaffRequest, f.Cursor, f.Limit)
}

func (s *Store) listRequests(ctx context.Context, what, query string, args []any, scan func(pgx.Row) (Request, error), cursor string, limit int) ([]Request, string, error) {
	var after struct {
		C  time.Time
		ID tenancy.ID
	}
	if err := decodeCursor(cursor, &after); err != nil {
		return nil, "", err
	}
	ks := keyset{cols: []string{"q.created_at", "q.id"}, desc: true}
	if !after.ID.IsZero() {
		var cond string
		cond, args = ks.after(args, after.C, after.ID)
		query += cond
	}
	return queryPage(ctx, s, what, query, args, ks, pageLimit(limit),
		func(r pgx.CollectableRow) (Request, error) { return scan(r) },
		func(last Request) any {
			after.C, after.ID = last.CreatedAt, last.ID
			return after
		})
}

// Request returns one appointment request of the caller's clinic, or
// ErrNotFound.
func (s *Store) Request(ctx context.Context, id tenancy.ID) (Request, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Request{}, err
	}
	q, err := scanStaffRequest(s.db.QueryRow(ctx, `select `+staffRequestColumns+staffRequestFrom+` and q.id = $2`, p.Tenant, id))
	return q, wrap("get request", notFound(err))
}

// lockRequest locks one waiting request of clinic for a decision:
// ErrNotFound for none, ErrConflict "request_decided" once decided.
func lockRequest(ctx context.Context, tx *tenantdb.Tx, clinic, id tenancy.ID) (Request, error) {
	q, err := scanRequest(tx.QueryRow(ctx, `select `+requestColumns+requestFrom+` and q.id = $2 for update of q`, clinic, id))
	if err != nil {
		return q, notFound(err)
	}
	if q.Status != RequestRequested {
		return q, conflict("request_decided", "This request is "+q.Status+" already.")
	}
	return q, nil
}

// ConfirmRequest confirms a waiting request of the caller's clinic: a new
// request is booked, confirmed, into the first free chair; a move moves
// its appointment (in its own chair if free, else the first free one) and
// confirms it. Everything a staff booking checks is checked again, now:
// the clinic is open then ("outside_opening_hours"), the time is still
// ahead ("request_past"), the dentist has no other patient then
// ("dentist_busy"), nor the patient ("patient_busy"), a chair is free
// ("no_free_chair"), and a move's appointment is still scheduled or
// confirmed ("not_changeable"). A refused confirmation changes nothing and
// leaves the request waiting. It answers ErrNotFound for another clinic's
// request or a missing one, ErrConflict "request_decided" for one decided
// already. The confirmation is audited.
func (s *Store) ConfirmRequest(ctx context.Context, id tenancy.ID) (Request, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Request{}, err
	}
	var out Request
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		q, err := lockRequest(ctx, tx, p.Tenant, id)
		if err != nil {
			return err
		}
		if !q.StartsAt.After(time.Now()) {
			return conflict("request_past", "The time asked for has passed; decline the request.")
		}
		rules, err := readClinicRules(ctx, tx, p.Tenant)
		if err != nil {
			return err
		}
		if err := rules.open(q.StartsAt, q.EndsAt); err != nil {
			return conflict("outside_opening_hours", "The clinic is not open for the whole of the time asked for.")
		}
		if err := bookablePatient(ctx, tx, p.Tenant, q.PatientID); err != nil {
			return err
		}
		if err := bookableStaff(ctx, tx, p.Tenant, "dentist_id", q.DentistID, "dentist"); err != nil {
			return err
		}
		apptID := tenancy.NewID()
		var chairs []tenancy.ID
		if q.Kind == RequestMove {
			apptID = *q.AppointmentID
			var status string
			var chair tenancy.ID
			if err := tx.QueryRow(ctx, `select status, operatory_id from appointments where clinic_id = $1 and id = $2 for update`,
				p.Tenant, apptID).Scan(&status, &chair); err != nil {
				return err
			}
			if status != StatusScheduled && status != StatusConfirmed {
				return conflict("not_changeable", "The appointment to move is "+statusWords(status)+" now; decline the request.")
			}
			chairs = append(chairs, chair)
		}
		rows, err := tx.Query(ctx, `select id from operatories where clinic_id = $1 and not hidden order by name, id`, p.Tenant)
		if err != nil {
			return err
		}
		visible, err := pgx.CollectRows(rows, pgx.RowTo[tenancy.ID])
		if err != nil {
			return err
		}
		chairs = append(chairs, visible...)
		if err := lockDentist(ctx, tx, p.Tenant, q.DentistID); err != nil {
			return err
		}
		if err := dentistFree(ctx, tx, p.Tenant, apptID, q.DentistID, q.StartsAt, q.EndsAt); err != nil {
			if e := (*Error)(nil); errors.As(err, &e) && e.Code == "dentist_busy" {
				return conflict("dentist_busy", "The dentist already has a patient at that time. Decline the request, or book another time yourself.")
			}
			return err
		}
		booked := false
		for _, chair := range chairs {
			if _, err := tx.Exec(ctx, `savepoint request_chair`); err != nil {
				return err
			}
			if q.Kind == RequestMove {
				_, err = tx.Exec(ctx, `update appointments set starts_at = $3, ends_at = $4, operatory_id = $5, status = 'confirmed', updated_at = now()
					where clinic_id = $1 and id = $2`, p.Tenant, apptID, q.StartsAt, q.EndsAt, chair)
			} else {
				_, err = tx.Exec(ctx, `insert into appointments (clinic_id, id, patient_id, dentist_id, operatory_id, starts_at, ends_at, type, note, status)
					values ($1, $2, $3, $4, $5, $6, $7, $8, 'Requested through the patient portal.', 'confirmed')`,
					p.Tenant, apptID, q.PatientID, q.DentistID, chair, q.StartsAt, q.EndsAt, q.Type)
			}
			if err == nil {
				booked = true
				break
			}
			if _, rerr := tx.Exec(ctx, `rollback to savepoint request_chair`); rerr != nil {
				return rerr
			}
			switch code, name := constraint(err); {
			case code == "23P01" && name == "appointments_chair_free":
				continue
			case code == "23P01" && name == "appointments_patient_free":
				return conflict("patient_busy", "The patient has another appointment at that time.")
			}
			return err
		}
		if !booked {
			return conflict("no_free_chair", "There is no free chair at that time. Decline the request, or free a chair first.")
		}
		if err := s.remind(ctx, tx, apptID, q.StartsAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update appointment_requests set status = 'confirmed', decided_at = now(), decided_by = $3, appointment_id = $4
			where clinic_id = $1 and id = $2`, p.Tenant, id, p.Subject, apptID); err != nil {
			return err
		}
		action := "appointment.create"
		if q.Kind == RequestMove {
			action = "appointment.update"
		}
		if err := record(ctx, tx, action, "appointment", apptID); err != nil {
			return err
		}
		if err := record(ctx, tx, "appointment_request.confirm", "appointment_request", id); err != nil {
			return err
		}
		out, err = scanStaffRequest(tx.QueryRow(ctx, `select `+staffRequestColumns+staffRequestFrom+` and q.id = $2`, p.Tenant, id))
		return err
	})
	return out, wrap("confirm request", err)
}

// DeclineRequest declines a waiting request of the caller's clinic, with
// an optional reason (at most 500 characters) that the patient reads in
// the portal. Nothing is booked or moved. It answers ErrNotFound for
// another clinic's request or a missing one, ErrConflict
// "request_decided" for one decided already. The decline is audited
// (never its reason).
func (s *Store) DeclineRequest(ctx context.Context, id tenancy.ID, reason string) (Request, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Request{}, err
	}
	reason = strings.TrimSpace(reason)
	if err := textField("reason", &reason, 0, maxDeclineReason); err != nil {
		return Request{}, err
	}
	var out Request
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		if _, err := lockRequest(ctx, tx, p.Tenant, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update appointment_requests set status = 'declined', reason = $3, decided_at = now(), decided_by = $4
			where clinic_id = $1 and id = $2`, p.Tenant, id, reason, p.Subject); err != nil {
			return err
		}
		if err := record(ctx, tx, "appointment_request.decline", "appointment_request", id); err != nil {
			return err
		}
		out, err = scanStaffRequest(tx.QueryRow(ctx, `select `+staffRequestColumns+staffRequestFrom+` and q.id = $2`, p.Tenant, id))
		return err
	})
	return out, wrap("decline request", err)
}

// ClinicNames returns the names of clinics ids from the clinic registry,
// which every principal may read: the portal's clinic switcher labels the
// sessions a browser holds with them. Unknown ids are left out.
func (s *Store) ClinicNames(ctx context.Context, ids []tenancy.ID) (map[tenancy.ID]string, error) {
	if _, err := tenant(ctx); err != nil {
		return nil, err
	}
	out := map[tenancy.ID]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, `select id, name from clinics where id = any($1::uuid[])`, idTexts(ids))
	if err != nil {
		return nil, wrap("clinic names", err)
	}
	var id tenancy.ID
	var name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		out[id] = name
		return nil
	})
	return out, wrap("clinic names", err)
}
