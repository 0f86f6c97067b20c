package impersonation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// GrantRevoker is a [jwtctx.Revoker] that refuses impersonation tokens
// whose grant has ended or expired, or does not exist, and records every
// such refusal ([ActionRefused], outcome denied) in the tenant's audit
// chain. Other tokens, and impersonation tokens whose grant is
// active, are passed to the next Revoker.
//
// It reads the grant from the database on every verification of an
// impersonation token: an active grant is never cached, so a grant ended
// on any instance stops working at once everywhere, and no cache can
// extend a grant past its end. Only final refusals (ended or expired
// grants, which can never become valid again) are remembered. Expiry is
// judged by its clock against the grant's expires_at, independently of
// the token's own exp.
//
// Build it with [NewGrantRevoker]; it is safe for concurrent use.
type GrantRevoker struct {
	db   PlatformDB
	next jwtctx.Revoker
	now  func() time.Time

	mu      sync.Mutex
	refused map[tenancy.ID]string // grant -> why, for final refusals
}

// maxRefused bounds the memory of final refusals; past it the map is
// cleared and the database answers again.
const maxRefused = 10000

// NewGrantRevoker returns a GrantRevoker reading grants through db (a pool
// connected as the platform role). next is consulted for every token not
// refused here (nil means none: jwtctx.NoRevocation); now is the clock
// (nil means time.Now). It fails with [ErrInvalidConfig] for a nil db.
func NewGrantRevoker(db PlatformDB, next jwtctx.Revoker, now func() time.Time) (*GrantRevoker, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: a platform pool is required", ErrInvalidConfig)
	}
	if next == nil {
		next = jwtctx.NoRevocation
	}
	if now == nil {
		now = time.Now
	}
	return &GrantRevoker{db: db, next: next, now: now, refused: make(map[tenancy.ID]string)}, nil
}

// Revoked implements [jwtctx.Revoker]. For an impersonation token it
// returns true when the grant is unknown, belongs to another tenant or
// admin, was ended, or has expired; the refusal is recorded first (with
// context.WithoutCancel), and a failure to record it is returned as an
// error with true, which refuses the token too. It returns an error when
// the grant cannot be read.
func (r *GrantRevoker) Revoked(ctx context.Context, tok jwtctx.Token) (bool, error) {
	imp := tok.Principal.Impersonation
	if imp == nil {
		return r.next.Revoked(ctx, tok)
	}
	why, err := r.check(ctx, tok.Principal)
	if err != nil {
		return true, err
	}
	if why != "" {
		g := Grant{ID: imp.GrantID, Tenant: tok.Principal.Tenant, Admin: imp.Admin}
		now := r.now().UTC().Truncate(time.Microsecond)
		rctx := context.WithoutCancel(ctx)
		e := grantEvent(g, tok.Principal, ActionRefused, audit.Denied, why, now)
		if why == whyUnknown || why == whyOtherAdmin {
			// The event may name only a grant that exists, of this tenant
			// and admin (the audit schema's events_grant key): the token's
			// grant stays in the resource id.
			e.Grant, e.Impersonator = tenancy.ID{}, tenancy.ID{}
		}
		err := platformTx(rctx, r.db, tok.Principal, tok.Principal.Impersonation != nil, func(tx pgx.Tx) error {
			_, err := audit.Append(rctx, tx, e)
			return err
		})
		if err != nil {
			return true, fmt.Errorf("impersonation: recording the refusal: %w", err)
		}
		return true, nil
	}
	return r.next.Revoked(ctx, tok)
}

// check returns why p's grant refuses it, or "" when the grant is active.
func (r *GrantRevoker) check(ctx context.Context, p tenancy.Principal) (string, error) {
	grant := p.Impersonation.GrantID
	r.mu.Lock()
	why, done := r.refused[grant]
	r.mu.Unlock()
	if done {
		return why, nil
	}
	b := &pgx.Batch{}
	b.Queue(declareSQL, declareArgs(tenancy.Principal{Kind: tenancy.KindSystem}, false)...)
	b.Queue(`SELECT admin_id, expires_at, ended_at FROM audit.impersonation_grants WHERE tenant_id = $1 AND id = $2`,
		p.Tenant, grant)
	br := r.db.SendBatch(ctx, b)
	var (
		admin   tenancy.ID
		expires time.Time
		ended   *time.Time
	)
	_, err := br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&admin, &expires, &ended)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return whyUnknown, nil // not remembered: the tenant is the token's claim
	case err != nil:
		return "", fmt.Errorf("impersonation: reading the grant: %w", err)
	case admin != p.Impersonation.Admin:
		return whyOtherAdmin, nil
	case ended != nil:
		why = "grant ended"
	case !r.now().Before(expires):
		why = "grant expired"
	default:
		return "", nil
	}
	r.remember(grant, why)
	return why, nil
}

// Reasons of refusals whose grant the refusal's event cannot name.
const (
	whyUnknown    = "grant unknown"
	whyOtherAdmin = "grant belongs to another admin"
)

func (r *GrantRevoker) remember(grant tenancy.ID, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.refused) >= maxRefused {
		clear(r.refused)
	}
	r.refused[grant] = why
}

// ended remembers at once that grant was ended by this process.
func (r *GrantRevoker) ended(grant tenancy.ID) { r.remember(grant, "grant ended") }

var _ jwtctx.Revoker = (*GrantRevoker)(nil)
