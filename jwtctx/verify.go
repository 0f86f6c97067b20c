package jwtctx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mydentalpractice/tenancy"
)

// header is the JOSE header of a token, decoded before the signature is
// checked to pick the key. Only these three parameters are allowed.
type header struct {
	Alg string
	Kid string
	Typ string
}

// decodeHeader decodes the first segment of a compact JWS and applies the
// header allow-list. It does not trust anything it returns: the kid only
// selects a key, and the alg must equal that key's.
func decodeHeader(token string) (header, error) {
	if strings.Count(token, ".") != 2 {
		return header{}, fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	seg, _, _ := strings.Cut(token, ".")
	raw, err := b64.DecodeString(seg)
	if err != nil {
		return header{}, fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return header{}, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	var h header
	for name, v := range fields {
		var dst *string
		switch name {
		case "alg":
			dst = &h.Alg
		case "kid":
			dst = &h.Kid
		case "typ":
			dst = &h.Typ
		default:
			// jku, jwk, x5u, x5c would let the token name its own key;
			// crit would demand extensions we do not implement; anything
			// else is unknown. Refuse them all (RFC 8725 section 3.10).
			return header{}, fmt.Errorf("%w: %q", ErrHeader, truncate(name, 16))
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return header{}, fmt.Errorf("%w: header %q is not a string", ErrMalformed, name)
		}
	}
	return h, nil
}

// Verify checks token and returns what it says, if it is one of the accept
// types. In order, it refuses a token
//   - larger than the size limit, before parsing it ([ErrTokenTooLarge]);
//   - with a header parameter other than alg, kid and typ ([ErrHeader]);
//   - whose kid names no key of the set ([ErrUnknownKey]);
//   - whose alg is not the key's algorithm ([ErrAlgorithm]);
//   - whose signature does not verify with that key ([ErrSignature]);
//   - that is expired, not yet valid, or issued in the future, beyond the
//     leeway ([ErrExpired], [ErrNotYetValid]);
//   - with a wrong iss or aud ([ErrIssuer], [ErrAudience]);
//   - whose typ is missing, unknown, not in accept, or does not match the
//     claims ([ErrType]);
//   - with a missing or malformed tenant where one is required, or any
//     tenant on a platform admin's session token ([ErrTenant]);
//   - missing exp, nbf, iat, jti, sub, iss or aud, with iat after nbf, an
//     unknown or system kind, a lifetime (exp - iat) that is not positive or
//     is above the maximum for its type, or a principal failing
//     [tenancy.Principal.Validate] ([ErrClaims]);
//   - that the [Revoker] revokes ([ErrRevoked]) or cannot judge
//     ([ErrRevocationCheck]).
//
// A token whose typ is "at+jwt" (or "JWT") is an external provider's
// access token ([Config.Providers]), never checked with the SDK's own
// keys. It is refused, after the size limit and the header
// allow-list, when
//   - accept lacks [AccessToken], or its typ is "JWT" and its provider
//     lacks [ProviderConfig.AllowJWTType] ([ErrType]);
//   - its alg is not RS256, PS256, ES256 or EdDSA ([ErrAlgorithm]);
//   - its iss names no provider of [Config.Providers] ([ErrIssuer]);
//   - its kid names no key of the provider's key set, even after the set
//     is fetched again ([ErrUnknownKey]);
//   - the key is not a signing key, names no alg, or does not fit its
//     alg ([ErrKey]), or its alg is not the token's or not accepted
//     ([ErrAlgorithm]);
//   - its signature does not verify ([ErrSignature]);
//   - it is expired or not yet valid ([ErrExpired], [ErrNotYetValid]);
//   - its aud lacks the provider's audience ([ErrAudience]);
//   - it lacks exp, iat, jti or aud, carries an act claim (delegation the
//     SDK does not model), lives longer than the provider's MaxLifetime,
//     or its kind, subject or roles claims do not map ([ErrClaims]);
//   - its tenant claim is absent, empty, ambiguous (two tenants) or not a
//     key of the declared type ([ErrTenant]);
//   - the principal fails [tenancy.Principals.Check] ([ErrClaims]), or
//     the [Revoker] revokes it or cannot judge it.
//
// Errors never contain the token. The returned principal has no RequestID.
// ctx is passed to the Revoker only. Verify is safe for concurrent use.
func (a *Authority) Verify(ctx context.Context, token string, accept TokenType) (Token, error) {
	if accept&allTokens == 0 || accept&^allTokens != 0 {
		return Token{}, fmt.Errorf("%w: accept set %d", ErrType, accept)
	}
	if len(token) > a.cfg.MaxTokenSize {
		return Token{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTokenTooLarge, len(token), a.cfg.MaxTokenSize)
	}
	h, err := decodeHeader(token)
	if err != nil {
		return Token{}, err
	}
	if ok, legacy := accessTyp(h.Typ); ok {
		return a.verifyAccess(ctx, token, h, legacy, accept)
	}
	e, ok := a.keys.Load().byID[h.Kid]
	if !ok {
		return Token{}, fmt.Errorf("%w: %q", ErrUnknownKey, truncate(h.Kid, MaxKeyIDLength))
	}
	if h.Alg != string(e.key.alg) {
		return Token{}, fmt.Errorf("%w: alg %q with kid %q (%s)", ErrAlgorithm, truncate(h.Alg, 16), e.key.id, e.key.alg)
	}
	typ, ok := parseTyp(h.Typ)
	if !ok {
		return Token{}, fmt.Errorf("%w: typ %q", ErrType, truncate(h.Typ, 32))
	}
	if typ&accept == 0 {
		return Token{}, fmt.Errorf("%w: %s not accepted here", ErrType, typ)
	}

	var c claims
	_, err = e.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return e.key.verify, nil })
	if err != nil {
		return Token{}, mapParseError(err)
	}

	tok, err := a.tokenFromClaims(&c, typ)
	if err != nil {
		return Token{}, err
	}
	tok.KeyID = e.key.id

	revoked, err := a.cfg.Revoker.Revoked(ctx, tok)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %w", ErrRevocationCheck, err)
	}
	if revoked {
		return Token{}, ErrRevoked
	}
	return tok, nil
}

