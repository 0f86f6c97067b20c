package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// ClinicActivity is what the platform console counts of a clinic without
// reaching inside it: its enabled staff and its patients not archived
// (numbers only, from the auth.clinic_sizes definer function), its audit
// entries and its impersonation grants, all and active (neither ended nor
// expired). Patient and staff rows stay unreadable to the platform role.
type ClinicActivity struct {
	Staff                int64
	Patients             int64
	AuditEntries         int64
	Impersonations       int64
	ActiveImpersonations int64
}

// ClinicActivities returns the counts of every clinic that has any, keyed
// by clinic. It needs a platform admin's own session (ErrNotPlatformAdmin
// otherwise) and reads through the platform role, recorded in the
// platform-wide audit chain like every console read.
func (s *Store) ClinicActivities(ctx context.Context) (map[tenancy.ID]ClinicActivity, error) {
	if _, err := consoleAdmin(ctx); err != nil {
		return nil, err
	}
	out := map[tenancy.ID]ClinicActivity{}
	err := s.db.System(ctx, "admin console: count clinic activity", func(tx *tenantdb.SystemTx) error {
		rows, err := tx.Query(ctx, `select clinic_id, staff, patients from auth.clinic_sizes()`)
		if err != nil {
			return err
		}
		var id tenancy.ID
		var n, m int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &n, &m}, func() error {
			a := out[id]
			a.Staff, a.Patients = n, m
			out[id] = a
			return nil
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `select tenant_id, count(*) from audit.events where tenant_id is not null group by tenant_id`)
		if err != nil {
			return err
		}
		if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
			a := out[id]
			a.AuditEntries = n
			out[id] = a
			return nil
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `select tenant_id, count(*), count(*) filter (where ended_at is null and expires_at > now())
			from audit.impersonation_grants group by tenant_id`)
		if err != nil {
			return err
		}
		var active int64
		_, err = pgx.ForEachRow(rows, []any{&id, &n, &active}, func() error {
			a := out[id]
			a.Impersonations, a.ActiveImpersonations = n, active
			out[id] = a
			return nil
		})
		return err
	})
	return out, wrap("clinic activity", err)
}
