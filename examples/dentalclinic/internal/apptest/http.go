package apptest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/api"
)

// Response is an answer of the app.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", r.Status, err, r.Body)
	}
}

// IsProblem reports whether the response's content type is
// application/problem+json.
func (r Response) IsProblem() bool {
	return r.Header.Get("Content-Type") == "application/problem+json"
}

// Problem decodes the response as an RFC 9457 problem, failing the test
// if its content type is not application/problem+json, its body does not
// decode, or its status differs from the response's.
func (r Response) Problem(t testing.TB) api.Problem {
	t.Helper()
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("response %d is %q, not a problem: %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	var p api.Problem
	r.JSON(t, &p)
	if p.Status != r.Status {
		t.Fatalf("problem status %d in a %d response: %s", p.Status, r.Status, r.Body)
	}
	return p
}

// Do sends a request to path (such as "/api/v1/patients") with token as
// its bearer token (none if empty) and body, if not nil, as JSON. A
// transport error fails the test.
func (a *App) Do(t testing.TB, method, path, token string, body any) Response {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return a.DoRaw(t, method, path, token, ct, b)
}

// DoRaw sends body as is, with contentType if not empty: for bodies that
// are not JSON, or not valid JSON. A transport error fails the test.
func (a *App) DoRaw(t testing.TB, method, path, token, contentType string, body []byte) Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, a.Base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
