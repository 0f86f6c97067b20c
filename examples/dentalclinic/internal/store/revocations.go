package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Revocations ends tokens before they expire: a signed-out token, and
// every token of a staff member whose account was disabled or whose roles
// or password changed, or of a patient whose record was archived.
//
// A revocation takes effect on this instance at once (in the
// [jwtctx.MemoryRevoker] that the token check reads) and is stored in
// table token_revocations, so that it outlives a restart and reaches the
// app's other instances: [Revocations.Load] reads the rows it has not seen
// yet, at start and then every few seconds (see [Revocations.Follow]). A
// row is kept until no token it names could verify any more.
//
// The table holds token ids, subject ids and times, no tenant data. It is
// private to the owner role: the app reaches it only through the auth.*
// revocation functions, which tenantdb's pre-auth handle calls (token
// verification runs before there is a principal).
type Revocations struct {
	mem         *jwtctx.MemoryRevoker
	pool        *tenantdb.PreAuth
	maxLifetime time.Duration

	mu   sync.Mutex // serialises Load
	seen int64      // the highest row id applied
}

// NewRevocations returns revocations applied to mem and stored through
// pool (tenantdb's pre-auth handle). maxLifetime is the longest lifetime of
// a token the app issues; a subject's revocation is kept that long, plus
// the largest leeway. A nil pool keeps revocations in memory only, for
// tests of the HTTP layer that have no database.
func NewRevocations(mem *jwtctx.MemoryRevoker, pool *tenantdb.PreAuth, maxLifetime time.Duration) *Revocations {
	return &Revocations{mem: mem, pool: pool, maxLifetime: maxLifetime}
}

// RevokeToken revokes the token jti, which expires at expires.
func (r *Revocations) RevokeToken(ctx context.Context, jti string, expires time.Time) error {
	r.mem.RevokeToken(jti, expires)
	if r.pool == nil {
		return nil
	}
	_, err := r.pool.Exec(ctx, "auth.revoke_token", jti, expires.Add(jwtctx.MaxLeeway))
	return wrap("revoking a token", err)
}

// RevokeSubject revokes every token of subject issued at or before at.
func (r *Revocations) RevokeSubject(ctx context.Context, subject tenancy.ID, at time.Time) error {
	r.mem.RevokeSubject(subject, at)
	if r.pool == nil {
		return nil
	}
	_, err := r.pool.Exec(ctx, "auth.revoke_subject", subject.String(), at, at.Add(r.maxLifetime+jwtctx.MaxLeeway))
	return wrap("revoking a subject's tokens", err)
}

// Load applies the stored revocations it has not applied yet, and deletes
// rows past their use.
func (r *Revocations) Load(ctx context.Context) error {
	if r.pool == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rows, err := r.pool.Query(ctx, "auth.revocations_since", r.seen)
	if err != nil {
		return wrap("loading revocations", err)
	}
	var (
		id          int64
		tokenID     *string
		subject     *string
		notAfter    *time.Time
		forgetAfter time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &tokenID, &subject, &notAfter, &forgetAfter}, func() error {
		switch {
		case tokenID != nil:
			r.mem.RevokeToken(*tokenID, forgetAfter.Add(-jwtctx.MaxLeeway))
		case subject != nil && notAfter != nil:
			s, err := tenancy.ParseID(*subject)
			if err != nil {
				return fmt.Errorf("revocation %d: %w", id, err)
			}
			r.mem.RevokeSubject(s, *notAfter)
		default:
			return fmt.Errorf("revocation %d names no token and no subject", id)
		}
		r.seen = max(r.seen, id)
		return nil
	})
	if err != nil {
		return wrap("loading revocations", err)
	}
	_, err = r.pool.Exec(ctx, "auth.forget_revocations")
	return wrap("pruning revocations", err)
}

// Follow calls Load every interval until ctx ends, so that revocations
// made by the app's other instances take effect here within interval. A
// failed load is logged by onError and tried again at the next tick.
func (r *Revocations) Follow(ctx context.Context, interval time.Duration, onError func(error)) {
	if r.pool == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Load(ctx); err != nil && !errors.Is(err, context.Canceled) && onError != nil {
				onError(err)
			}
		}
	}
}
