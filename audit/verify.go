package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
)

// Beginner starts transactions: *pgxpool.Pool and *pgx.Conn implement it.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// ProblemKind says how a chain was tampered with.
type ProblemKind uint8

// The kinds of [Problem].
const (
	// Edited: an event's content no longer matches its hash, or it was
	// rewritten with a fresh hash and no longer matches the next event's
	// PrevHash.
	Edited ProblemKind = iota + 1
	// Deleted: one or more events are missing (a gap in seq, or fewer
	// events than the chain head counts).
	Deleted
	// Inserted: an event that was never chained: beyond the chain head, or
	// taking the place another event was written for.
	Inserted
	// Reordered: an event stands at another seq than it was written at.
	Reordered
	// HeadMismatch: the chain head is missing or does not match the last
	// event (the head, or the last event with a recomputed hash, was
	// rewritten).
	HeadMismatch
)

var problemNames = [...]string{Edited: "edited", Deleted: "deleted", Inserted: "inserted", Reordered: "reordered", HeadMismatch: "head mismatch"}

// String returns "edited", "deleted", "inserted", "reordered", "head
// mismatch", or "ProblemKind(n)".
func (k ProblemKind) String() string {
	if k >= Edited && k <= HeadMismatch {
		return problemNames[k]
	}
	return fmt.Sprintf("ProblemKind(%d)", uint8(k))
}

// Problem is the first point where a chain fails to verify. It is an
// error wrapping [ErrBroken].
type Problem struct {
	// Kind says what was found.
	Kind ProblemKind
	// Tenant is the chain's tenant; zero for the platform chain.
	Tenant tenancy.ID
	// Seq is the seq stored with Event; for [Deleted], the first missing
	// seq.
	Seq int64
	// Event is the event concerned; for Deleted, the first event after the
	// gap (zero when the gap is at the end of the chain).
	Event tenancy.ID
	// WrittenSeq, for [Reordered], is the seq the event was written at.
	WrittenSeq int64
}

// Error describes the problem.
func (p *Problem) Error() string {
	chain := "platform chain"
	if !p.Tenant.IsZero() {
		chain = "tenant " + p.Tenant.String()
	}
	switch p.Kind {
	case Deleted:
		if p.Event.IsZero() {
			return fmt.Sprintf("audit: %s: events deleted from seq %d to the end of the chain", chain, p.Seq)
		}
		return fmt.Sprintf("audit: %s: event at seq %d deleted (next surviving event %s)", chain, p.Seq, p.Event)
	case Reordered:
		return fmt.Sprintf("audit: %s: event %s reordered: written at seq %d, found at seq %d", chain, p.Event, p.WrittenSeq, p.Seq)
	case HeadMismatch:
		if p.Event.IsZero() {
			return fmt.Sprintf("audit: %s: chain head missing or mismatched", chain)
		}
		return fmt.Sprintf("audit: %s: chain head does not match event %s at seq %d", chain, p.Event, p.Seq)
	}
	return fmt.Sprintf("audit: %s: event %s at seq %d %s", chain, p.Event, p.Seq, p.Kind)
}

// Unwrap returns [ErrBroken].
func (p *Problem) Unwrap() error { return ErrBroken }

// Head is a chain's head: the seq and hash of its last event.
type Head struct {
	Seq  int64
	Hash Hash
}

// Report is what [Verify] found in one chain.
type Report struct {
	// Tenant is the chain's tenant; zero for the platform chain.
	Tenant tenancy.ID
	// Events is the number of events read.
	Events int64
	// Head is the stored chain head (zero when missing). Keeping its hash
	// outside the database (printed by `tenancy audit verify`) lets a later
	// Verify notice a chain rewritten wholesale by someone who could also
	// recompute every hash.
	Head Head
	// Problem is the first problem found, or nil when the chain verifies.
	Problem *Problem
}

