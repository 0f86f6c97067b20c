package jwtctx

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
)

// Defaults of [MiddlewareConfig].
const (
	// DefaultRealm is the realm of the WWW-Authenticate challenge.
	DefaultRealm = "api"
	// DefaultCSRFCookie is the double-submit cookie's name. The __Host-
	// prefix makes browsers refuse it unless it is Secure, host-only and
	// for path "/", so a sibling subdomain cannot plant one.
	DefaultCSRFCookie = "__Host-csrf"
	// DefaultCSRFHeader is the request header that echoes the CSRF token.
	DefaultCSRFHeader = "X-CSRF-Token"
	// DefaultRequestIDHeader is the response header carrying the request
	// id, when [MiddlewareConfig.RequestIDHeader] is empty.
	DefaultRequestIDHeader = "X-Request-Id"
	// MaxRequestIDLength is the longest incoming request id accepted.
	MaxRequestIDLength = 128
)

// MiddlewareConfig holds the settings of a [Middleware]. Accept is
// required, and CSRFKey is required when Cookie is set; [NewMiddleware]
// validates it.
type MiddlewareConfig struct {
	// Accept is the set of token types this middleware accepts, for example
	// [SessionToken] for the operators' console and [AnyToken] for
	// tenant routes that impersonating operators may use; add
	// [AccessToken] where external providers' tokens are welcome
	// ([Config.Providers]). Required.
	Accept TokenType

	// Realm is the realm of the WWW-Authenticate challenge. Empty means
	// [DefaultRealm]. It may not contain quotes, backslashes or control
	// characters.
	Realm string

	// Cookie names the HttpOnly session cookie to read the token from when
	// the request has no Bearer Authorization header. Empty disables cookie
	// mode (Bearer only). Prefer a "__Host-" name. Requests authenticated
	// by the cookie with an unsafe method (anything but GET, HEAD and
	// OPTIONS) must pass the CSRF checks.
	Cookie string
	// CSRFKey keys the HMAC that binds CSRF tokens to the session; at
	// least 32 random bytes, shared by all instances. Required with Cookie.
	CSRFKey []byte
	// CSRFCookie names the double-submit cookie. Empty means
	// [DefaultCSRFCookie].
	CSRFCookie string
	// CSRFHeader names the request header that must echo the CSRF cookie.
	// Empty means [DefaultCSRFHeader].
	CSRFHeader string
	// CSRFFormField, when set, names a field of URL-encoded form bodies
	// that may echo the CSRF cookie instead of the header, for plain HTML
	// forms. Reading it parses the form (see [http.Request.ParseForm]).
	CSRFFormField string
	// TrustedOrigins are origins ("https://admin.example.com") other than
	// the request's own whose cross-origin unsafe requests are allowed by
	// the Origin / Sec-Fetch-Site check. The double-submit token is still
	// required.
	TrustedOrigins []string

	// RequestIDHeader names a request header whose value, when it holds 1
	// to [MaxRequestIDLength] characters from [A-Za-z0-9._:-], becomes the
	// principal's RequestID; otherwise a new UUIDv7 is generated. Set it
	// only behind a proxy that sets or strips the header. Empty means
	// always generate. The id is echoed in the response under this header,
	// or [DefaultRequestIDHeader]. It is never used for anything but
	// correlation; in particular no header can name the tenant.
	RequestIDHeader string

	// OnError, if set, receives the detailed reason of every refused
	// request (wrapping [ErrNoToken], [ErrCSRF] or a verification error)
	// for logging. It must not write to the response. The reason never
	// contains the token.
	OnError func(r *http.Request, requestID string, err error)

	// Deny, when set, answers every refused request in place of the
	// default application/problem+json document, as
	// [http.CrossOriginProtection.SetDenyHandler] does: an HTML
	// application renders its own page (or redirects to sign-in) there.
	// Its request is the refused one, with no principal, and
	// [ProblemFromContext] gives the refusal: 401 (no or a bad token),
	// 403 (CSRF) or 503 (the Revoker could not judge the token), with the
	// WWW-Authenticate or Retry-After header the default answer carries
	// in Problem.Header. Nil means the default.
	Deny http.Handler
}

