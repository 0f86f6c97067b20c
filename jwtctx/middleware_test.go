package jwtctx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

const (
	wantUnauthorizedBody = `{"type":"about:blank","title":"Unauthorized","status":401,"code":"unauthorized","detail":"A valid access token is required."}`
	wantForbiddenBody    = `{"type":"about:blank","title":"Forbidden","status":403,"code":"forbidden","detail":"This request is not allowed."}`
	sessionCookie        = "__Host-session"
)

var csrfKey = []byte("0123456789abcdef0123456789abcdef")

// errorLog collects what the OnError hook receives.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) hook(_ *http.Request, _ string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) take() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := l.errs
	l.errs = nil
	return errs
}

// whoami answers with the principal the context carries.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, err := tenancy.Require(r.Context())
	if err != nil {
		p, _ = tenancy.FromContext(r.Context())
	}
	tok, _ := jwtctx.TokenFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"kind": p.Kind.String(), "tenant": p.Tenant.String(), "subject": p.Subject.String(),
		"request_id": p.RequestID, "token_request_id": tok.Principal.RequestID, "path": r.URL.Path,
	})
})

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(body)}
}

func newMiddleware(t *testing.T, a *jwtctx.Authority, cfg jwtctx.MiddlewareConfig) *jwtctx.Middleware {
	t.Helper()
	m, err := jwtctx.NewMiddleware(a, cfg)
	if err != nil {
		t.Fatalf("NewMiddleware: %v", err)
	}
	return m
}

func TestMiddlewareBearer(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	log := &errorLog{}
	m := newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken, OnError: log.hook})
	srv := httptest.NewServer(m.Handler(whoami))
	defer srv.Close()

	staffTok := issue(t, a, staffPrincipal, time.Hour)
	impTok := issue(t, a, impPrincipal, time.Minute)
	expired := forgeExpired(t)
	tampered := tamperTenant(t, staffTok, clinic2)

	for _, tt := range []struct {
		name      string
		header    http.Header
		url       string
		status    int
		challenge string
		wantErr   error
		secret    string // must not appear in the response
	}{
		{name: "valid token", header: http.Header{"Authorization": {"Bearer " + staffTok}}, status: 200},
		{name: "lower-case scheme", header: http.Header{"Authorization": {"bearer " + staffTok}}, status: 200},
		{name: "no token", status: 401, challenge: `Bearer realm="api"`, wantErr: jwtctx.ErrNoToken},
		{name: "basic credentials are not a token", header: http.Header{"Authorization": {"Basic YTpi"}}, status: 401, challenge: `Bearer realm="api"`, wantErr: jwtctx.ErrNoToken},
		{name: "empty bearer", header: http.Header{"Authorization": {"Bearer "}}, status: 401, challenge: `Bearer realm="api"`, wantErr: jwtctx.ErrNoToken},
		{name: "token in the query is ignored", url: "?access_token=" + url.QueryEscape(staffTok), status: 401, challenge: `Bearer realm="api"`, wantErr: jwtctx.ErrNoToken, secret: staffTok},
		{name: "two Authorization headers", header: http.Header{"Authorization": {"Bearer " + staffTok, "Bearer " + staffTok}}, status: 401, challenge: `Bearer realm="api"`, wantErr: jwtctx.ErrMalformed, secret: staffTok},
		{name: "expired", header: http.Header{"Authorization": {"Bearer " + expired}}, status: 401, challenge: `Bearer realm="api", error="invalid_token"`, wantErr: jwtctx.ErrExpired, secret: expired},
		{name: "tampered tenant", header: http.Header{"Authorization": {"Bearer " + tampered}}, status: 401, challenge: `Bearer realm="api", error="invalid_token"`, wantErr: jwtctx.ErrSignature, secret: tampered},
		{name: "impersonation token on a session-only route", header: http.Header{"Authorization": {"Bearer " + impTok}}, status: 401, challenge: `Bearer realm="api", error="invalid_token"`, wantErr: jwtctx.ErrType, secret: impTok},
		{name: "garbage", header: http.Header{"Authorization": {"Bearer not.a.jwt"}}, status: 401, challenge: `Bearer realm="api", error="invalid_token"`, wantErr: jwtctx.ErrMalformed, secret: "not.a.jwt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", srv.URL+"/patients"+tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			res := do(t, req)
			errs := log.take()
			if res.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", res.status, tt.status, res.body)
			}
			if res.header.Get("X-Request-Id") == "" {
				t.Errorf("no X-Request-Id in the response")
			}
			if tt.status == 200 {
				var got map[string]string
				if err := json.Unmarshal([]byte(res.body), &got); err != nil {
					t.Fatal(err)
				}
				if got["tenant"] != clinic.String() || got["kind"] != "staff" || got["request_id"] != res.header.Get("X-Request-Id") || got["token_request_id"] != got["request_id"] {
					t.Errorf("handler saw %v", got)
				}
				if len(errs) != 0 {
					t.Errorf("error hook called on success: %v", errs)
				}
				return
			}
			checkUnauthorized(t, res, tt.challenge)
			if len(errs) != 1 || !errors.Is(errs[0], tt.wantErr) {
				t.Fatalf("error hook got %v, want one error wrapping %v", errs, tt.wantErr)
			}
			// The reason goes to the hook, never to the client.
			if strings.Contains(res.body, errs[0].Error()) {
				t.Errorf("body contains the reason %q", errs[0])
			}
			for _, secret := range []string{tt.secret, strings.Split(tt.secret, ".")[0]} {
				if secret != "" && strings.Contains(fmt.Sprint(res.header)+res.body, secret) {
					t.Errorf("response echoes the token")
				}
			}
		})
	}
}

