package jwtctx

import (
	"context"
	"net/http"
	"strconv"

	"github.com/mydentalpractice/tenancy/internal/problem"
)

// Problem is a refusal by an SDK middleware, in the terms of an RFC 9457
// problem details document: what [Middleware.Handler], and package
// impersonation's middleware, answer when they refuse a request. An
// application renders it its own way through a deny handler
// ([MiddlewareConfig.Deny]), which reads it with [ProblemFromContext].
// It names no reason and echoes nothing from the request, so a probing
// client learns only the status. Problems are values, safe to copy and to
// read from several goroutines.
type Problem struct {
	// Status is the HTTP status code, such as 401.
	Status int
	// Title is a short, fixed summary of the status, such as
	// "Unauthorized".
	Title string
	// Code is a stable machine-readable code, such as "unauthorized",
	// written as the "code" extension member; empty for none.
	Code string
	// Detail is a plain sentence for people.
	Detail string
	// Header holds the headers the refusal carries whoever renders it:
	// WWW-Authenticate on a 401, Retry-After on a 503. Nil for none.
	Header http.Header
}

type problemKey struct{}

// ProblemFromContext returns the Problem that a deny handler was called
// for, and whether there is one.
func ProblemFromContext(ctx context.Context) (Problem, bool) {
	p, ok := ctx.Value(problemKey{}).(Problem)
	return p, ok
}

// Serve answers r with p. When deny is nil it sets p.Header on w and
// writes the default application/problem+json document (with
// "Cache-Control: no-store" and "X-Content-Type-Options: nosniff");
// otherwise it calls deny with r, whose context carries p for
// [ProblemFromContext], and writes nothing itself: deny decides the
// response, headers included. It is safe for concurrent use.
func (p Problem) Serve(w http.ResponseWriter, r *http.Request, deny http.Handler) {
	if deny != nil {
		deny.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), problemKey{}, p)))
		return
	}
	h := w.Header()
	for k, v := range p.Header {
		h[k] = append([]string(nil), v...)
	}
	problem.Write(w, p.Status, p.Title, p.Code, p.Detail)
}

// The fixed refusals of this package.
var (
	unauthorizedProblem = Problem{Status: http.StatusUnauthorized, Title: "Unauthorized", Code: "unauthorized",
		Detail: "A valid access token is required."}
	forbiddenProblem = Problem{Status: http.StatusForbidden, Title: "Forbidden", Code: "forbidden",
		Detail: "This request is not allowed."}
	unavailableProblem = Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable", Code: "unavailable",
		Detail: "The token could not be checked just now. Try again shortly."}
)

// RevocationRetryAfter is the Retry-After, in seconds, of the 503 that
// [Middleware.Handler] answers when the [Revoker] cannot judge a token.
const RevocationRetryAfter = 2

// unauthorized answers 401 with a Bearer challenge (RFC 6750 section 3).
// invalid says a token was presented but refused.
func unauthorized(w http.ResponseWriter, r *http.Request, deny http.Handler, realm string, invalid bool) {
	challenge := "Bearer"
	if realm != "" {
		challenge += ` realm="` + realm + `"`
		if invalid {
			challenge += ","
		}
	}
	if invalid {
		challenge += ` error="invalid_token"`
	}
	p := unauthorizedProblem
	p.Header = http.Header{"Www-Authenticate": {challenge}}
	p.Serve(w, r, deny)
}

// unavailable answers 503 with Retry-After: the token may be good, but it
// could not be checked, so the request is not served.
func unavailable(w http.ResponseWriter, r *http.Request, deny http.Handler) {
	p := unavailableProblem
	p.Header = http.Header{"Retry-After": {strconv.Itoa(RevocationRetryAfter)}}
	p.Serve(w, r, deny)
}

func forbidden(w http.ResponseWriter, r *http.Request, deny http.Handler) {
	forbiddenProblem.Serve(w, r, deny)
}
