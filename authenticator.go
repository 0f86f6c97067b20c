package tenancy

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Authenticator is a source of verified principals: the token middleware
// of package jwtctx, an entry point of package tenantdb, or an
// authenticator the application writes (API keys, mTLS client
// certificates). Its pointer is the capability: only code that holds it can
// put a principal in a context as coming from it, with
// [Authenticator.NewContext]. Hand it to no one; hand out its [Source]
// instead, which names it but cannot mint.
//
// A principal put in a context with plain [NewContext] has no source, and
// tenantdb refuses it: it accepts only principals from the sources its
// configuration lists. An Authenticator is immutable and safe for
// concurrent use.
type Authenticator struct {
	name string
}

// NewAuthenticator returns a new authenticator called name, which audit
// records and error messages show ("jwtctx", "apikeys"). Each call returns
// a distinct authenticator, even for the same name: what counts is the
// pointer, never the name. NewAuthenticator panics when name is empty or
// holds a character outside [a-zA-Z0-9._-]: names are fixed in the code
// that creates them, like the names of [context] keys.
func NewAuthenticator(name string) *Authenticator {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-')
	}) {
		panic(fmt.Sprintf("tenancy: authenticator name %q is not [a-zA-Z0-9._-]+", name))
	}
	return &Authenticator{name: name}
}

// Name returns the name a was created with.
func (a *Authenticator) Name() string { return a.name }

// Source returns the name and identity of a, which configurations list
// (tenantdb.Config.Sources) and [SourceFromContext] returns. A Source
// cannot mint principals.
func (a *Authenticator) Source() Source { return Source{a: a} }

// NewContext returns a copy of ctx that carries p as a principal verified by
// a, like [NewContext] otherwise (p's Roles and Impersonation are copied).
// It does not validate p; [Require] does. Call it only once a has verified
// who the caller is.
func (a *Authenticator) NewContext(ctx context.Context, p Principal) context.Context {
	return newContext(ctx, p, a)
}

// Source names the [Authenticator] a principal came from. The zero Source
// means none: a principal put in the context with [NewContext]. Sources
// are comparable: two are equal when they name the same authenticator.
// A Source is a value and safe to share; it cannot mint principals.
type Source struct {
	a *Authenticator
}

// IsZero reports whether s names no authenticator.
func (s Source) IsZero() bool { return s.a == nil }

// Name returns the authenticator's name, or "" for the zero Source.
func (s Source) Name() string {
	if s.a == nil {
		return ""
	}
	return s.a.name
}

// String returns the name, or "none" for the zero Source.
func (s Source) String() string {
	if s.a == nil {
		return "none"
	}
	return s.a.name
}

// SourceFromContext returns the source of the principal in ctx: the
// [Authenticator] that put it there. It returns the zero Source and false
// when ctx has no principal or its principal was put there with plain
// [NewContext].
func SourceFromContext(ctx context.Context) (Source, bool) {
	v, ok := ctx.Value(principalKey{}).(principalValue)
	if !ok || v.source == nil {
		return Source{}, false
	}
	return Source{a: v.source}, true
}

// RequireFrom is [Require] for a principal that came from one of sources:
// it returns the principal and its source. A principal with no source, or
// from another authenticator, gives an error wrapping [ErrUnverified]
// (checked after [ErrNoTenant] and [ErrInvalidPrincipal]).
func RequireFrom(ctx context.Context, sources []Source) (Principal, Source, error) {
	v, ok := ctx.Value(principalKey{}).(principalValue)
	if !ok {
		return Principal{}, Source{}, ErrNoTenant
	}
	p, err := v.require()
	if err != nil {
		return Principal{}, Source{}, err
	}
	src := Source{a: v.source}
	if !slices.Contains(sources, src) || src.IsZero() {
		return Principal{}, Source{}, fmt.Errorf("%w: source %s is not accepted", ErrUnverified, src)
	}
	return p, src, nil
}
