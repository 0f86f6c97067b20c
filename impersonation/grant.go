package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// MaxGrantDuration is the longest impersonation grant.
const MaxGrantDuration = time.Hour

// PlatformDB is a pool connected as the platform role: *pgxpool.Pool
// implements it. This package runs only audited impersonation bookkeeping
// on it.
type PlatformDB interface {
	Beginner
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Issuer issues tokens; *jwtctx.Authority implements it.
type Issuer interface {
	Issue(p tenancy.Principal, ttl time.Duration) (string, error)
}

// ImpersonationConfig holds what [NewImpersonations] needs.
type ImpersonationConfig struct {
	// Platform is a pool connected as the platform role. Required.
	Platform PlatformDB
	// Issuer issues impersonation tokens: the application's
	// *jwtctx.Authority, whose MaxImpersonationLifetime must be at least
	// the longest duration asked of Start. Required.
	Issuer Issuer
	// Revoker is the [GrantRevoker] of the Authority, told at once when a
	// grant ends. Required.
	Revoker *GrantRevoker
	// Roles are the application roles an impersonation token carries
	// inside the clinic, such as "support". Default none. "owner" is
	// refused: an impersonating admin never reads the clinic's audit log.
	Roles []string
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Impersonations starts and ends impersonation grants. Build it with
// [NewImpersonations]; it is safe for concurrent use.
type Impersonations struct {
	cfg ImpersonationConfig
}

// NewImpersonations returns an Impersonations for cfg, or an error
// wrapping [ErrInvalidConfig] when a required field is missing or Roles
// holds "owner" or an empty role.
func NewImpersonations(cfg ImpersonationConfig) (*Impersonations, error) {
	switch {
	case cfg.Platform == nil:
		return nil, fmt.Errorf("%w: Platform is required", ErrInvalidConfig)
	case cfg.Issuer == nil:
		return nil, fmt.Errorf("%w: Issuer is required", ErrInvalidConfig)
	case cfg.Revoker == nil:
		return nil, fmt.Errorf("%w: Revoker is required", ErrInvalidConfig)
	}
	for _, r := range cfg.Roles {
		if r == "" || r == OwnerRole || strings.ContainsAny(r, ",{}\"\\") {
			return nil, fmt.Errorf("%w: role %q may not be given to impersonating admins", ErrInvalidConfig, truncate(r, 32))
		}
	}
	cfg.Roles = append([]string(nil), cfg.Roles...)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Impersonations{cfg: cfg}, nil
}

// Grant is a stored impersonation grant.
type Grant struct {
	ID, Clinic, Admin tenancy.ID
	Reason            string
	StartedAt         time.Time
	ExpiresAt         time.Time
	// EndedAt and EndedBy are zero while the grant has not been ended.
	EndedAt time.Time
	EndedBy tenancy.ID
}

// Start lets the platform admin in ctx act inside clinic for reason, for d
// (at most [MaxGrantDuration]). In one transaction on the platform pool it
// stores the grant and appends an [ActionImpersonationStarted] event to the
// clinic's chain (visible to its owner), and issues the impersonation
// token: principal kind platform_admin, tenant clinic, subject the admin,
// Impersonation{GrantID, Admin}, valid for d. Nothing is stored unless the
// token was issued, and no token is returned unless the grant and its
// event committed.
//
// Start fails with [ErrNotAdmin] unless ctx carries a valid platform admin
// who is not impersonating, [ErrNoReason] for a blank reason (an error
// wrapping [ErrInvalidEvent] for one too long or with control
// characters), [ErrDuration] for d outside (0, MaxGrantDuration], an error
// wrapping [tenancy.ErrInvalidID] for a zero clinic, or the issuer's or
// database's error.
func (m *Impersonations) Start(ctx context.Context, clinic tenancy.ID, reason string, d time.Duration) (Grant, string, error) {
	p, ok := tenancy.FromContext(ctx)
	if !ok || p.Kind != tenancy.KindPlatformAdmin || p.Impersonation != nil || p.HasTenant() || p.Validate() != nil {
		return Grant{}, "", ErrNotAdmin
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return Grant{}, "", ErrNoReason
	case !validText(reason, MaxReasonLen):
		return Grant{}, "", fmt.Errorf("%w: reason must be at most %d bytes of printable UTF-8", ErrInvalidEvent, MaxReasonLen)
	case d <= 0 || d > MaxGrantDuration:
		return Grant{}, "", fmt.Errorf("%w: %v outside (0, %v]", ErrDuration, d, MaxGrantDuration)
	case clinic.IsZero():
		return Grant{}, "", fmt.Errorf("audit: impersonation: %w: zero clinic", tenancy.ErrInvalidID)
	}
	now := m.cfg.Now().UTC().Truncate(time.Microsecond)
	g := Grant{ID: tenancy.NewID(), Clinic: clinic, Admin: p.Subject, Reason: reason, StartedAt: now, ExpiresAt: now.Add(d)}
	var token string
	err := platformTx(ctx, m.cfg.Platform, p, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO audit.impersonation_grants (tenant_id, id, admin_id, reason, started_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, g.Clinic, g.ID, g.Admin, g.Reason, g.StartedAt, g.ExpiresAt); err != nil {
			return fmt.Errorf("audit: storing the grant: %w", err)
		}
		if _, err := record(ctx, tx, grantEvent(g, p, ActionImpersonationStarted, Success, reason), now); err != nil {
			return err
		}
		var err error
		token, err = m.cfg.Issuer.Issue(tenancy.Principal{
			Kind:          tenancy.KindPlatformAdmin,
			Tenant:        clinic,
			Subject:       g.Admin,
			Roles:         m.cfg.Roles,
			Impersonation: &tenancy.Impersonation{GrantID: g.ID, Admin: g.Admin},
		}, d)
		if err != nil {
			return fmt.Errorf("audit: issuing the impersonation token: %w", err)
		}
		return nil
	})
	if err != nil {
		return Grant{}, "", err
	}
	return g, token, nil
}

// End ends grant (of clinic) now: its tokens are refused from this moment
// on every instance (the [GrantRevoker] consults the database for every
// active grant), and an [ActionImpersonationEnded] event joins the clinic's
// chain, naming the principal in ctx as the actor. Any platform admin, or
// a staff member with the "owner" role in that clinic, may end it; the end
// is written with context.WithoutCancel, so a client that goes away does
// not keep a grant alive.
//
// End returns the ended grant. It fails with [ErrNotAdmin] for other
// callers, [ErrGrantNotFound] for an unknown grant, [ErrGrantEnded] for
// one already ended, or the database's error. An expired grant that was
// not ended is ended (and recorded) normally.
func (m *Impersonations) End(ctx context.Context, clinic, grant tenancy.ID) (Grant, error) {
	p, ok := tenancy.FromContext(ctx)
	allowed := ok && p.Validate() == nil && (p.Kind == tenancy.KindPlatformAdmin ||
		p.Kind == tenancy.KindStaff && p.Tenant == clinic && p.HasRole(OwnerRole))
	if !allowed {
		return Grant{}, ErrNotAdmin
	}
	ctx = context.WithoutCancel(ctx)
	now := m.cfg.Now().UTC().Truncate(time.Microsecond)
	g := Grant{ID: grant, Clinic: clinic, EndedAt: now, EndedBy: p.Actor()}
	err := platformTx(ctx, m.cfg.Platform, p, func(tx pgx.Tx) error {
		var ended *time.Time
		err := tx.QueryRow(ctx, `SELECT admin_id, reason, started_at, expires_at, ended_at FROM audit.impersonation_grants
			WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, clinic, grant).Scan(&g.Admin, &g.Reason, &g.StartedAt, &g.ExpiresAt, &ended)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return ErrGrantNotFound
		case err != nil:
			return fmt.Errorf("audit: reading the grant: %w", err)
		case ended != nil:
			return ErrGrantEnded
		}
		if now.Before(g.StartedAt) {
			g.EndedAt = g.StartedAt
		}
		if _, err := tx.Exec(ctx, `UPDATE audit.impersonation_grants SET ended_at = $3, ended_by = $4
			WHERE tenant_id = $1 AND id = $2`, clinic, grant, g.EndedAt, g.EndedBy); err != nil {
			return fmt.Errorf("audit: ending the grant: %w", err)
		}
		_, err = record(ctx, tx, grantEvent(g, p, ActionImpersonationEnded, Success, ""), now)
		return err
	})
	if err != nil {
		return Grant{}, err
	}
	m.cfg.Revoker.ended(grant)
	g.StartedAt, g.ExpiresAt = g.StartedAt.UTC(), g.ExpiresAt.UTC()
	return g, nil
}

// grantEvent is an event about grant g in its clinic's chain, by actor p.
// Grant and Impersonator name the grant and its admin whoever acts.
func grantEvent(g Grant, p tenancy.Principal, action string, outcome Outcome, reason string) Event {
	e := withActor(Event{Clinic: g.Clinic, Action: action, Outcome: outcome, Reason: reason}, p)
	e.Grant, e.Impersonator = g.ID, g.Admin
	e.ResourceType, e.ResourceID = "impersonation_grant", g.ID.String()
	return e
}

// platformTx runs fn in a transaction on the platform pool that declares
// the work (principal kind, actor, request id), as the platform role's
// policies on the audit tables require.
func platformTx(ctx context.Context, db Beginner, p tenancy.Principal, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, declareSQL, declareArgs(p)...); err != nil {
			return fmt.Errorf("audit: declaring platform work: %w", err)
		}
		return fn(tx)
	})
}

var declareSQL = "SELECT set_config('" + rls.SettingPrincipal + "', $1, true)"

// declareArgs declares platform_admin work for a platform admin and system
// work for anyone else (an owner ending a grant, the revoker), with the
// actor as subject.
func declareArgs(p tenancy.Principal) []any {
	kind := tenancy.KindSystem
	if p.Kind == tenancy.KindPlatformAdmin {
		kind = tenancy.KindPlatformAdmin
	}
	// No roles are carried, so encoding cannot fail.
	v, _ := rls.EncodePrincipal(tenancy.Principal{Kind: kind, Subject: p.Actor(), RequestID: p.RequestID})
	return []any{v}
}
