package audit

import (
	"context"

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
func OnSystem(ctx context.Context, tx pgx.Tx, use tenantdb.SystemUse) error {
	e := Event{Action: ActionSystem, Outcome: Success, Reason: use.Reason, ActorKind: tenancy.KindSystem, Tenant: use.Tenant}
	if use.HasPrincipal {
		e = withActor(e, use.Principal)
	}
	_, err := record(ctx, tx, e, use.Time)
	return err
}

var _ func(context.Context, pgx.Tx, tenantdb.SystemUse) error = OnSystem