// Verify reads the chain of tenant (zero: the platform chain) and its head
// in one REPEATABLE READ, READ ONLY transaction on db, recomputes every
// hash and link, and returns the report. For a broken chain the error is
// the report's [*Problem] (wrapping [ErrBroken]): the first edited,
// deleted, inserted or reordered event in seq order. Other errors are
// failures to read.
//
// db must be able to read every event of the chain: connect as the
// platform role (Verify declares system work, which its policies require)
// or as a superuser. Through the app role, row-level security hides the
// events and Verify reports them deleted. It reads the chain in seq order
// as a stream and holds one event at a time. It is safe for concurrent
// use.
//
// How problems are told apart, for the first event that does not follow
// (expected seq e, previous hash h): an event beyond the head's seq is
// Inserted; an intact event (its hash matches its content) at a seq above
// e means Deleted (seqs e onwards are missing); an intact event at seq e
// whose PrevHash is not h means the previous event was rewritten with a
// fresh hash: Edited, naming that previous event. An event whose hash
// does not match is Reordered when its hash matches with another seq (or
// Inserted for the previous event, when that one took the seq this one
// was written at), and Edited otherwise. After the last event, fewer
// events than the head counts is Deleted, and a head hash that differs is
// HeadMismatch. A chain rewritten wholesale with recomputed hashes and
// head verifies, and so does one truncated with its head moved back:
// [VerifyCheckpoint] compares the chains with a signed [Checkpoint] kept
// elsewhere.
func Verify(ctx context.Context, db Beginner, tenant tenancy.ID) (Report, error) {
	rep := Report{Tenant: tenant}
	err := readTx(ctx, db, func(tx pgx.Tx) error {
		var err error
		rep, err = verifyIn(ctx, tx, tenant)
		return err
	})
	if err != nil {
		return rep, err
	}
	if rep.Problem != nil {
		return rep, rep.Problem
	}
	return rep, nil
}

