package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
)

// Tx is the transaction [Record] writes in: a *tenantdb.Tx (tenant work,
// every statement guarded) or a pgx.Tx (a platform or system pool). Record
// sends its statements as two pipelined batches.
type Tx interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Record appends e to its tenant's hash chain in the caller's transaction
// tx, so the event commits with the action it describes or not at all, and
// returns the stored event. It needs the principal in ctx, which becomes
// the actor (the impersonating admin and the grant when there is one; with
// no principal the actor is the system), and sets the fields that [Event]
// says Record sets.
//
// e.Tenant zero means the principal's tenant, or the platform-wide chain
// when the principal has none; an e.Tenant other than the principal's
// tenant is refused ([ErrTenantMismatch]). Invalid fields give an error
// wrapping [ErrInvalidEvent]. Both errors come before any SQL is sent.
//
// Record locks the chain's head row (SELECT ... FOR UPDATE on
// audit.chain_heads, or audit.platform_head) until tx ends: writers to one
// tenant's chain serialize, writers to different tenants do not block each
// other. Keep transactions that record events short. Under REPEATABLE READ
// or SERIALIZABLE a concurrent writer makes Record fail with a
// serialization error (SQLSTATE 40001); retry the transaction.
//
// A failed Record leaves tx aborted: return its error so that the action
// rolls back. Record is safe for concurrent use on different transactions.
// When the event must be written even though the request's context was
// cancelled, pass context.WithoutCancel(ctx).
func Record(ctx context.Context, tx Tx, e Event) (Event, error) {
	p, ok := tenancy.FromContext(ctx)
	e.ActorKind, e.Actor, e.Grant, e.Impersonator, e.RequestID = tenancy.KindSystem, tenancy.ID{}, tenancy.ID{}, tenancy.ID{}, ""
	if ok {
		if p.HasTenant() {
			if e.Tenant.IsZero() {
				e.Tenant = p.Tenant
			} else if e.Tenant != p.Tenant {
				return Event{}, ErrTenantMismatch
			}
		}
		e = withActor(e, p)
	}
	return record(ctx, tx, e, time.Now())
}

// Append chains e in tx as given: unlike [Record] it takes nothing from
// ctx. The caller sets Tenant (zero: the platform-wide chain), the actor
// fields (ActorKind, Actor, Grant, Impersonator, RequestID) and,
// optionally, OccurredAt (zero means now); Append sets ID, Seq, Version,
// PrevHash and Hash, and returns the stored event.
//
// It is for code that records on behalf of a principal that is not, or
// not yet, in the context: package impersonation records a grant's start,
// end and refusals with it, naming the grant and its admin whoever acts.
// Application code should call Record, which cannot name another actor.
// Row-level security still confines the event to the tenant of tx's
// context, and everything Record says about locking, failures and
// concurrency holds. Invalid fields give an error wrapping
// [ErrInvalidEvent] before any SQL is sent.
func Append(ctx context.Context, tx Tx, e Event) (Event, error) {
	now := e.OccurredAt
	if now.IsZero() {
		now = time.Now()
	}
	return record(ctx, tx, e, now)
}

// withActor sets e's actor fields from p.
func withActor(e Event, p tenancy.Principal) Event {
	e.ActorKind = p.Kind
	e.Actor = p.Actor()
	e.RequestID = p.RequestID
	if p.Impersonation != nil {
		e.Grant, e.Impersonator = p.Impersonation.GrantID, p.Impersonation.Admin
	}
	return e
}

// SQL of the chain. Every statement on audit.chain_heads and audit.events
// names the tenant as `tenant_id = $1`, bound to the tenant's id, which is
// what tenantdb's guard requires of tenant statements.
const (
	sqlCreateHead = `INSERT INTO audit.chain_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant_id) DO NOTHING`
	sqlLockHead   = `SELECT seq, hash FROM audit.chain_heads WHERE tenant_id = $1 FOR UPDATE`
	sqlMoveHead   = `UPDATE audit.chain_heads SET seq = $2, hash = $3 WHERE tenant_id = $1`

	sqlLockPlatformHead = `SELECT seq, hash FROM audit.platform_head WHERE singleton FOR UPDATE`
	sqlMovePlatformHead = `UPDATE audit.platform_head SET seq = $1, hash = $2 WHERE singleton`

	sqlInsertEvent = `INSERT INTO audit.events (tenant_id, seq, id, version, occurred_at, actor_kind, actor_id,
    impersonation_grant_id, impersonator_id, action, resource_type, resource_id, outcome, reason,
    request_id, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`
)

// record validates e (actor fields already set), chains it and writes it.
func record(ctx context.Context, tx Tx, e Event, now time.Time) (Event, error) {
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	e.ID = tenancy.NewID()
	e.Version = EncodingVersion
	e.OccurredAt = now.UTC().Truncate(time.Microsecond)

	// Round trip 1: make sure the head exists, then lock it.
	b := &pgx.Batch{}
	if e.Tenant.IsZero() {
		b.Queue(sqlLockPlatformHead)
	} else {
		zero := Hash{}
		b.Queue(sqlCreateHead, e.Tenant, zero[:])
		b.Queue(sqlLockHead, e.Tenant)
	}
	var seq int64
	var prev []byte
	br := tx.SendBatch(ctx, b)
	if !e.Tenant.IsZero() {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return Event{}, fmt.Errorf("audit: creating the chain head: %w", err)
		}
	}
	if err := br.QueryRow().Scan(&seq, &prev); err != nil {
		br.Close()
		return Event{}, fmt.Errorf("audit: locking the chain head: %w", err)
	}
	if err := br.Close(); err != nil {
		return Event{}, fmt.Errorf("audit: locking the chain head: %w", err)
	}
	if len(prev) != len(e.PrevHash) {
		return Event{}, fmt.Errorf("audit: chain head hash has %d bytes", len(prev))
	}
	e.Seq = seq + 1
	copy(e.PrevHash[:], prev)
	e.Hash = e.Sum()

	// Round trip 2: the event and the new head.
	b = &pgx.Batch{}
	b.Queue(sqlInsertEvent, nullID(e.Tenant), e.Seq, e.ID, e.Version, e.OccurredAt, e.ActorKind.String(),
		nullID(e.Actor), nullID(e.Grant), nullID(e.Impersonator), e.Action, e.ResourceType, e.ResourceID,
		e.Outcome.String(), e.Reason, e.RequestID, e.PrevHash[:], e.Hash[:])
	if e.Tenant.IsZero() {
		b.Queue(sqlMovePlatformHead, e.Seq, e.Hash[:])
	} else {
		b.Queue(sqlMoveHead, e.Tenant, e.Seq, e.Hash[:])
	}
	br = tx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return Event{}, fmt.Errorf("audit: inserting the event: %w", err)
	}
	tag, err := br.Exec()
	if err != nil {
		br.Close()
		return Event{}, fmt.Errorf("audit: advancing the chain head: %w", err)
	}
	if err := br.Close(); err != nil {
		return Event{}, fmt.Errorf("audit: advancing the chain head: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return Event{}, fmt.Errorf("audit: advancing the chain head: %d rows updated", tag.RowsAffected())
	}
	return e, nil
}

// nullID returns nil (NULL) for the zero ID, else id.
func nullID(id tenancy.ID) any {
	if id.IsZero() {
		return nil
	}
	return id
}
