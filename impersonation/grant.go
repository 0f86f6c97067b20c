package impersonation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/rls"
)

// MaxGrantDuration is the longest impersonation grant. The audit schema
// enforces it too (audit.impersonation_grants' grants_expiry).
const MaxGrantDuration = time.Hour

// Actions of the events this package writes to a tenant's audit chain.
const (
	ActionStarted = "impersonation.started"
	ActionEnded   = "impersonation.ended"
	ActionRefused = "impersonation.refused"
)

// ResourceGrant is the resource type of the events about a grant; their
// resource id is the grant's id.
const ResourceGrant = "impersonation_grant"

// PlatformDB is a pool connected as the platform role: *pgxpool.Pool
// implements it. This package runs only audited impersonation bookkeeping
// on it.
type PlatformDB interface {
	audit.Beginner
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Issuer issues tokens; *jwtctx.Authority implements it.
type Issuer interface {
	Issue(p tenancy.Principal, ttl time.Duration) (string, error)
}

// Config holds what [New] needs.
type Config struct {
	// Platform is a pool connected as the platform role. Required.
	Platform PlatformDB
	// Issuer issues impersonation tokens: the application's
	// *jwtctx.Authority, whose MaxImpersonationLifetime must be at least
	// the longest duration asked of Start. Required.
	Issuer Issuer
	// Revoker is the [GrantRevoker] of the Authority, told at once when a
	// grant ends. Required.
	Revoker *GrantRevoker
	// Audit is the audit log's configuration, the same value given to
	// [audit.Schema] and [audit.Tables]: its reader roles may end a
	// tenant's grants, and are never given to impersonating admins.
	Audit audit.Config
	// Roles are the application roles an impersonation token carries
	// inside the tenant, such as "support". Default none. A reader role
	// of the audit log is refused: an impersonating admin never reads the
	// tenant's audit log.
	Roles []string
	// Principals is the application's declaration of principal kinds:
	// pass the isolation model's (rls.Model.Principals). Only principals
	// of an [tenancy.AccessOperator] kind start grants; principals of an
	// [tenancy.AccessTenant] kind holding a reader role end their tenant's.
	// Required, with at least one operator kind.
	Principals tenancy.Principals
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Grants starts and ends impersonation grants. Build it with [New]; it is
// safe for concurrent use.
type Grants struct {
	cfg     Config
	readers []string
}

// New returns the Grants of cfg, or an error wrapping [ErrInvalidConfig]
// when a required field is missing or Roles holds a reader role of the
// audit log or an empty role.
func New(cfg Config) (*Grants, error) {
	switch {
	case cfg.Platform == nil:
		return nil, fmt.Errorf("%w: Platform is required", ErrInvalidConfig)
	case cfg.Issuer == nil:
		return nil, fmt.Errorf("%w: Issuer is required", ErrInvalidConfig)
	case cfg.Revoker == nil:
		return nil, fmt.Errorf("%w: Revoker is required", ErrInvalidConfig)
	}
	if err := cfg.Principals.Validate(); err != nil {
		return nil, fmt.Errorf("%w: Principals: %w", ErrInvalidConfig, err)
	}
	if !slices.ContainsFunc(cfg.Principals.Kinds, func(k tenancy.KindSpec) bool { return k.Access == tenancy.AccessOperator }) {
		return nil, fmt.Errorf("%w: Principals declares no operator kind (tenancy.AccessOperator) to impersonate with", ErrInvalidConfig)
	}
	cfg.Principals.Kinds = slices.Clone(cfg.Principals.Kinds)
	readers := cfg.Audit.Readers()
	for _, r := range cfg.Roles {
		if r == "" || slices.Contains(readers, r) || strings.ContainsAny(r, ",{}\"\\") {
			return nil, fmt.Errorf("%w: role %q may not be given to impersonating admins", ErrInvalidConfig, truncate(r, 32))
		}
	}
	cfg.Roles = slices.Clone(cfg.Roles)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Grants{cfg: cfg, readers: readers}, nil
}

// Grant is a stored impersonation grant.
type Grant struct {
	// ID identifies the grant; Tenant is the tenant it opens; Admin is
	// the platform admin it lets in.
	ID, Tenant, Admin tenancy.ID
	// Reason is the admin's stated justification.
	Reason string
	// StartedAt and ExpiresAt bound the grant.
	StartedAt time.Time
	ExpiresAt time.Time
	// EndedAt and EndedBy are zero while the grant has not been ended.
	EndedAt time.Time
	EndedBy tenancy.ID
}

// Start lets the operator in ctx (a principal of a [tenancy.AccessOperator]
// kind of [Config.Principals]) act inside tenant for reason, for d
// (at most [MaxGrantDuration]). In one transaction on the platform pool it
// stores the grant and appends an [ActionStarted] event to the tenant's
// audit chain (visible to its readers), and issues the impersonation
// token: the operator's own kind, the tenant, subject the operator,
// Impersonation{GrantID, Admin}, valid for d. Nothing is stored unless the
// token was issued, and no token is returned unless the grant and its
// event committed.
//
// Start fails with [ErrNotAdmin] unless ctx carries a valid operator who
// is not impersonating, [ErrNoReason] for a blank reason (an error
// wrapping [audit.ErrInvalidEvent] for one too long or with control
// characters), [ErrDuration] for d outside (0, MaxGrantDuration], an error
// wrapping [tenancy.ErrInvalidID] for a zero tenant, or the issuer's or
// database's error.
func (m *Grants) Start(ctx context.Context, tenant tenancy.ID, reason string, d time.Duration) (Grant, string, error) {
	p, ok := tenancy.FromContext(ctx)
	if !ok || m.cfg.Principals.Access(p.Kind) != tenancy.AccessOperator || p.Impersonation != nil || p.HasTenant() || m.cfg.Principals.Check(p) != nil {
		return Grant{}, "", ErrNotAdmin
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return Grant{}, "", ErrNoReason
	case d <= 0 || d > MaxGrantDuration:
		return Grant{}, "", fmt.Errorf("%w: %v outside (0, %v]", ErrDuration, d, MaxGrantDuration)
	case tenant.IsZero():
		return Grant{}, "", fmt.Errorf("impersonation: %w: zero tenant", tenancy.ErrInvalidID)
	case m.cfg.Principals.TenantKey.Check(tenant) != nil:
		return Grant{}, "", fmt.Errorf("impersonation: the tenant: %w", m.cfg.Principals.TenantKey.Check(tenant))
	}
	now := m.cfg.Now().UTC().Truncate(time.Microsecond)
	g := Grant{ID: tenancy.NewID(), Tenant: tenant, Admin: p.Subject, Reason: reason, StartedAt: now, ExpiresAt: now.Add(d)}
	started := grantEvent(g, p, ActionStarted, audit.Success, reason, now)
	if err := started.Validate(); err != nil {
		return Grant{}, "", err
	}
	var token string
	err := m.platformTx(ctx, p, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO audit.impersonation_grants (tenant_id, id, admin_id, reason, started_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, g.Tenant, g.ID, g.Admin, g.Reason, g.StartedAt, g.ExpiresAt); err != nil {
			return fmt.Errorf("impersonation: storing the grant: %w", err)
		}
		if _, err := audit.Append(ctx, tx, started); err != nil {
			return err
		}
		var err error
		token, err = m.cfg.Issuer.Issue(tenancy.Principal{
			Kind:          p.Kind,
			Tenant:        tenant,
			Subject:       g.Admin,
			Roles:         m.cfg.Roles,
			Impersonation: &tenancy.Impersonation{GrantID: g.ID, Admin: g.Admin},
		}, d)
		if err != nil {
			return fmt.Errorf("impersonation: issuing the token: %w", err)
		}
		return nil
	})
	if err != nil {
		return Grant{}, "", err
	}
	return g, token, nil
}

// End ends grant (of tenant) now: its tokens are refused from this moment
// on every instance (the [GrantRevoker] consults the database for every
// active grant), and an [ActionEnded] event joins the tenant's chain,
// naming the principal in ctx as the actor. Any platform admin, or a staff
// member of that tenant holding a reader role of the audit log
// ([audit.Config.ReaderRoles]), may end it; the end is written with
// context.WithoutCancel, so a client that goes away does not keep a grant
// alive.
//
// End returns the ended grant. It fails with [ErrNotAdmin] for other
// callers, [ErrGrantNotFound] for an unknown grant, [ErrGrantEnded] for
// one already ended, or the database's error. An expired grant that was
// not ended is ended (and recorded) normally.
func (m *Grants) End(ctx context.Context, tenant, grant tenancy.ID) (Grant, error) {
	p, ok := tenancy.FromContext(ctx)
	access := m.cfg.Principals.Access(p.Kind)
	allowed := ok && m.cfg.Principals.Check(p) == nil && (access == tenancy.AccessOperator ||
		access == tenancy.AccessTenant && p.Tenant == tenant && slices.ContainsFunc(m.readers, p.HasRole))
	if !allowed {
		return Grant{}, ErrNotAdmin
	}
	ctx = context.WithoutCancel(ctx)
	now := m.cfg.Now().UTC().Truncate(time.Microsecond)
	g := Grant{ID: grant, Tenant: tenant, EndedAt: now, EndedBy: p.Actor()}
	err := m.platformTx(ctx, p, func(tx pgx.Tx) error {
		var ended *time.Time
		err := tx.QueryRow(ctx, `SELECT admin_id, reason, started_at, expires_at, ended_at FROM audit.impersonation_grants
			WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, grant).Scan(&g.Admin, &g.Reason, &g.StartedAt, &g.ExpiresAt, &ended)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return ErrGrantNotFound
		case err != nil:
			return fmt.Errorf("impersonation: reading the grant: %w", err)
		case ended != nil:
			return ErrGrantEnded
		}
		if now.Before(g.StartedAt) {
			g.EndedAt = g.StartedAt
		}
		if _, err := tx.Exec(ctx, `UPDATE audit.impersonation_grants SET ended_at = $3, ended_by = $4
			WHERE tenant_id = $1 AND id = $2`, tenant, grant, g.EndedAt, g.EndedBy); err != nil {
			return fmt.Errorf("impersonation: ending the grant: %w", err)
		}
		_, err = audit.Append(ctx, tx, grantEvent(g, p, ActionEnded, audit.Success, "", now))
		return err
	})
	if err != nil {
		return Grant{}, err
	}
	m.cfg.Revoker.ended(grant)
	g.StartedAt, g.ExpiresAt = g.StartedAt.UTC(), g.ExpiresAt.UTC()
	return g, nil
}

// grantEvent is an event about grant g in its tenant's chain, by actor p,
// at now. Grant and Impersonator name the grant and its admin whoever
// acts.
func grantEvent(g Grant, p tenancy.Principal, action string, outcome audit.Outcome, reason string, now time.Time) audit.Event {
	return audit.Event{
		Tenant: g.Tenant, OccurredAt: now,
		ActorKind: p.Kind, Actor: p.Actor(), RequestID: p.RequestID,
		Grant: g.ID, Impersonator: g.Admin,
		Action: action, ResourceType: ResourceGrant, ResourceID: g.ID.String(),
		Outcome: outcome, Reason: reason,
	}
}

// platformTx runs fn in a transaction on the platform pool that declares
// the work (principal kind, actor, request id), as the platform role's
// policies on the audit tables require.
func (m *Grants) platformTx(ctx context.Context, p tenancy.Principal, fn func(pgx.Tx) error) error {
	return platformTx(ctx, m.cfg.Platform, p, m.cfg.Principals.Access(p.Kind) == tenancy.AccessOperator, fn)
}

// platformTx is [Grants.platformTx], declaring p's own kind when operator
// is set.
func platformTx(ctx context.Context, db audit.Beginner, p tenancy.Principal, operator bool, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, declareSQL, declareArgs(p, operator)...); err != nil {
			return fmt.Errorf("impersonation: declaring platform work: %w", err)
		}
		return fn(tx)
	})
}

var declareSQL = "SELECT set_config('" + rls.SettingPrincipal + "', $1, true)"

// declareArgs declares an operator's work as its own kind when operator
// is set, and system work for anyone else (a reader ending a grant, the
// revoker), with the actor as subject: the audit tables' platform
// policies admit those kinds only.
func declareArgs(p tenancy.Principal, operator bool) []any {
	kind := tenancy.KindSystem
	if operator {
		kind = p.Kind
	}
	// No roles are carried, so encoding cannot fail.
	v, _ := rls.EncodePrincipal(tenancy.Principal{Kind: kind, Subject: p.Actor(), RequestID: p.RequestID})
	return []any{v}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
