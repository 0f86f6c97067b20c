package jwtctx

import (
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
)

// TokenType is the kind of token, carried in the JWS "typ" header so that
// one kind can never be used where the other is expected (RFC 8725 section
// 3.11). TokenType values are bit flags: an accept set is their union.
type TokenType uint8

const (
	// SessionToken is an ordinary sign-in token of a principal of any
	// declared kind. Header typ "session+jwt".
	SessionToken TokenType = 1 << iota
	// ImpersonationToken is a short-lived token of an operator acting
	// inside a tenant under a grant; it carries the RFC 8693 "act" claim
	// and the grant id. Header typ "impersonation+jwt".
	ImpersonationToken
	// AccessToken is an access token of an external OpenID provider
	// listed in [Config.Providers] (RFC 9068). Header typ "at+jwt", or
	// "JWT" for a provider with [ProviderConfig.AllowJWTType]. It is
	// never part of [AnyToken]: a route accepts provider tokens only when
	// it says so.
	AccessToken

	// AnyToken accepts both of the SDK's own kinds, sessions and
	// impersonations. Add [AccessToken] to accept external providers'
	// tokens as well.
	AnyToken = SessionToken | ImpersonationToken

	// allTokens is every valid bit of an accept set.
	allTokens = AnyToken | AccessToken
)

// The typ header values.
const (
	SessionTyp       = "session+jwt"
	ImpersonationTyp = "impersonation+jwt"
	// AccessTyp is the typ of RFC 9068 access tokens.
	AccessTyp = "at+jwt"
	// legacyAccessTyp is the typ most providers still give access
	// tokens (and ID tokens): accepted only with AllowJWTType.
	legacyAccessTyp = "JWT"
)

// String returns the typ header value of a single type, the values of a
// set joined by "|", or "TokenType(invalid)".
func (t TokenType) String() string {
	if t == 0 || t&^allTokens != 0 {
		return "TokenType(invalid)"
	}
	var names []string
	for _, one := range []struct {
		t   TokenType
		typ string
	}{{SessionToken, SessionTyp}, {ImpersonationToken, ImpersonationTyp}, {AccessToken, AccessTyp}} {
		if t&one.t != 0 {
			names = append(names, one.typ)
		}
	}
	return strings.Join(names, "|")
}

// stripMediaType removes an "application/" prefix, which a typ may carry
// (RFC 7515 section 4.1.9).
func stripMediaType(typ string) string {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		return typ[len("application/"):]
	}
	return typ
}

// accessTyp reports whether typ marks an external access token: "at+jwt",
// or "JWT" (legacy), compared without regard to case.
func accessTyp(typ string) (ok, legacy bool) {
	typ = stripMediaType(typ)
	switch {
	case strings.EqualFold(typ, AccessTyp):
		return true, false
	case strings.EqualFold(typ, legacyAccessTyp):
		return true, true
	}
	return false, false
}

// parseTyp maps a typ header to a TokenType. Media types compare without
// regard to case, and the "application/" prefix may be present (RFC 7515
// section 4.1.9).
func parseTyp(typ string) (TokenType, bool) {
	typ = stripMediaType(typ)
	switch {
	case strings.EqualFold(typ, SessionTyp):
		return SessionToken, true
	case strings.EqualFold(typ, ImpersonationTyp):
		return ImpersonationToken, true
	}
	return 0, false
}

// Token is a verified token: its principal and the registered claims that
// revocation and session handling need. It is a value, safe to copy and to
// read from several goroutines; do not modify Principal.Roles in place.
type Token struct {
	// Type is the token's kind, from its typ header.
	Type TokenType
	// Issuer is the token's iss: [Config.Issuer] for the SDK's own
	// tokens, the [Provider]'s issuer for an [AccessToken]. A [Revoker]
	// that keys on ID or subject should key on Issuer too, since two
	// issuers' ids and subjects may coincide.
	Issuer string
	// ID is the token's jti, the handle for revoking it.
	ID string
	// KeyID is the kid of the key that verified it.
	KeyID string
	// Principal is who the token speaks for; it passes
	// [tenancy.Principal.Validate]. RequestID is empty (the middleware
	// fills it).
	Principal tenancy.Principal
	// IssuedAt, NotBefore and ExpiresAt are the iat, nbf and exp claims.
	IssuedAt, NotBefore, ExpiresAt time.Time
}
