package jwtctx

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mydentalpractice/tenancy"
)

// Authority issues and verifies the tokens of one issuer and audience with
// one key set. Build it with [New]. It is safe for concurrent use. Its
// settings are fixed; its key set can be replaced at any time with
// [Authority.SetKeys], atomically, so keys rotate without downtime and
// without rebuilding the [Middleware] that uses it.
type Authority struct {
	cfg  Config // SigningKey and VerificationKeys are cleared: see set
	keys atomic.Pointer[keySet]

	// providers are Config.Providers by issuer; accessValidator checks
	// the times of their tokens (issuer, audience and algorithm are
	// checked per provider).
	providers       map[string]*Provider
	accessValidator *jwt.Validator
}

// keySet is an immutable key set. Every Issue, Verify and JWKS call loads
// the current one once and uses it throughout.
type keySet struct {
	signing *keyEntry
	byID    map[string]*keyEntry
	order   []*keyEntry
}

// keyEntry is a key with the parser that accepts only the key's algorithm.
type keyEntry struct {
	key    Key
	method jwt.SigningMethod
	parser *jwt.Parser
}

// New returns an Authority for cfg, applying the documented defaults. It
// fails with an error wrapping [ErrConfig] when cfg is invalid: a required
// field is missing, a limit is out of range, a key is the zero Key, a kid
// is used twice, the signing key cannot sign, an HS256 key is given
// without [Config.AllowHS256], or a provider's issuer or kinds do not fit.
func New(cfg Config) (*Authority, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	set, err := cfg.newKeySet(cfg.SigningKey, cfg.VerificationKeys)
	if err != nil {
		return nil, err
	}
	cfg.SigningKey, cfg.VerificationKeys = Key{}, nil
	a := &Authority{cfg: cfg}
	a.keys.Store(set)
	if len(cfg.Providers) > 0 {
		a.providers = make(map[string]*Provider, len(cfg.Providers))
		for _, p := range cfg.Providers {
			a.providers[p.cfg.Issuer] = p
		}
		a.accessValidator = jwt.NewValidator(
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithTimeFunc(cfg.Now),
		)
	}
	return a, nil
}

// SetKeys atomically replaces a's key set with signing (the zero Key makes
// a verify-only) and verification, under the rules of [Config.SigningKey]
// and [Config.VerificationKeys]. Calls of Issue, Verify and JWKS already
// running finish with the old set; later ones use the new set. To rotate
// without downtime:
//
//  1. SetKeys(current, next.VerifyOnly()) on every instance, so all of
//     them accept tokens signed by the next key before any is issued;
//  2. SetKeys(next, current.VerifyOnly()): new tokens use the next key,
//     tokens of the current one still verify;
//  3. once the longest token lifetime (plus the leeway) has passed,
//     SetKeys(next) retires the old key; its tokens fail at once with
//     [ErrUnknownKey].
//
// SetKeys fails with an error wrapping [ErrConfig], and leaves the key set
// unchanged, when the keys are not a valid set. It is safe for concurrent
// use.
func (a *Authority) SetKeys(signing Key, verification ...Key) error {
	set, err := a.cfg.newKeySet(signing, verification)
	if err != nil {
		return err
	}
	a.keys.Store(set)
	return nil
}

// newKeySet validates a key set and builds its parsers, with c's settings.
func (c Config) newKeySet(signing Key, verification []Key) (*keySet, error) {
	if signing.IsZero() && len(verification) == 0 && len(c.Providers) == 0 {
		return nil, fmt.Errorf("%w: no keys and no providers", ErrConfig)
	}
	if !signing.IsZero() && !signing.CanSign() {
		return nil, fmt.Errorf("%w: SigningKey %q is verify-only", ErrConfig, signing.ID())
	}
	all := slices.Clone(verification)
	if !signing.IsZero() {
		all = append([]Key{signing}, all...)
	}
	set := &keySet{byID: make(map[string]*keyEntry, len(all))}
	for i, k := range all {
		if k.IsZero() {
			return nil, fmt.Errorf("%w: key %d is the zero Key", ErrConfig, i)
		}
		if _, dup := set.byID[k.id]; dup {
			return nil, fmt.Errorf("%w: kid %q used twice", ErrConfig, k.id)
		}
		if k.alg == HS256 && !c.AllowHS256 {
			return nil, fmt.Errorf("%w: HS256 key %q needs AllowHS256", ErrConfig, k.id)
		}
		method := jwt.GetSigningMethod(string(k.alg))
		if method == nil {
			return nil, fmt.Errorf("%w: algorithm %q unsupported", ErrConfig, k.alg)
		}
		e := &keyEntry{
			key:    k,
			method: method,
			parser: jwt.NewParser(
				jwt.WithValidMethods([]string{string(k.alg)}),
				jwt.WithIssuer(c.Issuer),
				jwt.WithAudience(c.Audience),
				jwt.WithExpirationRequired(),
				jwt.WithNotBeforeRequired(),
				jwt.WithIssuedAt(),
				jwt.WithLeeway(c.Leeway),
				jwt.WithTimeFunc(c.Now),
				jwt.WithStrictDecoding(),
			),
		}
		if i == 0 && !signing.IsZero() {
			set.signing = e
		}
		set.byID[k.id] = e
		set.order = append(set.order, e)
	}
	return set, nil
}

