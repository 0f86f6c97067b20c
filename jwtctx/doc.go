// Package jwtctx issues and verifies the JSON Web Tokens that carry the
// tenant, and turns a verified token into a [tenancy.Principal] in the
// request context. The token is the only place a request's tenant comes
// from: nothing in the URL, query, headers or body may name it.
//
// golang-jwt is permissive by default (any algorithm the header names,
// optional exp, no issuer or audience check); this package wraps it so the
// safe choice is the only one.
//
// # Issuing and verifying
//
// [New] takes a [Config] (issuer, audience, key set, external providers,
// revocation hook, clock and limits) and returns an [Authority]. [Authority.Issue] signs a token
// for a principal; [Authority.Verify] checks one and returns a [Token]
// holding the principal. [Authority.JWKS] exports the public keys for other
// services, which load them with [ParseJWKS] into a verify-only Authority.
//
// # Tokens
//
// A token is a compact JWS whose header holds exactly alg, kid and typ. The
// typ header says what kind of token it is:
//
//   - "session+jwt" ([SessionToken]): a principal of any declared kind
//     signed in.
//   - "impersonation+jwt" ([ImpersonationToken]): an operator (a kind of
//     [tenancy.AccessOperator]) acting inside a tenant under an audited
//     grant.
//   - "at+jwt" ([AccessToken]): an access token of an external OpenID
//     provider, never signed by the SDK; see External OpenID providers.
//     The claims below are the SDK's own tokens'; a provider's are mapped
//     by its [ClaimMapping].
//
// Verification takes the set of types the caller accepts, so an
// impersonation token is refused where only sessions are meant (the
// platform console) and the reverse. The claims:
//
//	iss, aud, sub, exp, nbf, iat, jti   registered claims, all required
//	kind    a kind declared in Config.Principals ("system" is refused)
//	tenant  the tenant's key, as a string of the declared key type;
//	        absent exactly for an operator's session
//	roles   the principal's roles within the tenant (optional)
//	act     impersonation only: {"sub": admin id} (RFC 8693 section 4.1)
//	grant   impersonation only: the impersonation grant's id
//
// sub is the subject's key, of the declared subject key type. For an
// impersonation, sub and act.sub are both the operator's id and tenant is
// the impersonated tenant, so the principal is the one [tenancy] describes:
// an operator kind with an Impersonation naming the grant and the operator.
// Every verified principal passes [tenancy.Principals.Check] of
// [Config.Principals]: a token of an undeclared kind, or whose keys are not
// of the declared types, is refused.
//
// # Keys and rotation
//
// Every [Key] has a key id (kid) and one algorithm. [Config.SigningKey]
// signs new tokens; [Config.VerificationKeys] only verify.
// [Authority.SetKeys] swaps the key set of a running Authority atomically,
// so keys rotate without downtime and without rebuilding the middleware:
// make a new key, add it as a verification key everywhere, then make it the
// signing key and move the old one to the verification keys; once the
// longest lifetime has passed, drop the old key and its tokens fail at once.
//
// # External OpenID providers
//
// [NewProvider] discovers an OpenID provider (Auth0, Keycloak, Zitadel or
// any other) from its issuer, keeps its key set in a cache (MicahParks'
// jwkset, refreshed every [ProviderConfig.RefreshInterval] and when a
// token names a kid the cache lacks), and holds a [ClaimMapping] that says
// where its tokens carry the tenant ([TenantClaim]: a value, the only
// element of a list or the only member of an object), the kind
// ([KindClaim]: fixed, or a claim whose values map to declared kinds), the
// subject and the roles ([RolesClaim]). [Config.Providers] lists them.
// [Authority.Verify] takes their access tokens ([AccessToken], typ
// "at+jwt" of RFC 9068, or "JWT" where [ProviderConfig.AllowJWTType]
// says so) when its accept set includes AccessToken, matches each token to
// the provider its iss names, and builds the principal by that provider's
// mapping; the middleware puts it in the context like any other, with
// [Source]. The SDK's own tokens are verified as before, with the SDK's
// keys only, and [AnyToken] does not include AccessToken: a route takes
// provider tokens only when it says so.
//
// # Middleware
//
// [NewMiddleware] returns a [Middleware] whose [Middleware.Handler] wraps an
// http.Handler; it works with http.ServeMux, gorilla/mux and chi. It reads
// "Authorization: Bearer" or, in cookie mode, an HttpOnly session cookie.
// [RequireKind] and [RequireRole] guard routes behind it.
//
// The principal's RequestID is a new UUIDv7 per request, or the value of
// [MiddlewareConfig.RequestIDHeader] when that is set (behind a proxy that
// owns the header) and the value is a short plain string. It is echoed in
// the response. A request id is only for correlation; no header can ever
// set the tenant.
//
// # Security
//
// Each default, and why:
//
//   - Algorithm from the key only (RFC 8725 section 3.1). The kid picks the
//     key, and the token's alg must equal that key's algorithm; golang-jwt
//     is given that one algorithm (WithValidMethods). "none", an HS256
//     token signed with a public key's bytes, and any algorithm switch fail
//     before a signature is computed. A token without a kid, or with an
//     unknown one, fails.
//   - Ed25519 by default ([GenerateKey]); ES256 for peers without it. HS256
//     needs [Config.AllowHS256] as well as an explicit [NewHS256Key] with a
//     secret of at least 32 bytes, because everyone who can verify an
//     HS256 token can also forge one. [Authority.JWKS] never exports HS256
//     secrets or private keys.
//   - Header allow-list: alg, kid, typ. jku, jwk, x5u and x5c would let a
//     token name its own key, and crit would require extensions; they and
//     any unknown parameter are refused (RFC 8725 section 3.10).
//   - exp, nbf, iat, jti, sub, iss and aud are required; iss must equal
//     [Config.Issuer] and aud contain [Config.Audience], so a token of
//     another service or environment fails. iat may not be after nbf, and
//     the lifetime exp - iat (from the token's real birth, so an old iat
//     with a recent nbf does not help) must be positive and may not exceed
//     [Config.MaxLifetime] ([DefaultMaxLifetime], 1h; at most
//     [MaxMaxLifetime], 24h) for sessions or
//     [Config.MaxImpersonationLifetime] ([DefaultMaxImpersonationLifetime],
//     15m; at most [MaxMaxImpersonationLifetime], 1h, the longest grant)
//     for impersonations, when issuing and again when verifying, so even a
//     token correctly signed by our key with a far exp fails. Short
//     lifetimes bound what a stolen token is worth when revocation is not
//     consulted in time.
//   - Leeway [DefaultLeeway] (30s), at most [MaxLeeway] (2m), on exp, nbf
//     and iat (an iat in the future beyond it fails): enough for clock
//     skew between servers, short enough not to extend expiry.
//   - Explicit typing: typ must be one of the accepted types and agree with
//     the claims (act and grant present exactly in impersonation tokens),
//     so one kind of token can never stand in for the other (RFC 8725
//     section 3.11).
//   - Tenant: required and strictly parsed as a key of the declared type
//     ([tenancy.KeyType.Parse]) for every kind but operators, and for
//     impersonations; refused on an operator's session.
//     "system" tokens are never issued or accepted.
//   - Size: tokens over [Config.MaxTokenSize] ([DefaultMaxTokenSize], 4 KiB,
//     what a browser keeps in one cookie; at most [MaxMaxTokenSize]) are
//     refused before any base64 or JSON decoding, so a hostile token costs
//     little to refuse; [Authority.Issue] refuses to sign one that large.
//     Base64 is decoded strictly (no padding, no stray bits), so a token
//     has one encoding.
//   - Keys: a kid has at most [MaxKeyIDLength] characters from a safe set,
//     so it can be logged; [Authority.SetKeys] rotates keys atomically,
//     without downtime, and a retired key's tokens fail at once.
//   - Revocation: [Config.Revoker] is required and consulted on every
//     verification after everything else passed; its error fails the
//     request (fail closed). It sees every token, impersonations
//     included, so logout (jti), a disabled account or changed password
//     (per-subject not-before) and an ended grant (grant id) take effect
//     on the next request. [NoRevocation] is the explicit opt-out.
//     [MemoryRevoker] revokes by all three in one process.
//   - Middleware answers: 401 with WWW-Authenticate: Bearer (RFC 6750)
//     and a fixed application/problem+json body (RFC 9457) that carries no
//     reason and echoes nothing; the reason goes to
//     [MiddlewareConfig.OnError]. An application that renders its own
//     error pages sets [MiddlewareConfig.Deny], a handler that receives
//     the refused request with its [Problem] ([ProblemFromContext]),
//     instead of rewriting the response in flight. Tokens are never read from the URL or
//     query, where they would leak into logs and Referer headers. Two
//     Authorization headers or two session cookies fail. The realm is
//     [DefaultRealm] unless set. [RequireKind] and [RequireRole] answer 403
//     with a fixed problem body, and 401 when no principal is in the
//     context (the authentication middleware is missing: fail closed).
//   - Request ids: [MiddlewareConfig.RequestIDHeader] is empty by default,
//     so every request gets a fresh UUIDv7 and no client can choose the id
//     that audit records carry; set it only behind a proxy that owns the
//     header.
//   - Cookie mode is off unless [MiddlewareConfig.Cookie] is set, and then
//     needs a [MiddlewareConfig.CSRFKey]. The session cookie is HttpOnly,
//     Secure, SameSite=Lax ([Middleware.SetSessionCookie]): scripts cannot
//     read it, and links from other sites still arrive signed in. The CSRF
//     cookie is [DefaultCSRFCookie] ("__Host-csrf": browsers accept it only
//     Secure, host-only, for path "/", so a sibling subdomain cannot set
//     it), SameSite=Strict, and readable by the page's scripts, which echo
//     it in [DefaultCSRFHeader]; it is worthless without the session
//     cookie. Unsafe methods (all but GET, HEAD,
//     OPTIONS) then need two independent CSRF defences: the browser's
//     Sec-Fetch-Site / Origin must not say cross-origin
//     ([net/http.CrossOriginProtection]), and a double-submit token must
//     be sent in a header (or form field) equal to the CSRF cookie
//     (compared in constant time) and carry an HMAC binding it to the
//     session (the token's jti and principal), so a cookie planted from a
//     sibling subdomain, or a CSRF token left over from another session,
//     fails ([Middleware.SetCSRFCookie]). A failure is 403. Safe methods
//     must not change state. Bearer requests need no CSRF defence: a
//     browser never attaches an Authorization header by itself.
//   - External providers: the issuer is an https URL that the discovery
//     document and every token's iss must equal exactly (no trailing-slash
//     or case folding), and a token of an issuer not in
//     [Config.Providers] fails ([ErrIssuer]). Discovery and the key set
//     are fetched over https only (redirects too), bodies are cut at
//     [MaxProviderResponseSize], and [NewProvider] fails rather than start
//     with no keys; a refresh that fails or returns a set with a malformed
//     key keeps the cached keys. Each key's alg comes from the key set
//     (required: an RSA key could be RS256 or PS256), must be one of
//     RS256, PS256, ES256 and EdDSA, fit the key (type, curve, RSA size
//     [MinRSAKeyBits] to [MaxRSAKeyBits]; a private key published by
//     mistake is refused), and equal the token's alg; "none" and HS256
//     fail before any key is looked up, and the SDK's own keys never
//     verify an access token. A malformed kid never makes the key set be
//     fetched; an unknown one does, at most every
//     [ProviderConfig.UnknownKeyRefreshInterval], so made-up kids cost the
//     provider little. exp, iat, jti and aud are required, the lifetime is
//     bounded by [ProviderConfig.MaxLifetime], and an act claim (RFC 8693
//     delegation) is refused. The tenant must be exactly one key of the
//     declared type ([ErrTenant] when absent, empty, two, of the wrong
//     form or not parseable), and a provider's kinds must be declared tenant
//     or subject kinds: operators reach into tenants only with the SDK's
//     own audited impersonation tokens.
//   - Errors never contain the token. The package writes no logs itself;
//     the errors it hands to [MiddlewareConfig.OnError] may quote, escaped
//     and truncated, a header value (kid, alg, typ), the kind claim, an
//     access token's iss or a claim path of a [ClaimMapping], and never a
//     tenant, subject or role.
package jwtctx
