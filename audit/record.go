package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Tx is the transaction [Record] writes in: a *tenantdb.Tx (tenant work,
// every statement guarded) or a pgx.Tx (a platform or system pool). Record
// sends its statements as one pipelined batch.
type Tx interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Record appends e to its tenant's hash chain in the caller's transaction
// tx, so the event commits with the action it describes or not at all, and
// returns the stored event. It sends one round trip; [RecordAtCommit]
// sends none of its own. It needs the principal in ctx, which becomes
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
// The database fills in Seq, PrevHash and Hash from the chain's head, in
// the statement that advances it; Record checks the hash against
// [Event.Sum] and returns an error when they differ.
//
// A failed Record leaves tx aborted: return its error so that the action
// rolls back. Record is safe for concurrent use on different transactions.
// When the event must be written even though the request's context was
// cancelled, pass context.WithoutCancel(ctx).
//
// [ActionSystem] is reserved for [OnSystem]: Record refuses it (with
// [ErrInvalidEvent]), so that no application event can pass for an entry
// point's record, such as the one [RunCompleted] reads.
func Record(ctx context.Context, tx Tx, e Event) (Event, error) {
	if e.Action == ActionSystem {
		return Event{}, fmt.Errorf("%w: action %s is OnSystem's alone", ErrInvalidEvent, ActionSystem)
	}
	e, err := withPrincipal(ctx, e)
	if err != nil {
		return Event{}, err
	}
	return record(ctx, tx, e, time.Now())
}

// withPrincipal sets e's tenant (when zero) and actor fields from the
// principal in ctx, as [Record] documents.
func withPrincipal(ctx context.Context, e Event) (Event, error) {
	p, ok := tenancy.FromContext(ctx)
	e.ActorKind, e.Actor, e.Grant, e.Impersonator, e.RequestID = tenancy.KindSystem, tenancy.ID{}, tenancy.ID{}, tenancy.ID{}, ""
	if !ok {
		return e, nil
	}
	if p.HasTenant() {
		if e.Tenant.IsZero() {
			e.Tenant = p.Tenant
		} else if e.Tenant != p.Tenant {
			return Event{}, ErrTenantMismatch
		}
	}
	return withActor(e, p), nil
}

// CommitQueue is a transaction that runs statements queued now when it
// commits, in COMMIT's round trip: *tenantdb.Tx
// ([tenantdb.Tx.QueueAtCommit]). A queued statement's failure must roll
// the transaction back.
type CommitQueue interface {
	Tx
	QueueAtCommit(sql string, args ...any) error
}

var _ CommitQueue = (*tenantdb.Tx)(nil)

// RecordAtCommit is [Record] for an action that does not need the stored
// event: it checks e and takes the actor from ctx now, exactly as Record
// does, and queues the event to be appended when tx commits, in the same
// round trip as COMMIT, so that auditing an action costs no round trip
// of its own. The event still commits with the action or not at all: if
// appending it fails, the transaction rolls back and the work returns the
// error. Events queued in one transaction join the chain in the order
// queued, after those that Record wrote in it.
//
// On a tx that is no [CommitQueue] (a pgx.Tx), RecordAtCommit appends
// the event at once, as Record does. Errors are Record's: [ErrTenantMismatch]
// and [ErrInvalidEvent] before anything is queued or sent, or the
// transaction's refusal of the statements.
func RecordAtCommit(ctx context.Context, tx Tx, e Event) error {
	e, err := withPrincipal(ctx, e)
	if err != nil {
		return err
	}
	q, ok := tx.(CommitQueue)
	if !ok {
		_, err := record(ctx, tx, e, time.Now())
		return err
	}
	_, stmts, err := prepare(e, time.Now())
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if err := q.QueueAtCommit(s.sql, s.args...); err != nil {
			return fmt.Errorf("audit: queueing the event: %w", err)
		}
	}
	return nil
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
//
// The append statement locks the chain's head (o), advances it by one
// event and computes the event's hash there (n): SHA-256 of $2 (the
// encoding before Seq), Seq's 8 big-endian bytes, $3 (the encoding between
// Seq and PrevHash) and the head's hash, which is [Event.Encode]'s
// encoding with the head's values. The event's row (e) takes seq,
// prev_hash and hash from n, which the statement returns: not the row
// itself, since a principal who may not read the log may still write to
// it, and RETURNING would need the read policy. Without a head row n is empty and the insert fails
// (seq is NOT NULL): the head is created first, in the same round trip.
const (
	sqlCreateHead = `INSERT INTO audit.chain_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant_id) DO NOTHING`

	sqlAppendTenant = `WITH o AS (SELECT seq, hash FROM audit.chain_heads WHERE tenant_id = $1 FOR UPDATE),
n AS (UPDATE audit.chain_heads h SET seq = o.seq + 1,
        hash = sha256($2::bytea || decode(lpad(to_hex(o.seq + 1), 16, '0'), 'hex') || $3::bytea || o.hash)
    FROM o WHERE h.tenant_id = $1 RETURNING h.seq, o.hash AS prev_hash, h.hash),
` + sqlInsertEvent

	sqlAppendPlatform = `WITH o AS (SELECT seq, hash FROM audit.platform_head WHERE singleton FOR UPDATE),
n AS (UPDATE audit.platform_head h SET seq = o.seq + 1,
        hash = sha256($2::bytea || decode(lpad(to_hex(o.seq + 1), 16, '0'), 'hex') || $3::bytea || o.hash)
    FROM o WHERE h.singleton RETURNING h.seq, o.hash AS prev_hash, h.hash),
` + sqlInsertEvent

	sqlInsertEvent = `e AS (INSERT INTO audit.events (tenant_id, seq, id, version, occurred_at, actor_kind, actor_id,
    impersonation_grant_id, impersonator_id, action, resource_type, resource_id, outcome, reason,
    request_id, prev_hash, hash)
  VALUES ($1, (SELECT seq FROM n), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
    (SELECT prev_hash FROM n), (SELECT hash FROM n)))
SELECT seq, prev_hash, hash FROM n`
)

// statement is one statement of an append: its SQL and arguments.
type statement struct {
	sql  string
	args []any
}

// prepare validates e (actor fields already set), gives it its ID,
// Version and OccurredAt, and returns the statements that append it: for a
// tenant's chain, the head's creation and the append; for the platform
// chain, the append.
func prepare(e Event, now time.Time) (Event, []statement, error) {
	if err := e.Validate(); err != nil {
		return Event{}, nil, err
	}
	e.ID = tenancy.NewID()
	e.Version = EncodingVersion
	e.OccurredAt = now.UTC().Truncate(time.Microsecond)
	head, tail := e.encodeAround()
	args := []any{nullID(e.Tenant), head, tail, e.ID, e.Version, e.OccurredAt, e.ActorKind.String(),
		nullID(e.Actor), nullID(e.Grant), nullID(e.Impersonator), e.Action, e.ResourceType, e.ResourceID,
		e.Outcome.String(), e.Reason, e.RequestID}
	if e.Tenant.IsZero() {
		return e, []statement{{sqlAppendPlatform, args}}, nil
	}
	zero := Hash{}
	return e, []statement{{sqlCreateHead, []any{e.Tenant, zero[:]}}, {sqlAppendTenant, args}}, nil
}

// record validates e (actor fields already set), chains it and writes it,
// in one round trip, and returns it as stored.
func record(ctx context.Context, tx Tx, e Event, now time.Time) (Event, error) {
	e, stmts, err := prepare(e, now)
	if err != nil {
		return Event{}, err
	}
	b := &pgx.Batch{}
	for _, s := range stmts {
		b.Queue(s.sql, s.args...)
	}
	br := tx.SendBatch(ctx, b)
	if len(stmts) == 2 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return Event{}, fmt.Errorf("audit: creating the chain head: %w", err)
		}
	}
	var prev, hash []byte
	if err := br.QueryRow().Scan(&e.Seq, &prev, &hash); err != nil {
		br.Close()
		return Event{}, fmt.Errorf("audit: appending the event: %w", err)
	}
	if err := br.Close(); err != nil {
		return Event{}, fmt.Errorf("audit: appending the event: %w", err)
	}
	if len(prev) != len(e.PrevHash) || len(hash) != len(e.Hash) {
		return Event{}, fmt.Errorf("audit: the chain head's hash has %d bytes", len(prev))
	}
	copy(e.PrevHash[:], prev)
	e.Hash = e.Sum()
	if string(hash) != string(e.Hash[:]) {
		// The database hashed other bytes than the encoding: the event
		// would not verify. Refuse it; the caller rolls back.
		return Event{}, errors.New("audit: the database's hash of the event is not its encoding's")
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
