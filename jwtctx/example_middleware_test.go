package jwtctx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// The middleware puts the verified principal in the request context;
// without a valid token the client gets a fixed 401 problem, and the reason
// goes to the OnError hook.
func ExampleMiddleware_Handler() {
	auth := exampleAuthority(jwtctx.NoRevocation)
	m, err := jwtctx.NewMiddleware(auth, jwtctx.MiddlewareConfig{
		Accept: jwtctx.AnyToken,
		OnError: func(r *http.Request, requestID string, err error) {
			fmt.Println("log:", err)
		},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /projects", func(w http.ResponseWriter, r *http.Request) {
		p, err := tenancy.Require(r.Context())
		if err != nil {
			http.Error(w, "no tenant", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "projects of organization %s", p.Tenant)
	})
	h := m.Handler(jwtctx.RequireKind(tenancy.Kind("member"))(mux))

	token, _ := auth.Issue(tenancy.Principal{
		Kind:    tenancy.Kind("member"),
		Tenant:  tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f"),
		Subject: tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-000000000001"),
	}, time.Hour)

	for _, authz := range []string{"Bearer " + token, "Bearer " + token[:len(token)-4] + "AAAA", ""} {
		req := httptest.NewRequest("GET", "/projects", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
		if challenge := rec.Header().Get("WWW-Authenticate"); challenge != "" {
			fmt.Println("WWW-Authenticate:", challenge)
		}
		fmt.Println(rec.Body.String())
	}
	// Output:
	// 200
	// projects of organization 0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f
	// log: jwtctx: invalid signature: token signature is invalid: ed25519: verification error
	// 401
	// WWW-Authenticate: Bearer realm="api", error="invalid_token"
	// {"type":"about:blank","title":"Unauthorized","status":401,"code":"unauthorized","detail":"A valid access token is required."}
	// log: jwtctx: no token in request
	// 401
	// WWW-Authenticate: Bearer realm="api"
	// {"type":"about:blank","title":"Unauthorized","status":401,"code":"unauthorized","detail":"A valid access token is required."}
}

// In cookie mode, sign-in sets the HttpOnly session cookie and the CSRF
// cookie; pages echo the CSRF token in the X-CSRF-Token header (or a form
// field) on every unsafe request.
func ExampleMiddleware_SetCSRFCookie() {
	auth := exampleAuthority(jwtctx.NoRevocation)
	m, err := jwtctx.NewMiddleware(auth, jwtctx.MiddlewareConfig{
		Accept:  jwtctx.SessionToken,
		Cookie:  "__Host-session",
		CSRFKey: []byte("an example key of 32 bytes: keep"), // load from a secret store
	})
	if err != nil {
		panic(err)
	}
	staff := tenancy.Principal{
		Kind:    tenancy.Kind("member"),
		Tenant:  tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f"),
		Subject: tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-000000000001"),
	}

	// The sign-in handler sets the session cookie and a CSRF cookie bound
	// to that session (behind the middleware, TokenFromContext gives the
	// session's Token).
	signIn := httptest.NewRecorder()
	token, _ := auth.Issue(staff, time.Hour)
	session, _ := auth.Verify(context.Background(), token, jwtctx.SessionToken)
	_ = m.SetSessionCookie(signIn, token, session.ExpiresAt)
	csrf, _ := m.SetCSRFCookie(signIn, session)
	cookies := signIn.Result().Cookies()
	for _, c := range cookies {
		fmt.Println(c.Name, "HttpOnly:", c.HttpOnly, "Secure:", c.Secure)
	}

	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "saved")
	}))
	for _, withHeader := range []bool{false, true} {
		req := httptest.NewRequest("POST", "/projects", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		if withHeader {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// __Host-session HttpOnly: true Secure: true
	// __Host-csrf HttpOnly: false Secure: true
	// 403
	// 200
}
