package tenancy

import (
	"context"
	"fmt"
	"slices"
)

// principalKey is the unexported context key type, so no other package can
// set or overwrite the principal except through NewContext and
// [Authenticator.NewContext].
type principalKey struct{}

// principalValue is what the context holds: the principal and the
// authenticator it came from (nil for plain NewContext).
type principalValue struct {
	p      Principal
	source *Authenticator
}

// NewContext returns a copy of ctx that carries p. It copies p.Roles, so later
// changes to the caller's slice do not change the principal in the context.
//
// NewContext does not validate p; [Require] does. The principal has no
// source ([SourceFromContext] reports none), so package tenantdb refuses
// it: principals that reach the database come from an [Authenticator]
// (token middleware, the application's own API-key or mTLS check) or from
// tenantdb's audited entry points. NewContext serves code that only reads
// the principal (handlers under test, templates).
func NewContext(ctx context.Context, p Principal) context.Context {
	return newContext(ctx, p, nil)
}

func newContext(ctx context.Context, p Principal, source *Authenticator) context.Context {
	p.Roles = slices.Clip(slices.Clone(p.Roles))
	if p.Impersonation != nil {
		imp := *p.Impersonation
		p.Impersonation = &imp
	}
	return context.WithValue(ctx, principalKey{}, principalValue{p: p, source: source})
}

// FromContext returns the principal in ctx, and whether there is one. The
// principal may have no tenant (a platform admin); use [Require] where a
// tenant is needed.
//
// The returned principal's Impersonation is a copy; its Roles slice is
// shared with the context and must not be modified in place.
func FromContext(ctx context.Context) (Principal, bool) {
	v, ok := ctx.Value(principalKey{}).(principalValue)
	if !ok {
		return Principal{}, false
	}
	return v.principal(), true
}

// principal returns a copy of the principal whose Impersonation the
// caller may change.
func (v principalValue) principal() Principal {
	p := v.p
	if p.Impersonation != nil {
		imp := *p.Impersonation
		p.Impersonation = &imp
	}
	return p
}

// require is Require's check of the principal.
func (v principalValue) require() (Principal, error) {
	p := v.principal()
	if !p.HasTenant() {
		return Principal{}, fmt.Errorf("%w: %s principal has none", ErrNoTenant, p.Kind)
	}
	if err := p.Validate(); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// Require returns the principal in ctx when it has a tenant and passes
// [Principal.Validate]. It returns an error wrapping [ErrNoTenant] when ctx
// has no principal or the principal has no tenant, and one wrapping
// [ErrInvalidPrincipal] when the principal is malformed. Every function that
// reads or writes tenant data calls it first and stops on error: no tenant
// never means "no filter".
func Require(ctx context.Context) (Principal, error) {
	v, ok := ctx.Value(principalKey{}).(principalValue)
	if !ok {
		return Principal{}, ErrNoTenant
	}
	return v.require()
}