func forgeExpired(t *testing.T) string {
	c := sessionClaims()
	c["exp"] = t0.Add(-time.Hour).Unix()
	c["nbf"] = t0.Add(-2 * time.Hour).Unix()
	c["iat"] = t0.Add(-2 * time.Hour).Unix()
	return forge(t, jwt.SigningMethodEdDSA, edPriv, sessionHeader(), c)
}

func checkUnauthorized(t *testing.T, res response, challenge string) {
	t.Helper()
	want := response{status: 401, body: wantUnauthorizedBody}
	got := response{status: res.status, body: res.body}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(response{})); diff != "" {
		t.Errorf("401 response (-want +got):\n%s", diff)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	if got := res.header.Get("WWW-Authenticate"); got != challenge {
		t.Errorf("WWW-Authenticate %q, want %q", got, challenge)
	}
}

func TestMiddlewareCookieCSRF(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	log := &errorLog{}
	m := newMiddleware(t, a, jwtctx.MiddlewareConfig{
		Accept: jwtctx.AnyToken, Cookie: sessionCookie, CSRFKey: csrfKey, CSRFFormField: "csrf_token", OnError: log.hook,
	})
	srv := httptest.NewServer(m.Handler(whoami))
	defer srv.Close()

	staffTok := issue(t, a, staffPrincipal, time.Hour)
	csrf := mintCSRF(t, m, verified(t, a, staffTok))
	otherPrincipal := tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinic2, Subject: dentist}
	otherCSRF := mintCSRF(t, m, verified(t, a, issue(t, a, otherPrincipal, time.Hour)))
	// The same principal signed in a second time: another session.
	otherSessionCSRF := mintCSRF(t, m, verified(t, a, issue(t, a, staffPrincipal, time.Hour)))
	session := &http.Cookie{Name: sessionCookie, Value: staffTok}
	csrfCookie := func(v string) *http.Cookie { return &http.Cookie{Name: "__Host-csrf", Value: v} }

	for _, tt := range []struct {
		name    string
		method  string
		cookies []*http.Cookie
		header  http.Header
		form    url.Values
		status  int
		wantErr error
	}{
		{name: "GET with the session cookie", method: "GET", cookies: []*http.Cookie{session}, status: 200},
		{name: "POST with cookie, header and same-origin", method: "POST", cookies: []*http.Cookie{session, csrfCookie(csrf)},
			header: http.Header{"X-Csrf-Token": {csrf}, "Sec-Fetch-Site": {"same-origin"}}, status: 200},
		{name: "POST with the token in a form field", method: "POST", cookies: []*http.Cookie{session, csrfCookie(csrf)},
			form: url.Values{"csrf_token": {csrf}}, status: 200},
		{name: "POST without CSRF token", method: "POST", cookies: []*http.Cookie{session, csrfCookie(csrf)}, status: 403, wantErr: jwtctx.ErrCSRF},
		{name: "POST without CSRF cookie", method: "POST", cookies: []*http.Cookie{session},
			header: http.Header{"X-Csrf-Token": {csrf}}, status: 403, wantErr: jwtctx.ErrCSRF},
		{name: "DELETE with header differing from cookie", method: "DELETE", cookies: []*http.Cookie{session, csrfCookie(csrf)},
			header: http.Header{"X-Csrf-Token": {otherCSRF}}, status: 403, wantErr: jwtctx.ErrCSRF},
		{name: "PUT with a token minted for another principal", method: "PUT", cookies: []*http.Cookie{session, csrfCookie(otherCSRF)},
			header: http.Header{"X-Csrf-Token": {otherCSRF}}, status: 403, wantErr: jwtctx.ErrCSRF},
		{name: "PATCH with a token minted for another session of the same principal", method: "PATCH", cookies: []*http.Cookie{session, csrfCookie(otherSessionCSRF)},
			header: http.Header{"X-Csrf-Token": {otherSessionCSRF}}, status: 403, wantErr: jwtctx.ErrCSRF},
		{name: "POST with a forged token", method: "POST", cookies: []*http.Cookie{session, csrfCookie("AAAAAAAAAAAAAAAAAAAAAA.AAAA")},
			header: http.Header{"X-Csrf-Token": {"AAAAAAAAAAAAAAAAAAAAAA.AAAA"}}, status: 403, wantErr: jwtctx.ErrCSRF},
		{name: "POST cross-site by Sec-Fetch-Site", method: "POST", cookies: []*http.Cookie{session, csrfCookie(csrf)},
			header: http.Header{"X-Csrf-Token": {csrf}, "Sec-Fetch-Site": {"cross-site"}}, status: 403, wantErr: jwtctx.ErrCSRF},
		{name: "POST cross-origin by Origin", method: "POST", cookies: []*http.Cookie{session, csrfCookie(csrf)},
			header: http.Header{"X-Csrf-Token": {csrf}, "Origin": {"https://evil.test"}}, status: 403, wantErr: jwtctx.ErrCSRF},
		{name: "two CSRF cookies", method: "POST", cookies: []*http.Cookie{session, csrfCookie(csrf), csrfCookie(csrf)},
			header: http.Header{"X-Csrf-Token": {csrf}}, status: 403, wantErr: jwtctx.ErrCSRF},
		{name: "two session cookies", method: "GET", cookies: []*http.Cookie{session, session}, status: 401, wantErr: jwtctx.ErrMalformed},
		{name: "bearer POST needs no CSRF token", method: "POST", header: http.Header{"Authorization": {"Bearer " + staffTok}, "Sec-Fetch-Site": {"cross-site"}}, status: 200},
		{name: "bearer header wins over the cookie", method: "GET", cookies: []*http.Cookie{session},
			header: http.Header{"Authorization": {"Bearer garbage.x.y"}}, status: 401, wantErr: jwtctx.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.form != nil {
				body = strings.NewReader(tt.form.Encode())
			}
			req, err := http.NewRequest(tt.method, srv.URL+"/appointments", body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			for _, c := range tt.cookies {
				req.AddCookie(c)
			}
			res := do(t, req)
			errs := log.take()
			if res.status != tt.status {
				t.Fatalf("status %d, want %d (hook: %v)", res.status, tt.status, errs)
			}
			if tt.wantErr == nil {
				if len(errs) != 0 {
					t.Errorf("hook called on success: %v", errs)
				}
				return
			}
			if len(errs) != 1 || !errors.Is(errs[0], tt.wantErr) {
				t.Errorf("hook got %v, want one error wrapping %v", errs, tt.wantErr)
			}
			want := wantUnauthorizedBody
			if tt.status == 403 {
				want = wantForbiddenBody
			}
			if res.body != want {
				t.Errorf("body %s, want %s", res.body, want)
			}
			if strings.Contains(res.body, staffTok) || strings.Contains(res.body, csrf) {
				t.Errorf("body echoes a token")
			}
		})
	}
}