// claims is the token payload.
type claims struct {
	jwt.RegisteredClaims
	// Tenant is the tenant's key, as a string. Absent for an operator's
	// session token; required otherwise.
	Tenant *string `json:"tenant,omitempty"`
	// Kind is the principal kind's text form.
	Kind string `json:"kind"`
	// Roles are the principal's roles within the tenant.
	Roles []string `json:"roles,omitempty"`
	// Act is the RFC 8693 actor claim of impersonation tokens.
	Act *actor `json:"act,omitempty"`
	// Grant is the impersonation grant id.
	Grant *string `json:"grant,omitempty"`
}

type actor struct {
	Subject string `json:"sub"`
}

// Issue returns a signed token for p, valid from now for ttl. Session
// tokens are issued for principals of the declared kinds
// ([Config.Principals]); an operator with an Impersonation gets an
// impersonation token, whose ttl should not outlast the grant. p.RequestID
// is not put in the token.
//
// Issue fails with an error wrapping [ErrNoSigningKey] on a verify-only
// Authority, and [ErrIssue] when p fails [tenancy.Principals.Check] of the
// declaration, is a system principal (system work never travels as a token), has an empty
// role, ttl is not positive or exceeds the configured maximum lifetime for
// the token type, or the token would exceed [Config.MaxTokenSize]. It is
// safe for concurrent use.
func (a *Authority) Issue(p tenancy.Principal, ttl time.Duration) (string, error) {
	signing := a.keys.Load().signing
	if signing == nil {
		return "", ErrNoSigningKey
	}
	if p.Kind == tenancy.KindSystem {
		return "", fmt.Errorf("%w: system principals get no tokens", ErrIssue)
	}
	if err := a.cfg.Principals.Check(p); err != nil {
		return "", fmt.Errorf("%w: %w", ErrIssue, err)
	}
	if slices.Contains(p.Roles, "") {
		return "", fmt.Errorf("%w: empty role", ErrIssue)
	}
	typ, maxTTL := SessionTyp, a.cfg.MaxLifetime
	if p.Impersonation != nil {
		typ, maxTTL = ImpersonationTyp, a.cfg.MaxImpersonationLifetime
	}
	if ttl <= 0 || ttl > maxTTL {
		return "", fmt.Errorf("%w: lifetime %v outside (0, %v]", ErrIssue, ttl, maxTTL)
	}
	now := a.cfg.Now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.cfg.Issuer,
			Subject:   p.Subject.String(),
			Audience:  jwt.ClaimStrings{a.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        tenancy.NewID().String(),
		},
		Kind:  p.Kind.String(),
		Roles: p.Roles,
	}
	if p.HasTenant() {
		t := p.Tenant.String()
		c.Tenant = &t
	}
	if imp := p.Impersonation; imp != nil {
		g := imp.GrantID.String()
		c.Grant = &g
		c.Act = &actor{Subject: imp.Admin.String()}
	}
	tok := jwt.NewWithClaims(signing.method, c)
	tok.Header["kid"] = signing.key.id
	tok.Header["typ"] = typ
	s, err := tok.SignedString(signing.key.signer)
	if err != nil {
		return "", fmt.Errorf("%w: signing: %w", ErrIssue, err)
	}
	if len(s) > a.cfg.MaxTokenSize {
		// Every Verify would refuse it; fail here, where the cause is known.
		return "", fmt.Errorf("%w: token of %d bytes above MaxTokenSize %d (too many or too long roles?)", ErrIssue, len(s), a.cfg.MaxTokenSize)
	}
	return s, nil
}
