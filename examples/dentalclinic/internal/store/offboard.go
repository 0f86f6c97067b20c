package store

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// The states of an offboarding.
const (
	OffboardRunning = "running"
	OffboardErased  = "erased"
	OffboardFailed  = "failed"
)

// Offboarding is the platform's record of a clinic it offboarded: its
// records exported, then erased (tenantarchive.Erase), with the erasure
// record. It outlives the clinic, and names it by value.
type Offboarding struct {
	ID           tenancy.ID `json:"id"`
	Clinic       tenancy.ID `json:"erased_clinic"`
	ClinicName   string     `json:"clinic_name"`
	RequestedBy  tenancy.ID `json:"requested_by"`
	Reason       string     `json:"reason"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at"`
	Status       string     `json:"status"`
	ExportedRows int64      `json:"exported_rows"`
	ExportDigest string     `json:"export_digest"`
	Digest       string     `json:"digest"` // the erasure record's
	// Record is the erasure record (tenantarchive.Erasure, JSON), once
	// erased.
	Record []byte `json:"record,omitempty"`
}

const offboardColumns = `id, erased_clinic, clinic_name, requested_by, reason, started_at, finished_at, status,
	exported_rows, export_digest, digest, coalesce(record::text, '')`

func scanOffboarding(row pgx.Row) (Offboarding, error) {
	var o Offboarding
	var rec string
	err := row.Scan(&o.ID, &o.Clinic, &o.ClinicName, &o.RequestedBy, &o.Reason, &o.StartedAt, &o.FinishedAt, &o.Status,
		&o.ExportedRows, &o.ExportDigest, &o.Digest, &rec)
	if rec != "" {
		o.Record = []byte(rec)
	}
	return o, err
}

// StartOffboarding begins the offboarding of a clinic by a platform admin
// (their own session), with a reason: the clinic is suspended (its
// sessions end), and the platform's record of the offboarding is written,
// running. ErrNotFound for a clinic the registry does not list, ErrConflict
// "offboarding" when one is under way, ErrInvalid for a reason without
// text. The export and the erasure follow (the app's offboarder), and
// FinishOffboarding records how it ended.
func (s *Store) StartOffboarding(ctx context.Context, clinic tenancy.ID, reason string) (Offboarding, error) {
	p, err := consoleAdmin(ctx)
	if err != nil {
		return Offboarding{}, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 || tenantdb.CheckReason(reason) != nil {
		return Offboarding{}, invalid("reason", "Give the reason for offboarding the clinic, in up to 500 characters.")
	}
	var out Offboarding
	err = s.db.System(ctx, "admin console: offboard clinic "+clinic.String(), func(tx *tenantdb.SystemTx) error {
		var name string
		if err := tx.QueryRow(ctx, `update clinics set status = 'suspended' where id = $1 returning name`, clinic).Scan(&name); err != nil {
			return notFound(err)
		}
		var err error
		out, err = scanOffboarding(tx.QueryRow(ctx, `insert into clinic_erasures (id, erased_clinic, clinic_name, requested_by, reason)
			values ($1, $2, $3, $4, $5) returning `+offboardColumns, tenancy.NewID(), clinic, name, p.Subject, reason))
		if code, _ := constraint(err); code == "23505" {
			return conflict("offboarding", "The clinic's offboarding is under way.")
		}
		if err != nil {
			return err
		}
		_, err = audit.Record(ctx, tx, audit.Event{Action: "clinic.offboard", ResourceType: "clinic", ResourceID: clinic.String(), Outcome: audit.Success})
		return err
	})
	return out, wrap("offboard clinic", err)
}

// FinishOffboarding records how offboarding id ended: erased, with the
// export's rows and digest and the erasure record and its digest, or
// failed (record nil).
func (s *Store) FinishOffboarding(ctx context.Context, id tenancy.ID, exportedRows int64, exportDigest string, record []byte, digest string) error {
	if _, err := consoleAdmin(ctx); err != nil {
		return err
	}
	status := OffboardErased
	var rec any = string(record)
	if record == nil {
		status, rec = OffboardFailed, nil
	}
	err := s.db.System(ctx, "admin console: offboarding "+id.String()+" "+status, func(tx *tenantdb.SystemTx) error {
		_, err := tx.Exec(ctx, `update clinic_erasures set status = $2, finished_at = now(), exported_rows = $3, export_digest = $4,
			record = $5::jsonb, digest = $6 where id = $1 and status = 'running'`, id, status, exportedRows, exportDigest, rec, digest)
		return err
	})
	return wrap("finish offboarding", err)
}

// Offboardings lists the platform's offboardings, newest first (at most
// 100), for a platform admin's own session.
func (s *Store) Offboardings(ctx context.Context) ([]Offboarding, error) {
	if _, err := consoleAdmin(ctx); err != nil {
		return nil, err
	}
	var out []Offboarding
	err := s.db.System(ctx, "admin console: list offboardings", func(tx *tenantdb.SystemTx) error {
		rows, err := tx.Query(ctx, `select `+offboardColumns+` from clinic_erasures order by started_at desc, id desc limit 100`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Offboarding, error) { return scanOffboarding(r) })
		return err
	})
	return out, wrap("list offboardings", err)
}
