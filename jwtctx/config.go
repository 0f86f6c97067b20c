package jwtctx

import (
	"fmt"
	"slices"
	"time"
	"unicode"

	"github.com/mydentalpractice/tenancy"
)

// Defaults and limits of [Config]. A zero field takes the default; a value
// above the limit is an error, not silently capped.
const (
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway is the largest leeway accepted: more would keep expired
	// and revoked-by-expiry tokens alive.
	MaxLeeway = 2 * time.Minute

	// DefaultMaxLifetime bounds exp - iat of session tokens.
	DefaultMaxLifetime = time.Hour
	// MaxMaxLifetime is the largest session lifetime accepted.
	MaxMaxLifetime = 24 * time.Hour

	// DefaultMaxImpersonationLifetime bounds exp - iat of impersonation
	// tokens.
	DefaultMaxImpersonationLifetime = 15 * time.Minute
	// MaxMaxImpersonationLifetime is the largest impersonation lifetime
	// accepted, the longest impersonation grant.
	MaxMaxImpersonationLifetime = time.Hour

	// DefaultMaxTokenSize is the largest token accepted, in bytes. Browsers
	// cap a cookie at about 4096 bytes, so larger tokens would break cookie
	// mode anyway.
	DefaultMaxTokenSize = 4096
	// MaxMaxTokenSize is the largest MaxTokenSize accepted.
	MaxMaxTokenSize = 16 << 10
)

// Config holds the security settings of an [Authority]. Issuer, Audience,
// Revoker and at least one key or provider are required; see each field
// for its default. [New] validates it.
type Config struct {
	// Issuer is the "iss" of issued tokens, and the only one accepted for
	// the SDK's own tokens. Required.
	Issuer string
	// Audience is the "aud" of issued tokens, and the one the SDK's own
	// verified tokens must contain. Required.
	Audience string

	// Providers are the external OpenID providers whose access tokens
	// ([AccessToken]) are accepted, each with its own issuer, audience,
	// key set and claim mapping; a token is matched to the provider its
	// iss names, and a token of any other issuer is refused. Issuers must
	// be unique and differ from Issuer, and every kind a provider's
	// mapping can yield must be declared in Principals with tenant or
	// subject access. Empty means the SDK's own tokens only. The
	// Authority does not close them.
	Providers []*Provider

	// SigningKey is the active key that signs new tokens; it also verifies.
	// The zero Key makes the Authority verify-only ([Authority.Issue] fails
	// with [ErrNoSigningKey]).
	SigningKey Key
	// VerificationKeys verify tokens but never sign: the previous signing
	// keys during a rotation, or another issuer's public keys from
	// [ParseJWKS]. Key ids must be unique across SigningKey and these.
	// [Authority.SetKeys] replaces both at run time, for rotation.
	VerificationKeys []Key
	// AllowHS256 must be set for any HS256 key to be accepted. A shared
	// secret lets every holder mint tokens, so it is never a default.
	AllowHS256 bool

	// Leeway is the clock skew tolerated on exp, nbf and iat. Zero means
	// [DefaultLeeway]; negative or above [MaxLeeway] is an error.
	Leeway time.Duration
	// MaxLifetime bounds the lifetime (exp - iat) of session tokens, when
	// issuing and when verifying. Zero means [DefaultMaxLifetime]; above
	// [MaxMaxLifetime] is an error.
	MaxLifetime time.Duration
	// MaxImpersonationLifetime bounds the lifetime (exp - iat) of
	// impersonation tokens, when issuing and when verifying.
	// Zero means [DefaultMaxImpersonationLifetime]; above
	// [MaxMaxImpersonationLifetime] is an error.
	MaxImpersonationLifetime time.Duration
	// MaxTokenSize is the largest token accepted, in bytes, checked before
	// any parsing. Zero means [DefaultMaxTokenSize]; above [MaxMaxTokenSize]
	// is an error.
	MaxTokenSize int

	// Revoker is consulted on every verification. Required: pass
	// [NoRevocation] to opt out explicitly.
	Revoker Revoker

	// Principals declares the principals tokens may carry: the tenant
	// and subject key types and the principal kinds. Pass the isolation
	// model's (rls.Model.Principals), so tokens, the pool and the
	// policies agree. Required: it must declare at least one kind. Tokens
	// of an undeclared kind, or whose tenant or subject is not a key of
	// the declared type, are refused ([ErrClaims], [ErrTenant]), and
	// [Authority.Issue] refuses to issue them.
	Principals tenancy.Principals

	// Now is the clock. Nil means [time.Now].
	Now func() time.Time
}

// withDefaults returns c with defaults applied, or an error wrapping
// ErrConfig.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	if err := checkClaimString(c.Issuer); err != nil {
		return bad("Issuer: %w", err)
	}
	if err := checkClaimString(c.Audience); err != nil {
		return bad("Audience: %w", err)
	}
	if err := c.Principals.Validate(); err != nil {
		return bad("Principals: %w", err)
	}
	if len(c.Principals.Kinds) == 0 {
		return bad("Principals declares no kinds; pass the isolation model's Principals()")
	}
	c.Principals.Kinds = slices.Clone(c.Principals.Kinds)
	seen := map[string]bool{c.Issuer: true}
	for i, p := range c.Providers {
		if p == nil {
			return bad("Providers[%d] is nil", i)
		}
		if seen[p.cfg.Issuer] {
			return bad("Providers[%d]: issuer %q is Issuer or another provider's", i, truncate(p.cfg.Issuer, 64))
		}
		seen[p.cfg.Issuer] = true
		if err := p.cfg.Claims.checkKinds(c.Principals); err != nil {
			return bad("Providers[%d] (%s): %w", i, truncate(p.cfg.Issuer, 64), err)
		}
	}
	c.Providers = slices.Clone(c.Providers)
	if c.Revoker == nil {
		return bad("Revoker is required; use NoRevocation to opt out explicitly")
	}
	switch {
	case c.Leeway == 0:
		c.Leeway = DefaultLeeway
	case c.Leeway < 0 || c.Leeway > MaxLeeway:
		return bad("Leeway %v outside (0, %v]", c.Leeway, MaxLeeway)
	}
	switch {
	case c.MaxLifetime == 0:
		c.MaxLifetime = DefaultMaxLifetime
	case c.MaxLifetime < time.Second || c.MaxLifetime > MaxMaxLifetime:
		return bad("MaxLifetime %v outside [1s, %v]", c.MaxLifetime, MaxMaxLifetime)
	}
	switch {
	case c.MaxImpersonationLifetime == 0:
		c.MaxImpersonationLifetime = DefaultMaxImpersonationLifetime
	case c.MaxImpersonationLifetime < time.Second || c.MaxImpersonationLifetime > MaxMaxImpersonationLifetime:
		return bad("MaxImpersonationLifetime %v outside [1s, %v]", c.MaxImpersonationLifetime, MaxMaxImpersonationLifetime)
	}
	switch {
	case c.MaxTokenSize == 0:
		c.MaxTokenSize = DefaultMaxTokenSize
	case c.MaxTokenSize < 256 || c.MaxTokenSize > MaxMaxTokenSize:
		return bad("MaxTokenSize %d outside [256, %d]", c.MaxTokenSize, MaxMaxTokenSize)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// checkClaimString accepts 1 to 256 printable characters.
func checkClaimString(s string) error {
	if s == "" || len(s) > 256 {
		return fmt.Errorf("want 1 to 256 characters")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("non-printable character")
		}
	}
	return nil
}
