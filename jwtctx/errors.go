package jwtctx

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them,
// so callers test with [errors.Is]. Messages never contain the token.
var (
	// ErrConfig is returned by [New] and [NewMiddleware] for an invalid or
	// incomplete configuration.
	ErrConfig = errors.New("jwtctx: invalid config")

	// ErrKey is returned by the key constructors and [ParseJWKS] for
	// unusable key material or key ids, and by [Authority.Verify] when a
	// provider's key named by the token is not a signing key, names no
	// alg or does not fit its alg.
	ErrKey = errors.New("jwtctx: invalid key")

	// ErrProvider is returned by [NewProvider] when the OpenID provider's
	// discovery document or key set cannot be read or is not acceptable,
	// and handed to [ProviderConfig.OnRefreshError] when a refresh fails.
	ErrProvider = errors.New("jwtctx: OpenID provider unusable")

	// ErrNoSigningKey is returned by [Authority.Issue] when the authority
	// was configured to verify only.
	ErrNoSigningKey = errors.New("jwtctx: no signing key")

	// ErrIssue is returned by [Authority.Issue] when the principal or the
	// lifetime cannot be put in a token.
	ErrIssue = errors.New("jwtctx: cannot issue token")

	// ErrTokenTooLarge means the token exceeded the configured size limit
	// and was refused before any parsing.
	ErrTokenTooLarge = errors.New("jwtctx: token too large")

	// ErrMalformed means the token is not a compact JWS with well-formed
	// base64url segments and JSON.
	ErrMalformed = errors.New("jwtctx: malformed token")

	// ErrHeader means the token's JOSE header carries a parameter this
	// package never trusts (jku, jwk, x5u, x5c, crit and any other beyond
	// alg, kid and typ).
	ErrHeader = errors.New("jwtctx: header parameter not allowed")

	// ErrUnknownKey means the token's kid names no key in the key set, or
	// the token has no kid.
	ErrUnknownKey = errors.New("jwtctx: unknown key id")

	// ErrAlgorithm means the token's alg is not the algorithm of the key
	// its kid names (this covers "none" and algorithm confusion).
	ErrAlgorithm = errors.New("jwtctx: algorithm not allowed for key")

	// ErrSignature means the signature does not verify.
	ErrSignature = errors.New("jwtctx: invalid signature")

	// ErrExpired means the token's exp is in the past (beyond the leeway).
	ErrExpired = errors.New("jwtctx: token expired")

	// ErrNotYetValid means the token's nbf or iat is in the future (beyond
	// the leeway).
	ErrNotYetValid = errors.New("jwtctx: token not yet valid")

	// ErrIssuer means the token's iss is not the configured issuer (a
	// missing iss is [ErrClaims]), or, for an access token, names no
	// configured [Provider] (or is missing).
	ErrIssuer = errors.New("jwtctx: wrong issuer")

	// ErrAudience means the token's aud does not contain the configured
	// audience (a missing aud is [ErrClaims]).
	ErrAudience = errors.New("jwtctx: wrong audience")

	// ErrType means the token's typ header is missing, unknown, not accepted
	// here, or does not match the token's claims.
	ErrType = errors.New("jwtctx: wrong token type")

	// ErrTenant means the tenant claim is missing where required, present
	// where forbidden, or not a valid tenancy.ID.
	ErrTenant = errors.New("jwtctx: missing or invalid tenant")

	// ErrClaims means another claim is missing or invalid: exp, iat, nbf,
	// jti, sub, iss, aud, kind, roles, act, the grant id, or the lifetime.
	ErrClaims = errors.New("jwtctx: invalid claims")

	// ErrRevoked means the [Revoker] reported the token revoked.
	ErrRevoked = errors.New("jwtctx: token revoked")

	// ErrRevocationCheck means the [Revoker] failed; verification fails
	// closed.
	ErrRevocationCheck = errors.New("jwtctx: revocation check failed")

	// ErrNoToken is reported by the middleware when a request carries no
	// token.
	ErrNoToken = errors.New("jwtctx: no token in request")

	// ErrCSRF is reported by the middleware when a cookie-authenticated
	// request with an unsafe method fails the cross-origin or double-submit
	// token check.
	ErrCSRF = errors.New("jwtctx: cross-site request refused")
)