// verified returns the verified form of the session token s.
func verified(t *testing.T, a *jwtctx.Authority, s string) jwtctx.Token {
	t.Helper()
	tok, err := a.Verify(t.Context(), s, jwtctx.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mintCSRF(t *testing.T, m *jwtctx.Middleware, session jwtctx.Token) string {
	t.Helper()
	rec := httptest.NewRecorder()
	tok, err := m.SetCSRFCookie(rec, session)
	if err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Value != tok || cookies[0].Name != "__Host-csrf" || !cookies[0].Secure ||
		cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/" {
		t.Fatalf("CSRF cookie %+v", cookies)
	}
	return tok
}

func TestSessionCookie(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	m := newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken, Cookie: sessionCookie, CSRFKey: csrfKey})
	rec := httptest.NewRecorder()
	if err := m.SetSessionCookie(rec, "tok", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	m.ClearCookies(rec)
	type cookie struct {
		Name, Value      string
		HttpOnly, Secure bool
		SameSite         http.SameSite
		MaxAge           int
	}
	var got []cookie
	for _, c := range rec.Result().Cookies() {
		got = append(got, cookie{c.Name, c.Value, c.HttpOnly, c.Secure, c.SameSite, c.MaxAge})
	}
	want := []cookie{
		{sessionCookie, "tok", true, true, http.SameSiteLaxMode, 0},
		{sessionCookie, "", true, true, http.SameSiteLaxMode, -1},
		{"__Host-csrf", "", false, true, http.SameSiteLaxMode, -1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cookies (-want +got):\n%s", diff)
	}

	bearerOnly := newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken})
	if err := bearerOnly.SetSessionCookie(rec, "tok", t0); !errors.Is(err, jwtctx.ErrConfig) {
		t.Errorf("SetSessionCookie without cookie mode: got %v, want ErrConfig", err)
	}
	if _, err := bearerOnly.CSRFToken(verified(t, a, issue(t, a, staffPrincipal, time.Hour))); !errors.Is(err, jwtctx.ErrConfig) {
		t.Errorf("CSRFToken without cookie mode: got %v, want ErrConfig", err)
	}
}

