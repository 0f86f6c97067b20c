package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// ReminderArgs are the arguments of an appointment's reminder job: the
// appointment and the start it was booked for. They carry no clinic: the
// job's clinic is the one of the transaction that enqueued it, sealed by
// tenantriver beside the job.
type ReminderArgs struct {
	AppointmentID tenancy.ID `json:"appointment_id"`
	StartsAt      time.Time  `json:"starts_at"`
}

// Kind is the reminder job's kind in River.
func (ReminderArgs) Kind() string { return "appointment_reminder" }

// Job is the arguments of a background job: ReminderArgs, ExportArgs.
type Job interface{ Kind() string }

// Jobs enqueues background jobs inside a tenant transaction (the one that
// books or moves an appointment, or asks for an export), so that a job
// exists if and only if the transaction commits. Which queue and when is
// the implementation's choice, by the job's type.
type Jobs interface {
	Enqueue(ctx context.Context, tx *tenantdb.Tx, job Job) error
}

// remind enqueues the reminder of appointment id starting at start, if the
// Store has Jobs.
func (s *Store) remind(ctx context.Context, tx *tenantdb.Tx, id tenancy.ID, start time.Time) error {
	if s.jobs == nil {
		return nil
	}
	return s.jobs.Enqueue(ctx, tx, ReminderArgs{AppointmentID: id, StartsAt: start})
}

// Reminder is a reminder written to the outbox.
type Reminder struct {
	AppointmentID tenancy.ID `json:"appointment_id"`
	PatientID     tenancy.ID `json:"patient_id"`
	StartsAt      time.Time  `json:"starts_at"`
	Channel       string     `json:"channel"`
	Body          string     `json:"body"`
	JobID         int64      `json:"job_id"`
	WrittenAt     time.Time  `json:"written_at"`
}

// SendReminder writes the reminder of r to the outbox, in the caller's
// clinic (a reminder job's context), and reports whether it wrote one. It
// writes nothing for an appointment that is no longer scheduled or
// confirmed, or that moved since the job was enqueued (its move enqueued a
// job of its own), and nothing twice: a job that runs again (a retry, a
// worker killed after the commit) finds its row written. An appointment
// the clinic does not have is ErrNotFound, as for any other read.
func (s *Store) SendReminder(ctx context.Context, jobID int64, r ReminderArgs) (bool, error) {
	p, err := tenant(ctx)
	if err != nil {
		return false, err
	}
	wrote := false
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var status, zone string
		var start time.Time
		var patient tenancy.ID
		err := tx.QueryRow(ctx, `select a.status, a.starts_at, a.patient_id, c.time_zone
			from appointments a join clinics c on c.id = a.clinic_id
			where a.clinic_id = $1 and a.id = $2`, p.Tenant, r.AppointmentID).Scan(&status, &start, &patient, &zone)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(err)
		}
		if err != nil {
			return err
		}
		if !start.Equal(r.StartsAt) || (status != StatusScheduled && status != StatusConfirmed) {
			return nil
		}
		loc, err := clinicLocation(zone)
		if err != nil {
			return err
		}
		body := "Reminder: your dental appointment is on " + start.In(loc).Format("Monday 2 January 2006 at 15:04") + "."
		tag, err := tx.Exec(ctx, `insert into reminder_outbox (clinic_id, appointment_id, starts_at, patient_id, body, job_id)
			values ($1, $2, $3, $4, $5, $6) on conflict do nothing`, p.Tenant, r.AppointmentID, start, patient, body, jobID)
		wrote = err == nil && tag.RowsAffected() == 1
		return err
	})
	return wrote, wrap("send reminder", err)
}

// RecentReminders lists the reminders written for the caller's clinic (for a
// patient, their own), newest first, at most limit.
func (s *Store) RecentReminders(ctx context.Context, limit int) ([]Reminder, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var out []Reminder
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		rows, err := tx.Query(ctx, `select appointment_id, patient_id, starts_at, channel, body, job_id, written_at
			from reminder_outbox where clinic_id = $1 order by written_at desc, appointment_id limit $2`, p.Tenant, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Reminder])
		return err
	})
	return out, wrap("list reminders", err)
}
