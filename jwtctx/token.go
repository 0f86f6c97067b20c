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

	// AnyToken accepts both kinds.
	AnyToken = SessionToken | ImpersonationToken
)

// The typ header values.
const (
	SessionTyp       = "session+jwt"
	ImpersonationTyp = "impersonation+jwt"
)

// String returns the typ header value of a single type, or a description.
func (t TokenType) String() string {
	switch t {
	case SessionToken:
		return SessionTyp
	case ImpersonationToken:
		return ImpersonationTyp
	case AnyToken:
		return "session+jwt|impersonation+jwt"
	}
	return "TokenType(invalid)"
}

// parseTyp maps a typ header to a TokenType. Media types compare without
// regard to case, and the "application/" prefix may be present (RFC 7515
// section 4.1.9).
func parseTyp(typ string) (TokenType, bool) {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
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