// VerifyAll verifies the platform chain and every tenant's chain (those
// with a head or an event) in one snapshot, and returns a report for each,
// the platform chain first, then by tenant id. The error joins the
// [*Problem] of every broken chain (so errors.Is(err, ErrBroken) tells),
// or is a failure to read. db as for [Verify]. It is safe for concurrent
// use.
//
// What it cannot see: it lists tenants from the audit tables themselves,
// so a chain deleted whole (events and head) is not listed and nothing is
// reported; and, as for Verify, a chain truncated or rewritten with its
// head and hashes recomputed verifies. [VerifyCheckpoint], with the tenant
// registry and a signed checkpoint, reports all three.
func VerifyAll(ctx context.Context, db Beginner) ([]Report, error) {
	var reports []Report
	err := readTx(ctx, db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id FROM audit.chain_heads
			UNION SELECT DISTINCT tenant_id FROM audit.events WHERE tenant_id IS NOT NULL ORDER BY 1`)
		if err != nil {
			return fmt.Errorf("audit: listing chains: %w", err)
		}
		tenants, err := pgx.CollectRows(rows, pgx.RowTo[tenancy.ID])
		if err != nil {
			return fmt.Errorf("audit: listing chains: %w", err)
		}
		for _, c := range append([]tenancy.ID{{}}, tenants...) {
			rep, err := verifyIn(ctx, tx, c)
			if err != nil {
				return err
			}
			reports = append(reports, rep)
		}
		return nil
	})
	if err != nil {
		return reports, err
	}
	var errs []error
	for _, r := range reports {
		if r.Problem != nil {
			errs = append(errs, r.Problem)
		}
	}
	return reports, errors.Join(errs...)
}

// readTx runs fn in a REPEATABLE READ, READ ONLY transaction that declares
// system work (the platform role's policies require a declared kind).
func readTx(ctx context.Context, db Beginner, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, declareSQL, declareSystem()); err != nil {
			return fmt.Errorf("audit: declaring system work: %w", err)
		}
		return fn(tx)
	})
}

func verifyIn(ctx context.Context, tx pgx.Tx, tenant tenancy.ID) (Report, error) {
	rep := Report{Tenant: tenant}
	var (
		seq     int64
		hash    []byte
		headSQL = `SELECT seq, hash FROM audit.chain_heads WHERE tenant_id = $1`
		evSQL   = `SELECT ` + eventColumns + ` FROM audit.events WHERE tenant_id = $1 ORDER BY seq, id`
		args    = []any{tenant}
	)
	if tenant.IsZero() {
		headSQL = `SELECT seq, hash FROM audit.platform_head WHERE singleton`
		evSQL = `SELECT ` + eventColumns + ` FROM audit.events WHERE tenant_id IS NULL ORDER BY seq, id`
		args = nil
	}
	var head *Head
	switch err := tx.QueryRow(ctx, headSQL, args...).Scan(&seq, &hash); {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return rep, fmt.Errorf("audit: reading the chain head: %w", err)
	default:
		head = &Head{Seq: seq}
		copy(head.Hash[:], hash)
		rep.Head = *head
	}
	c := newChecker(tenant, head)
	rows, err := tx.Query(ctx, evSQL, args...)
	if err != nil {
		return rep, fmt.Errorf("audit: reading events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return rep, err
		}
		rep.Events++
		if p := c.add(e); p != nil {
			rep.Problem = p
			return rep, nil
		}
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("audit: reading events: %w", err)
	}
	rep.Problem = c.finish()
	return rep, nil
}

// checker follows a chain event by event, in stored seq order.
type checker struct {
	tenant   tenancy.ID
	head     *Head
	expected int64 // the next seq
	prev     Hash  // the hash the next event must link to
	last     *Event
}

func newChecker(tenant tenancy.ID, head *Head) *checker {
	return &checker{tenant: tenant, head: head, expected: 1}
}

func (c *checker) problem(kind ProblemKind, e *Event) *Problem {
	p := &Problem{Kind: kind, Tenant: c.tenant}
	if e != nil {
		p.Seq, p.Event = e.Seq, e.ID
	}
	return p
}

// add checks the next event and returns the first problem, if any.
func (c *checker) add(e Event) *Problem {
	if c.head == nil {
		return c.problem(HeadMismatch, &e)
	}
	if e.Seq > c.head.Seq {
		return c.problem(Inserted, &e)
	}
	intact := e.Version == EncodingVersion && e.Sum() == e.Hash
	switch {
	case intact && e.Seq == c.expected && e.PrevHash == c.prev:
		c.expected++
		c.prev = e.Hash
		c.last = &e
		return nil
	case intact && e.Seq > c.expected:
		p := c.problem(Deleted, &e)
		p.Seq = c.expected
		return p
	case intact && e.Seq == c.expected:
		if c.last != nil {
			return c.problem(Edited, c.last)
		}
		return c.problem(Edited, &e)
	case intact:
		return c.problem(Inserted, &e)
	}
	if e.Version == EncodingVersion {
		if k, ok := writtenAt(e, c.head.Seq); ok {
			if c.last != nil && k == c.last.Seq && e.PrevHash == c.last.PrevHash {
				return c.problem(Inserted, c.last)
			}
			p := c.problem(Reordered, &e)
			p.WrittenSeq = k
			return p
		}
	}
	return c.problem(Edited, &e)
}

// finish checks the end of the chain against its head.
func (c *checker) finish() *Problem {
	if c.head == nil {
		return nil // no head and no events: a chain never written
	}
	if n := c.expected - 1; n < c.head.Seq {
		p := c.problem(Deleted, nil)
		p.Seq = c.expected
		return p
	}
	if c.head.Hash != c.prev {
		p := c.problem(HeadMismatch, c.last)
		return p
	}
	return nil
}

// writtenAt finds the seq, other than e.Seq and at most limit, at which e's
// content hashes to e.Hash.
func writtenAt(e Event, limit int64) (int64, bool) {
	stored := e.Seq
	for k := int64(1); k <= limit; k++ {
		if k == stored {
			continue
		}
		e.Seq = k
		if e.Sum() == e.Hash {
			return k, true
		}
	}
	return 0, false
}