// Middleware authenticates requests with an [Authority] and puts the
// verified [tenancy.Principal] (and [Token]) in the request context. It is
// immutable and safe for concurrent use.
type Middleware struct {
	auth      *Authority
	cfg       MiddlewareConfig
	idHeader  string
	csrf      *http.CrossOriginProtection
	csrfKey   []byte
	sessionOn bool
}

// NewMiddleware returns a Middleware that verifies tokens with auth. It
// fails with an error wrapping [ErrConfig] when auth is nil, Accept is not
// a valid set, a name or the realm is malformed, a trusted origin does not
// parse, or Cookie is set without a CSRFKey of at least 32 bytes.
func NewMiddleware(auth *Authority, cfg MiddlewareConfig) (*Middleware, error) {
	bad := func(format string, args ...any) (*Middleware, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	if auth == nil {
		return bad("nil Authority")
	}
	if cfg.Accept&allTokens == 0 || cfg.Accept&^allTokens != 0 {
		return bad("Accept must be a union of SessionToken, ImpersonationToken and AccessToken")
	}
	if cfg.Realm == "" {
		cfg.Realm = DefaultRealm
	}
	if strings.ContainsFunc(cfg.Realm, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '"' || r == '\\' }) {
		return bad("Realm holds a quote, backslash or control character")
	}
	if cfg.CSRFCookie == "" {
		cfg.CSRFCookie = DefaultCSRFCookie
	}
	if cfg.CSRFHeader == "" {
		cfg.CSRFHeader = DefaultCSRFHeader
	}
	for _, name := range []string{cfg.Cookie, cfg.CSRFCookie, cfg.CSRFHeader, cfg.CSRFFormField, cfg.RequestIDHeader} {
		if name != "" && !isToken(name) {
			return bad("%q is not a valid cookie, header or field name", truncate(name, 32))
		}
	}
	m := &Middleware{auth: auth, idHeader: cfg.RequestIDHeader, csrf: http.NewCrossOriginProtection()}
	if m.idHeader == "" {
		m.idHeader = DefaultRequestIDHeader
	}
	for _, o := range cfg.TrustedOrigins {
		if err := m.csrf.AddTrustedOrigin(o); err != nil {
			return bad("trusted origin: %w", err)
		}
	}
	if cfg.Cookie != "" {
		if len(cfg.CSRFKey) < 32 {
			return bad("cookie mode needs a CSRFKey of at least 32 bytes")
		}
		if cfg.Cookie == cfg.CSRFCookie {
			return bad("session and CSRF cookies share a name")
		}
		m.sessionOn = true
		m.csrfKey = append([]byte(nil), cfg.CSRFKey...)
	}
	cfg.CSRFKey = nil
	cfg.TrustedOrigins = nil
	m.cfg = cfg
	return m, nil
}

// isToken reports whether s is an RFC 9110 token, the syntax of header
// field and cookie names.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// Handler returns next wrapped in authentication; it has the
// func(http.Handler) http.Handler shape that http.ServeMux wrappers,
// gorilla/mux's Use and chi's Use expect.
//
// The token comes from "Authorization: Bearer <token>" (exactly one
// Authorization header; other schemes are ignored) or, failing that and in
// cookie mode, from exactly one session cookie. Never from the URL, the
// query or the body. A request without a valid token gets 401
// application/problem+json with a fixed body and a WWW-Authenticate Bearer
// challenge; a token that verifies but that the [Revoker] could not judge
// ([ErrRevocationCheck]) gets 503 with Retry-After, refused all the same
// but without telling the client to discard it; a cookie-authenticated
// unsafe request failing the CSRF checks gets 403. [MiddlewareConfig.Deny],
// when set, answers these refusals instead. On success the context carries the principal, with its
// RequestID set and [Source] as its source, for [tenancy.FromContext],
// [tenancy.Require] and tenantdb, and the token for [TokenFromContext].
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := m.requestID(r)
		w.Header().Set(m.idHeader, reqID)
		fail := func(err error) {
			if m.cfg.OnError != nil {
				m.cfg.OnError(r, reqID, err)
			}
		}

		raw, fromCookie, err := m.extract(r)
		if err != nil {
			fail(err)
			unauthorized(w, r, m.cfg.Deny, m.cfg.Realm, false)
			return
		}
		tok, err := m.auth.Verify(r.Context(), raw, m.cfg.Accept)
		if errors.Is(err, ErrRevocationCheck) {
			// Not a bad token: the revocation store did not answer.
			// The request is refused all the same, but a 401 would tell
			// the client to throw a good token away.
			fail(err)
			unavailable(w, r, m.cfg.Deny)
			return
		}
		if err != nil {
			fail(err)
			unauthorized(w, r, m.cfg.Deny, m.cfg.Realm, true)
			return
		}
		if fromCookie && !isSafeMethod(r.Method) {
			if err := m.checkCSRF(r, tok); err != nil {
				fail(err)
				forbidden(w, r, m.cfg.Deny)
				return
			}
		}
		tok.Principal.RequestID = reqID
		ctx := authenticator.NewContext(r.Context(), tok.Principal)
		ctx = newTokenContext(ctx, tok)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// extract returns the raw token and whether it came from the cookie.