func TestNewMiddlewareRejectsConfig(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	for _, tt := range []struct {
		name string
		a    *jwtctx.Authority
		cfg  jwtctx.MiddlewareConfig
	}{
		{"nil authority", nil, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken}},
		{"no accept set", a, jwtctx.MiddlewareConfig{}},
		{"unknown token type", a, jwtctx.MiddlewareConfig{Accept: 8}},
		{"cookie without CSRF key", a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken, Cookie: "s"}},
		{"short CSRF key", a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken, Cookie: "s", CSRFKey: csrfKey[:16]}},
		{"cookie names collide", a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken, Cookie: "c", CSRFCookie: "c", CSRFKey: csrfKey}},
		{"bad cookie name", a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken, Cookie: "a b", CSRFKey: csrfKey}},
		{"quote in realm", a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken, Realm: `a"b`}},
		{"bad trusted origin", a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken, TrustedOrigins: []string{"not an origin"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := jwtctx.NewMiddleware(tt.a, tt.cfg); !errors.Is(err, jwtctx.ErrConfig) || m != nil {
				t.Errorf("got %v, %v; want nil, ErrConfig", m, err)
			}
		})
	}
}

func TestMiddlewareRequestID(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	tok := issue(t, a, staffPrincipal, time.Hour)
	for _, tt := range []struct {
		name   string
		header string // RequestIDHeader
		sent   string
		kept   bool
	}{
		{"untrusted by default", "", "req-123", false},
		{"trusted header", "X-Request-Id", "req-123", true},
		{"trusted header, unsafe value", "X-Request-Id", "req 123<script>", false},
		{"trusted header, too long", "X-Request-Id", strings.Repeat("a", 129), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken, RequestIDHeader: tt.header})
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("X-Request-Id", tt.sent)
			rec := httptest.NewRecorder()
			var got string
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, _ := tenancy.FromContext(r.Context())
				got = p.RequestID
			})).ServeHTTP(rec, req)
			if got == "" || (got == tt.sent) != tt.kept {
				t.Errorf("RequestID %q; sent %q, want kept=%v", got, tt.sent, tt.kept)
			}
			if !tt.kept {
				if _, err := tenancy.ParseID(got); err != nil {
					t.Errorf("generated RequestID %q is not a UUID: %v", got, err)
				}
			}
			if echoed := rec.Header().Get("X-Request-Id"); echoed != got {
				t.Errorf("response X-Request-Id %q, want %q", echoed, got)
			}
		})
	}
}

