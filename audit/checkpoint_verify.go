package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
)

// CheckpointProblemKind says how the database differs from a checkpoint.
type CheckpointProblemKind uint8

// The kinds of [CheckpointProblem].
const (
	// BadSignature: the checkpoint is not signed by the given key, or was
	// changed after signing. Nothing else is checked.
	BadSignature CheckpointProblemKind = iota + 1
	// Truncated: the chain is shorter than its checkpointed head: its head
	// is below the checkpointed seq, or no event stands at that seq.
	Truncated
	// Rewritten: the event at the checkpointed seq has another hash than
	// the checkpoint's, so it or an event before it was rewritten (even
	// with every hash and the head recomputed).
	Rewritten
	// ChainMissing: a tenant of the checkpoint (with a checkpointed seq
	// above 0) or of the registry has no chain at all: no head with an
	// event, no event.
	ChainMissing
)

var checkpointProblemNames = [...]string{BadSignature: "bad signature", Truncated: "truncated", Rewritten: "rewritten", ChainMissing: "chain missing"}

// String returns "bad signature", "truncated", "rewritten", "chain
// missing", or "CheckpointProblemKind(n)".
func (k CheckpointProblemKind) String() string {
	if k >= BadSignature && k <= ChainMissing {
		return checkpointProblemNames[k]
	}
	return fmt.Sprintf("CheckpointProblemKind(%d)", uint8(k))
}

// CheckpointProblem is one difference between the database and a
// checkpoint that [VerifyCheckpoint] found. It is an error wrapping
// [ErrBadSignature] (kind [BadSignature]) or [ErrCheckpointMismatch].
type CheckpointProblem struct {
	// Kind says what was found.
	Kind CheckpointProblemKind
	// Tenant is the chain's tenant; zero for the platform chain (and for
	// BadSignature).
	Tenant tenancy.ID
	// Checkpointed is the head the checkpoint holds (zero when the tenant
	// is only in the registry); Found is the head stored now (zero when
	// there is none).
	Checkpointed, Found Head
	// Err, for BadSignature, is the signature check's error.
	Err error
}

// Error describes the problem.
func (p *CheckpointProblem) Error() string {
	chain := "platform chain"
	if !p.Tenant.IsZero() {
		chain = "tenant " + p.Tenant.String()
	}
	switch p.Kind {
	case BadSignature:
		return fmt.Sprintf("audit: checkpoint: %v", p.Err)
	case Truncated:
		return fmt.Sprintf("audit: %s: truncated: checkpointed at seq %d, the chain head is at seq %d without the checkpointed event",
			chain, p.Checkpointed.Seq, p.Found.Seq)
	case Rewritten:
		return fmt.Sprintf("audit: %s: rewritten: the event at seq %d no longer has the checkpointed hash %s", chain, p.Checkpointed.Seq, p.Checkpointed.Hash)
	case ChainMissing:
		if p.Checkpointed.Seq > 0 {
			return fmt.Sprintf("audit: %s: chain missing: checkpointed at seq %d, no head or event now", chain, p.Checkpointed.Seq)
		}
		return fmt.Sprintf("audit: %s: chain missing: a tenant of the registry has no chain", chain)
	}
	return fmt.Sprintf("audit: %s: %s", chain, p.Kind)
}

// Unwrap returns [ErrBadSignature] for kind BadSignature (and its check's
// error), [ErrCheckpointMismatch] otherwise.
func (p *CheckpointProblem) Unwrap() []error {
	if p.Kind == BadSignature {
		return []error{ErrBadSignature, p.Err}
	}
	return []error{ErrCheckpointMismatch}
}

// CheckpointReport is what [VerifyCheckpoint] found.
type CheckpointReport struct {
	// Chains holds the [Verify] report of each chain: the platform chain,
	// then each tenant of the checkpoint, the registry or the audit
	// tables, in increasing byte order of the key's text.
	Chains []Report
	// Problems holds each difference from the checkpoint, in the order of
	// Chains.
	Problems []*CheckpointProblem
}

