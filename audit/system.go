package audit

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// OnSystem records a use of [tenantdb.Pool.System] as a platform-wide
// event, and a use of [tenantdb.Pool.InTenant] as an event of its tenant's
// chain (action [ActionSystem], the use's reason, its principal as the
// actor, or the system when there is none). Set it as
// [tenantdb.Config.OnSystem]. It runs in the entry point's transaction,
// before the work: the event commits with the work, and if the work fails
// it rolls back with it. The System pool's role must be the platform role,
// which [Schema] lets write platform-wide events (the owner role may not).
//
// It fails (and so aborts the work) with an error wrapping
// [ErrInvalidEvent] when the reason is longer than [MaxReasonLen] or holds
// control characters, or with the database's error. It is safe for
// concurrent use.
//
// A tenant's part of a [tenantdb.Pool.EveryTenant] run is recorded with
// ResourceType [ResourceRun] and the run's name as ResourceID, which
// [RunCompleted] reads to resume the run.
func OnSystem(ctx context.Context, tx pgx.Tx, use tenantdb.SystemUse) error {
	e := Event{Action: ActionSystem, Outcome: Success, Reason: use.Reason, ActorKind: tenancy.KindSystem, Tenant: use.Tenant}
	if use.Run != "" {
		e.ResourceType, e.ResourceID = ResourceRun, use.Run
	}
	if use.HasPrincipal {
		e = withActor(e, use.Principal)
	}
	_, err := record(ctx, tx, e, use.Time)
	return err
}

var _ func(context.Context, pgx.Tx, tenantdb.SystemUse) error = OnSystem

// ResourceRun is the ResourceType of the events that [OnSystem] records
// for each tenant's part of a [tenantdb.Pool.EveryTenant] run; their
// ResourceID is the run's name.
const ResourceRun = "tenantdb.every_tenant"

// RunCompleted returns a [tenantdb.EveryTenantConfig].Completed that reads,
// through db, the tenants whose part of a run committed: those whose chain
// holds [OnSystem]'s event for it (action [ActionSystem], which [Record]
// refuses, by a system actor, a success). db must be the platform role's pool,
// which reads every tenant's events (in a read-only transaction declared
// as system work, as [Verify] does). Each tenant's event commits with its
// work, so a run resumed after a crash skips exactly the tenants whose
// work committed. It reads every event of the run; the audit tables have
// no index for it, so its cost grows with the platform's whole log.
func RunCompleted(db Beginner) func(ctx context.Context, run string) ([]tenancy.ID, error) {
	return func(ctx context.Context, run string) ([]tenancy.ID, error) {
		var ids []tenancy.ID
		err := readTx(ctx, db, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT DISTINCT tenant_id FROM audit.events
				WHERE tenant_id IS NOT NULL AND action = $1 AND resource_type = $2 AND resource_id = $3
				  AND actor_kind = $4 AND outcome = $5`, ActionSystem, ResourceRun, run, string(tenancy.KindSystem), Success.String())
			if err != nil {
				return err
			}
			ids, err = pgx.CollectRows(rows, pgx.RowTo[tenancy.ID])
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("audit: reading run %q: %w", run, err)
		}
		return ids, nil
	}
}