func TestRequireKindAndRole(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	m := newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: jwtctx.AnyToken})
	mux := http.NewServeMux()
	mux.Handle("GET /admin/clinics", m.Handler(jwtctx.RequireKind(tenancy.Kind("platform_admin"))(whoami)))
	mux.Handle("GET /clinic/invoices", m.Handler(jwtctx.RequireKind(tenancy.Kind("staff"), tenancy.Kind("platform_admin"))(jwtctx.RequireRole("owner", "billing")(whoami))))
	mux.Handle("GET /unguarded", jwtctx.RequireKind(tenancy.Kind("staff"))(whoami))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	owner := staffPrincipal
	owner.Roles = []string{"owner"}
	tokens := map[string]string{
		"dentist": issue(t, a, staffPrincipal, time.Hour),
		"owner":   issue(t, a, owner, time.Hour),
		"admin":   issue(t, a, adminPrincipal, time.Hour),
	}
	for _, tt := range []struct {
		who, path string
		status    int
	}{
		{"admin", "/admin/clinics", 200},
		{"dentist", "/admin/clinics", 403},
		{"owner", "/clinic/invoices", 200},
		{"dentist", "/clinic/invoices", 403},
		{"admin", "/clinic/invoices", 403},
		{"owner", "/unguarded", 401}, // no authentication middleware: fail closed
	} {
		t.Run(tt.who+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+tokens[tt.who])
			res := do(t, req)
			if res.status != tt.status {
				t.Fatalf("status %d, want %d", res.status, tt.status)
			}
			switch tt.status {
			case 403:
				if res.body != wantForbiddenBody || res.header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("403 response %q (%s)", res.body, res.header.Get("Content-Type"))
				}
			case 401:
				checkUnauthorized(t, res, "Bearer")
			}
		})
	}
}

// TestRouters mounts the middleware around an http.ServeMux and inside it,
// per route, as routers' Use(func(http.Handler) http.Handler) does (the
// reference app mounts it on gorilla/mux; the SDK module does not depend
// on a router).
func TestRouters(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	m := newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken})
	tok := issue(t, a, staffPrincipal, time.Hour)

	std := http.NewServeMux()
	std.Handle("GET /patients/{id}", whoami)

	perRoute := http.NewServeMux()
	perRoute.Handle("GET /patients/{id}", m.Handler(whoami))

	for name, h := range map[string]http.Handler{"around ServeMux": m.Handler(std), "per route": perRoute} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL+"/patients/42", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			res := do(t, req)
			var got map[string]string
			if err := json.Unmarshal([]byte(res.body), &got); err != nil || res.status != 200 {
				t.Fatalf("status %d, body %q", res.status, res.body)
			}
			if got["tenant"] != clinic.String() || got["path"] != "/patients/42" {
				t.Errorf("handler saw %v", got)
			}
			req, _ = http.NewRequest("GET", srv.URL+"/patients/42", nil)
			checkUnauthorized(t, do(t, req), `Bearer realm="api"`)
		})
	}
}