// VerifyCheckpoint proves the database against cp, a checkpoint signed by
// pub:
//
//   - the signature is good (else one [*CheckpointProblem] of kind
//     [BadSignature], and nothing is read);
//   - every chain (the platform chain, and each tenant of cp, of the
//     registry and of the audit tables) verifies on its own, as [Verify]
//     checks it (its problems are the Reports' [*Problem]s);
//   - every chain extends its checkpointed head: its head is at or above
//     the checkpointed seq ([Truncated] otherwise) and the event at that
//     seq has the checkpointed hash ([Rewritten] otherwise); with the
//     chain's own links this proves that no event up to the checkpoint was
//     deleted or changed, even by someone who recomputed every hash;
//   - every tenant of cp with a checkpointed event, and every tenant of the
//     registry, has a chain ([ChainMissing] otherwise: a whole chain
//     deleted, events and head). An application that verifies against
//     checkpoints therefore starts each tenant's chain when it creates the
//     tenant (one event recording the creation).
//
// The registry is cfg's ([Config.TenantRegistry]), or cp's when cfg names
// none. Everything is read in one REPEATABLE READ, READ ONLY snapshot; db
// as for [Verify]. The error joins every [*Problem] and
// [*CheckpointProblem] (errors.Is tells [ErrBroken],
// [ErrCheckpointMismatch] and [ErrBadSignature] apart), or is a failure to
// read. Events after the checkpoint are proven by the chain alone, until
// the next checkpoint. It is safe for concurrent use.
func VerifyCheckpoint(ctx context.Context, db Beginner, cp Checkpoint, pub ed25519.PublicKey, cfg Config) (CheckpointReport, error) {
	var rep CheckpointReport
	if err := cp.Verify(pub); err != nil {
		p := &CheckpointProblem{Kind: BadSignature, Err: err}
		rep.Problems = append(rep.Problems, p)
		return rep, p
	}
	if cfg.TenantRegistry == "" {
		cfg.TenantRegistry = cp.Registry
	}
	reg, err := cfg.registry()
	if err != nil {
		return rep, err
	}
	err = readTx(ctx, db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT k, bool_or(registry) FROM (
				SELECT k, true AS registry FROM (`+reg.keysSQL()+`) r
				UNION ALL SELECT tenant_id::text, false FROM audit.chain_heads
				UNION ALL SELECT DISTINCT tenant_id::text, false FROM audit.events WHERE tenant_id IS NOT NULL
			) t GROUP BY k`)
		if err != nil {
			return fmt.Errorf("audit: listing chains and the registry %s: %w", reg, err)
		}
		inRegistry := map[tenancy.ID]bool{}
		var tenants []tenancy.ID
		for rows.Next() {
			var (
				text string
				reg  bool
			)
			if err := rows.Scan(&text, &reg); err != nil {
				rows.Close()
				return fmt.Errorf("audit: listing chains: %w", err)
			}
			id, err := cp.KeyType.Parse(text)
			if err != nil {
				rows.Close()
				return fmt.Errorf("audit: listing chains: %w", err)
			}
			inRegistry[id] = reg
			tenants = append(tenants, id)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("audit: listing chains: %w", err)
		}
		for _, t := range cp.Tenants {
			if _, ok := inRegistry[t.Tenant]; !ok {
				inRegistry[t.Tenant] = false
				tenants = append(tenants, t.Tenant)
			}
		}
		slices.SortFunc(tenants, func(a, b tenancy.ID) int { return strings.Compare(a.String(), b.String()) })
		for _, t := range append([]tenancy.ID{{}}, tenants...) {
			r, err := verifyIn(ctx, tx, t)
			if err != nil {
				return err
			}
			rep.Chains = append(rep.Chains, r)
			want, listed := cp.HeadOf(t)
			p, err := compareHead(ctx, tx, r, want, listed, inRegistry[t])
			if err != nil {
				return err
			}
			if p != nil {
				rep.Problems = append(rep.Problems, p)
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, r := range rep.Chains {
		if r.Problem != nil {
			errs = append(errs, r.Problem)
		}
	}
	for _, p := range rep.Problems {
		errs = append(errs, p)
	}
	return rep, errors.Join(errs...)
}

// compareHead compares chain r with its checkpointed head want.
func compareHead(ctx context.Context, tx pgx.Tx, r Report, want Head, listed, inRegistry bool) (*CheckpointProblem, error) {
	p := &CheckpointProblem{Tenant: r.Tenant, Checkpointed: want, Found: r.Head}
	hasChain := r.Head.Seq > 0 || r.Events > 0
	switch {
	case !r.Tenant.IsZero() && !hasChain && (inRegistry || listed && want.Seq > 0):
		p.Kind = ChainMissing
		return p, nil
	case !listed || want.Seq == 0:
		return nil, nil
	}
	// The event at the checkpointed seq; a chain of duplicates at one seq
	// is its own Verify problem.
	sql := `SELECT count(*), coalesce(bool_or(hash = $2), false) FROM audit.events WHERE tenant_id = $1 AND seq = $3`
	args := []any{r.Tenant, want.Hash[:], want.Seq}
	if r.Tenant.IsZero() {
		sql = `SELECT count(*), coalesce(bool_or(hash = $1), false) FROM audit.events WHERE tenant_id IS NULL AND seq = $2`
		args = args[1:]
	}
	var (
		n     int64
		match bool
	)
	if err := tx.QueryRow(ctx, sql, args...).Scan(&n, &match); err != nil {
		return nil, fmt.Errorf("audit: reading the checkpointed event: %w", err)
	}
	switch {
	case n == 0 || r.Head.Seq < want.Seq:
		p.Kind = Truncated
	case !match:
		p.Kind = Rewritten
	default:
		return nil, nil
	}
	return p, nil
}
