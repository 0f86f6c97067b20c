package jwtctx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// TestMiddlewareStampsSource: the principal of a verified token carries
// jwtctx.Source(), which tenantdb lists to accept it, and RequireFrom
// with that source accepts it.
func TestMiddlewareStampsSource(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	m := newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken})
	var got tenancy.Source
	var ok bool
	var err error
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok = tenancy.SourceFromContext(r.Context())
		_, _, err = tenancy.RequireFrom(r.Context(), []tenancy.Source{jwtctx.Source()})
	})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Authorization", "Bearer "+issue(t, a, staffPrincipal, time.Hour))
	res, rerr := http.DefaultClient.Do(req)
	if rerr != nil {
		t.Fatal(rerr)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !ok || got != jwtctx.Source() || got.Name() != "jwtctx" || err != nil {
		t.Errorf("status %d, source %v (%v), RequireFrom %v; want 200 and jwtctx's source", res.StatusCode, got, ok, err)
	}
}