// TestTenantOnlyFromToken sends requests whose URL path, query, headers,
// cookies and body all name another clinic: the handler still sees only the
// token's tenant, and a platform admin's session (no tenant) gets none.
func TestTenantOnlyFromToken(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	m := newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: jwtctx.AnyToken, Cookie: sessionCookie, CSRFKey: csrfKey})
	var (
		mu  sync.Mutex
		got []string // tenant seen, or the Require error
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The route names a clinic; the handler must not be able to get
		// it into the principal.
		if r.PathValue("clinic") != clinic2.String() {
			t.Errorf("path clinic %q", r.PathValue("clinic"))
		}
		seen := "no tenant"
		if p, err := tenancy.Require(r.Context()); err == nil {
			seen = p.Tenant.String()
		} else if !errors.Is(err, tenancy.ErrNoTenant) {
			seen = err.Error()
		}
		mu.Lock()
		got = append(got, seen)
		mu.Unlock()
	})
	mux := http.NewServeMux()
	mux.Handle("/clinics/{clinic}/patients", m.Handler(h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	hostile := clinic2.String()
	for _, tt := range []struct {
		name string
		tok  string
		want string
	}{
		{"staff of clinic", issue(t, a, staffPrincipal, time.Hour), clinic.String()},
		{"impersonating admin", issue(t, a, impPrincipal, time.Minute), clinic.String()},
		{"platform admin session", issue(t, a, adminPrincipal, time.Hour), "no tenant"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			form := url.Values{"tenant": {hostile}, "tenant_id": {hostile}, "clinic_id": {hostile}}
			req, err := http.NewRequest("POST", srv.URL+"/clinics/"+hostile+"/patients?"+form.Encode(), strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+tt.tok)
			for _, name := range []string{"X-Tenant-Id", "X-Tenant", "X-Clinic-Id", "Tenant"} {
				req.Header.Set(name, hostile)
			}
			req.AddCookie(&http.Cookie{Name: "tenant", Value: hostile})
			if res := do(t, req); res.status != 200 {
				t.Fatalf("status %d, body %s", res.status, res.body)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("handler saw tenant %v, want %s (the token's)", got, tt.want)
			}
		})
	}
}

// chain composes middlewares the way chi's Use and Chain do: the first one
// is the outermost.
func chain(mws ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		for i := len(mws) - 1; i >= 0; i-- {
			h = mws[i](h)
		}
		return h
	}
}

// TestChiStyleChain mounts Handler, RequireKind and RequireRole as a
// chi-style middleware stack (func(http.Handler) http.Handler values
// composed outermost first), as chi's r.Use(m.Handler, ...) does.
func TestChiStyleChain(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	m := newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken})
	h := chain(m.Handler, jwtctx.RequireKind(tenancy.Kind("staff")), jwtctx.RequireRole("owner"))(whoami)
	for _, tt := range []struct {
		name   string
		tok    string
		status int
	}{
		{"owner", issue(t, a, owner(), time.Hour), 200},
		{"dentist (wrong role)", issue(t, a, staffPrincipal, time.Hour), 403},
		{"platform admin (wrong kind)", issue(t, a, adminPrincipal, time.Hour), 403},
		{"no token", "", 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/invoices", nil)
			if tt.tok != "" {
				req.Header.Set("Authorization", "Bearer "+tt.tok)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.status != 200 && rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", rec.Header().Get("Content-Type"))
			}
		})
	}
}

