package tenancy

import (
	"context"
	"fmt"
	"slices"
)

// principalKey is the unexported context key type, so no other package can
// set or overwrite the principal except through NewContext.
type principalKey struct{}

// NewContext returns a copy of ctx that carries p. It copies p.Roles, so later
// changes to the caller's slice do not change the principal in the context.
//
// NewContext does not validate p; [Require] does. Only code that has
// verified who the caller is (token middleware, system jobs) should call it.
func NewContext(ctx context.Context, p Principal) context.Context {
	p.Roles = slices.Clip(slices.Clone(p.Roles))
	if p.Impersonation != nil {
		imp := *p.Impersonation
		p.Impersonation = &imp
	}
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal in ctx, and whether there is one. The
// principal may have no tenant (a platform admin); use [Require] where a
// tenant is needed.
//
// The returned principal's Impersonation is a copy; its Roles slice is
// shared with the context and must not be modified in place.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	if ok && p.Impersonation != nil {
		imp := *p.Impersonation
		p.Impersonation = &imp
	}
	return p, ok
}

// Require returns the principal in ctx when it has a tenant and passes
// [Principal.Validate]. It returns an error wrapping [ErrNoTenant] when ctx
// has no principal or the principal has no tenant, and one wrapping
// [ErrInvalidPrincipal] when the principal is malformed. Every function that
// reads or writes tenant data calls it first and stops on error: no tenant
// never means "no filter".
func Require(ctx context.Context) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, ErrNoTenant
	}
	if !p.HasTenant() {
		return Principal{}, fmt.Errorf("%w: %s principal has none", ErrNoTenant, p.Kind)
	}
	if err := p.Validate(); err != nil {
		return Principal{}, err
	}
	return p, nil
}
