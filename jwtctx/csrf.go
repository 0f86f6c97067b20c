package jwtctx

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

const (
	csrfNonceSize = 16
	csrfDomain    = "jwtctx csrf v3\x00"
)

// csrfMAC binds a nonce to a session: the token's jti (the session's
// identity) and its principal's kind, tenant and subject.
func (m *Middleware) csrfMAC(tok Token, nonce []byte) []byte {
	p := tok.Principal
	h := hmac.New(sha256.New, m.csrfKey)
	h.Write([]byte(csrfDomain))
	// Each part is length-prefixed: kinds have at most 63 bytes, keys at
	// most tenancy.MaxTextKey (255), a jti at most 64.
	for _, part := range []string{string(p.Kind), p.Tenant.String(), p.Subject.String(), tok.ID} {
		h.Write([]byte{byte(len(part))})
		h.Write([]byte(part))
	}
	h.Write(nonce)
	return h.Sum(nil)
}

// CSRFToken returns a new CSRF token bound to the session of tok (its jti,
// and its principal's kind, tenant and subject) with an HMAC under
// [MiddlewareConfig.CSRFKey]: a token minted for another session, even of
// the same principal, or planted by another site, fails. It dies with the
// session token, so mint a new one whenever the session cookie is set (a
// sign-in or a refresh). tok is the verified session token: from
// [TokenFromContext] in a handler behind the middleware, or from
// [Authority.Verify] of the token just issued at sign-in. Put it in the
// double-submit cookie ([Middleware.SetCSRFCookie] does both). It fails
// with an error wrapping [ErrConfig] when the middleware is not in cookie
// mode, and [ErrClaims] when tok has no id or an invalid principal. It is
// safe for concurrent use.
func (m *Middleware) CSRFToken(tok Token) (string, error) {
	if !m.sessionOn {
		return "", fmt.Errorf("%w: no session cookie configured", ErrConfig)
	}
	if tok.ID == "" || len(tok.ID) > 64 {
		return "", fmt.Errorf("%w: token id missing or too long", ErrClaims)
	}
	if err := m.auth.cfg.Principals.Check(tok.Principal); err != nil {
		return "", fmt.Errorf("%w: %w", ErrClaims, err)
	}
	nonce := make([]byte, csrfNonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return b64.EncodeToString(nonce) + "." + b64.EncodeToString(m.csrfMAC(tok, nonce)), nil
}

// SetCSRFCookie mints a token with [Middleware.CSRFToken], sets it as the
// double-submit cookie (Secure, SameSite=Strict, Path "/", readable by the
// page's own scripts so they can echo it in the CSRF header; it is useless
// without the HttpOnly session cookie) and returns it, for a page to embed
// in forms or a meta tag. Call it whenever the session cookie is set, with
// that session's verified token. It fails as CSRFToken does. It is safe for
// concurrent use.
func (m *Middleware) SetCSRFCookie(w http.ResponseWriter, session Token) (string, error) {
	tok, err := m.CSRFToken(session)
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     m.cfg.CSRFCookie,
		Value:    tok,
		Path:     "/",
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
	return tok, nil
}

// checkCSRF applies both CSRF defences to a cookie-authenticated unsafe
// request: the browser's Origin / Sec-Fetch-Site headers must not say
// cross-origin, and the CSRF header (or form field) must equal the CSRF
// cookie, which must carry a valid HMAC for the session tok.
func (m *Middleware) checkCSRF(r *http.Request, tok Token) error {
	if err := m.csrf.Check(r); err != nil {
		return fmt.Errorf("%w: %w", ErrCSRF, err)
	}
	cookies := r.CookiesNamed(m.cfg.CSRFCookie)
	if len(cookies) != 1 {
		return fmt.Errorf("%w: %d CSRF cookies", ErrCSRF, len(cookies))
	}
	sent := r.Header.Get(m.cfg.CSRFHeader)
	if sent == "" && m.cfg.CSRFFormField != "" {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
			sent = r.PostFormValue(m.cfg.CSRFFormField)
		}
	}
	if sent == "" {
		return fmt.Errorf("%w: no CSRF token in the request", ErrCSRF)
	}
	if subtle.ConstantTimeCompare([]byte(sent), []byte(cookies[0].Value)) != 1 {
		return fmt.Errorf("%w: CSRF token differs from its cookie", ErrCSRF)
	}
	nonceB64, macB64, ok := strings.Cut(sent, ".")
	if !ok {
		return fmt.Errorf("%w: malformed CSRF token", ErrCSRF)
	}
	nonce, err1 := b64.DecodeString(nonceB64)
	mac, err2 := b64.DecodeString(macB64)
	if err1 != nil || err2 != nil || len(nonce) != csrfNonceSize {
		return fmt.Errorf("%w: malformed CSRF token", ErrCSRF)
	}
	if !hmac.Equal(mac, m.csrfMAC(tok, nonce)) {
		return fmt.Errorf("%w: CSRF token not minted for this session", ErrCSRF)
	}
	return nil
}