func (m *Middleware) extract(r *http.Request) (string, bool, error) {
	switch auths := r.Header.Values("Authorization"); len(auths) {
	case 0:
	case 1:
		scheme, rest, _ := strings.Cut(auths[0], " ")
		if strings.EqualFold(scheme, "Bearer") {
			tok := strings.TrimLeft(rest, " ")
			if tok == "" {
				return "", false, fmt.Errorf("%w: empty Bearer credentials", ErrNoToken)
			}
			return tok, false, nil
		}
	default:
		return "", false, fmt.Errorf("%w: %d Authorization headers", ErrMalformed, len(auths))
	}
	if !m.sessionOn {
		return "", false, ErrNoToken
	}
	switch cookies := r.CookiesNamed(m.cfg.Cookie); len(cookies) {
	case 0:
		return "", false, ErrNoToken
	case 1:
		if cookies[0].Value == "" {
			return "", false, fmt.Errorf("%w: empty session cookie", ErrNoToken)
		}
		return cookies[0].Value, true, nil
	default:
		// Two cookies of one name mean one was planted (cookie tossing).
		return "", false, fmt.Errorf("%w: %d session cookies", ErrMalformed, len(cookies))
	}
}

func isSafeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// requestID returns the trusted incoming request id or a new one.
func (m *Middleware) requestID(r *http.Request) string {
	if m.cfg.RequestIDHeader != "" {
		if v := r.Header.Get(m.cfg.RequestIDHeader); validRequestID(v) {
			return v
		}
	}
	return tenancy.NewID().String()
}

func validRequestID(s string) bool {
	if s == "" || len(s) > MaxRequestIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// SetSessionCookie sets the session cookie to token: HttpOnly (scripts
// cannot read it, so an XSS bug cannot steal it), Secure, SameSite=Lax
// (links from elsewhere still arrive signed in; unsafe cross-site requests
// are stopped by the CSRF checks), Path "/", expiring with the token. It
// fails with an error wrapping [ErrConfig] when the middleware is not in
// cookie mode. It is safe for concurrent use.
func (m *Middleware) SetSessionCookie(w http.ResponseWriter, token string, expires time.Time) error {
	if !m.sessionOn {
		return fmt.Errorf("%w: no session cookie configured", ErrConfig)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     m.cfg.Cookie,
		Value:    token,
		Path:     "/",
		Expires:  expires,
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// ClearCookies deletes the session and CSRF cookies, for sign-out. Revoke
// the token as well ([TokenFromContext] gives its id): clearing a cookie
// does not make a copied token invalid. It is safe for concurrent use.
func (m *Middleware) ClearCookies(w http.ResponseWriter) {
	for _, name := range []string{m.cfg.Cookie, m.cfg.CSRFCookie} {
		if name == "" {
			continue
		}
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: name == m.cfg.Cookie, SameSite: http.SameSiteLaxMode})
	}
}
