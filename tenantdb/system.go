package tenantdb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// System runs fn in a transaction on the system pool ([Config.System]),
// for deliberate tenant-less work: migrations, reads of the clinic registry,
// jobs. It is the only way around the tenant scoping, so each use is
// recorded: [Config.OnSystem] runs first, in the same transaction, and its
// error aborts the work. The transaction commits when fn returns nil and
// rolls back otherwise (or on panic, which is re-raised).
//
// reason must say why, in words an auditor can read. The principal in ctx,
// if any (a platform admin), is passed to the hook and recorded as the
// actor; no principal is needed. Statements in fn are not checked by the
// guard: the system role's own privileges are the limit. System returns
// [ErrNoSystem] when no system pool was configured and [ErrNoReason] for
// an empty reason.
func (p *Pool) System(ctx context.Context, reason string, fn func(tx pgx.Tx) error) error {
	if p.system == nil {
		return ErrNoSystem
	}
	if strings.TrimSpace(reason) == "" {
		return ErrNoReason
	}
	use := SystemUse{Reason: reason, Time: time.Now().UTC()}
	use.Principal, use.HasPrincipal = tenancy.FromContext(ctx)
	// System work is declared as kind system, with whoever asked for it as
	// subject and actor.
	declared := tenancy.Principal{Kind: tenancy.KindSystem, RequestID: use.Principal.RequestID}
	if use.HasPrincipal {
		declared.Subject = use.Principal.Actor()
	}
	principal, err := rls.EncodePrincipal(declared)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, p.system, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "select set_config('"+rls.SettingPrincipal+"', $1, true)", principal)
		if err != nil {
			return fmt.Errorf("tenantdb: system context: %w", err)
		}
		if err := p.onSystem(ctx, tx, use); err != nil {
			return fmt.Errorf("tenantdb: recording system work: %w", err)
		}
		return fn(tx)
	})
}