// mapParseError turns a golang-jwt error into one wrapping this package's
// sentinel, keeping the original in the chain for logs.
func mapParseError(err error) error {
	var sentinel error
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		sentinel = ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		sentinel = ErrSignature
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		switch {
		case errors.Is(err, jwt.ErrTokenInvalidIssuer):
			sentinel = ErrIssuer
		case errors.Is(err, jwt.ErrTokenInvalidAudience):
			sentinel = ErrAudience
		default:
			sentinel = ErrClaims
		}
	case errors.Is(err, jwt.ErrTokenExpired):
		sentinel = ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		sentinel = ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		sentinel = ErrIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		sentinel = ErrAudience
	default:
		sentinel = ErrClaims
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

// tokenFromClaims checks the claims that golang-jwt does not, and builds the
// principal. The signature has been verified.
func (a *Authority) tokenFromClaims(c *claims, typ TokenType) (Token, error) {
	bad := func(format string, args ...any) (Token, error) {
		return Token{}, fmt.Errorf("%w: "+format, append([]any{ErrClaims}, args...)...)
	}
	if c.IssuedAt == nil {
		return bad("no iat")
	}
	if c.ID == "" || len(c.ID) > 64 {
		return bad("jti missing or too long")
	}
	if c.IssuedAt.After(c.NotBefore.Time) {
		return bad("iat after nbf")
	}
	// The lifetime runs from iat, the token's real birth, which is at or
	// before nbf: measuring from nbf would let a token signed with an old
	// iat and a recent nbf outlive the maximum.
	maxTTL := a.cfg.MaxLifetime
	if typ == ImpersonationToken {
		maxTTL = a.cfg.MaxImpersonationLifetime
	}
	if life := c.ExpiresAt.Sub(c.IssuedAt.Time); life <= 0 || life > maxTTL {
		return bad("lifetime %v outside (0, %v]", life, maxTTL)
	}
	kind, err := tenancy.ParseKind(c.Kind)
	if err != nil {
		return bad("%w", err)
	}
	if kind == tenancy.KindSystem {
		return bad("system principals get no tokens")
	}
	ps := a.cfg.Principals
	access := ps.Access(kind)
	if access == 0 {
		return bad("%w: kind %q is not declared", tenancy.ErrInvalidKind, kind)
	}
	subject, err := ps.SubjectKey.Parse(c.Subject)
	if err != nil {
		return bad("sub: %w", err)
	}
	if slices.Contains(c.Roles, "") {
		return bad("empty role")
	}
	p := tenancy.Principal{Kind: kind, Subject: subject, Roles: c.Roles}

	switch typ {
	case SessionToken:
		if c.Act != nil || c.Grant != nil {
			return Token{}, fmt.Errorf("%w: session token with act or grant claim", ErrType)
		}
	case ImpersonationToken:
		if c.Act == nil || c.Grant == nil {
			return Token{}, fmt.Errorf("%w: impersonation token without act and grant claims", ErrType)
		}
		if access != tenancy.AccessOperator {
			return bad("impersonation by %s, not an operator kind", kind)
		}
		admin, err := ps.SubjectKey.Parse(c.Act.Subject)
		if err != nil {
			return bad("act.sub: %w", err)
		}
		grant, err := tenancy.ParseID(*c.Grant)
		if err != nil {
			return bad("grant: %w", err)
		}
		p.Impersonation = &tenancy.Impersonation{GrantID: grant, Admin: admin}
	}

	needTenant := access != tenancy.AccessOperator || typ == ImpersonationToken
	switch {
	case needTenant && c.Tenant == nil:
		return Token{}, fmt.Errorf("%w: %s %s without tenant", ErrTenant, kind, typ)
	case !needTenant && c.Tenant != nil:
		return Token{}, fmt.Errorf("%w: operator session with a tenant", ErrTenant)
	case needTenant:
		tenant, err := ps.TenantKey.Parse(*c.Tenant)
		if err != nil {
			return Token{}, fmt.Errorf("%w: %w", ErrTenant, err)
		}
		p.Tenant = tenant
	}

	if err := ps.Check(p); err != nil {
		return bad("%w", err)
	}
	return Token{
		Type:      typ,
		Issuer:    c.Issuer,
		ID:        c.ID,
		Principal: p,
		IssuedAt:  c.IssuedAt.Time,
		NotBefore: c.NotBefore.Time,
		ExpiresAt: c.ExpiresAt.Time,
	}, nil
}