// TestMiddlewareRevocation checks that the Revoker is consulted on every
// request, that revoked tokens and ended grants get 401 at once, and that a
// failing Revoker fails closed.
func TestMiddlewareRevocation(t *testing.T) {
	mem := &jwtctx.MemoryRevoker{}
	var (
		mu    sync.Mutex
		calls int
		down  bool
	)
	rev := jwtctx.RevokerFunc(func(ctx context.Context, tok jwtctx.Token) (bool, error) {
		mu.Lock()
		calls++
		failing := down
		mu.Unlock()
		if failing {
			return false, errors.New("revocation store unreachable")
		}
		return mem.Revoked(ctx, tok)
	})
	a := newAuthority(t, edKey, rev)
	log := &errorLog{}
	m := newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: jwtctx.AnyToken, OnError: log.hook})
	h := m.Handler(whoami)
	staffTok := issue(t, a, staffPrincipal, time.Hour)
	impTok := issue(t, a, impPrincipal, time.Minute)
	get := func(tok string) int {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}

	for i := range 3 {
		for _, tok := range []string{staffTok, impTok} {
			if code := get(tok); code != 200 {
				t.Fatalf("request %d before revocation: status %d (%v)", i, code, log.take())
			}
		}
	}
	if calls != 6 {
		t.Errorf("Revoker called %d times for 6 requests", calls)
	}

	mem.RevokeGrant(grant)
	if code := get(impTok); code != 401 {
		t.Errorf("impersonation after its grant ended: status %d, want 401", code)
	} else if errs := log.take(); len(errs) != 1 || !errors.Is(errs[0], jwtctx.ErrRevoked) {
		t.Errorf("hook got %v, want ErrRevoked", errs)
	}
	if code := get(staffTok); code != 200 {
		t.Errorf("ending a grant revoked a staff session: status %d", code)
	}

	tok := verified(t, a, staffTok)
	mem.RevokeToken(tok.ID, tok.ExpiresAt)
	if code := get(staffTok); code != 401 {
		t.Errorf("after logout: status %d, want 401", code)
	} else if errs := log.take(); len(errs) != 1 || !errors.Is(errs[0], jwtctx.ErrRevoked) {
		t.Errorf("hook got %v, want ErrRevoked", errs)
	}

	mu.Lock()
	down = true
	mu.Unlock()
	fresh := issue(t, a, owner(), time.Hour)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+fresh)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	// Refused (fail closed), as unavailable rather than unauthorized: the
	// token is good, the check could not be made.
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("with the Revoker failing: status %d, Retry-After %q, Content-Type %q; want 503, set, problem+json",
			rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Content-Type"))
	} else if body := rec.Body.String(); strings.Contains(body, "unreachable") || strings.Contains(body, staffPrincipal.Subject.String()) {
		t.Errorf("the 503 body says more than it should: %s", rec.Body)
	} else if errs := log.take(); len(errs) != 1 || !errors.Is(errs[0], jwtctx.ErrRevocationCheck) {
		t.Errorf("hook got %v, want ErrRevocationCheck", errs)
	}
}

func owner() tenancy.Principal {
	p := staffPrincipal
	p.Roles = []string{"owner"}
	return p
}

// TestDenyRendersRefusals: with Deny set, each refusal is the deny
// handler's response, with the refusal and its headers in the context;
// nothing of the default document is written.
func TestDenyRendersRefusals(t *testing.T) {
	auth := newAuthority(t, edKey, nil)
	var got []jwtctx.Problem
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := jwtctx.ProblemFromContext(r.Context())
		if !ok {
			t.Error("no problem in the deny handler's context")
		}
		got = append(got, p)
		w.WriteHeader(299)
	})
	m, err := jwtctx.NewMiddleware(auth, jwtctx.MiddlewareConfig{Accept: jwtctx.AnyToken, Realm: "web", Deny: deny})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler reached") }))
	for _, authz := range []string{"", "Bearer not-a-token"} {
		req := httptest.NewRequest("GET", "/", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 299 || rec.Header().Get("Content-Type") != "" || rec.Header().Get("WWW-Authenticate") != "" {
			t.Errorf("%q: %d, Content-Type %q, WWW-Authenticate %q; want the deny handler's 299 alone", authz, rec.Code,
				rec.Header().Get("Content-Type"), rec.Header().Get("WWW-Authenticate"))
		}
	}
	want := []jwtctx.Problem{
		{Status: 401, Title: "Unauthorized", Code: "unauthorized", Detail: "A valid access token is required.",
			Header: http.Header{"Www-Authenticate": {`Bearer realm="web"`}}},
		{Status: 401, Title: "Unauthorized", Code: "unauthorized", Detail: "A valid access token is required.",
			Header: http.Header{"Www-Authenticate": {`Bearer realm="web", error="invalid_token"`}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
