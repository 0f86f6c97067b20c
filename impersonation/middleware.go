package audit

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// MiddlewareConfig holds the optional settings of a [Middleware].
type MiddlewareConfig struct {
	// Route names a request's route for its event. Nil means the
	// http.ServeMux pattern (r.Pattern, such as "GET /patients/{id}"),
	// else the method and "(no route)": never the raw path or query,
	// which may carry data.
	Route func(r *http.Request) string
	// OnError receives failures to record an event (the request then
	// failed with 503) and handler panics (the request failed with 500),
	// for logging. It must not write to the response.
	OnError func(r *http.Request, err error)
}

// Middleware records every request made with an impersonation token as
// one event in the impersonated clinic's chain: action [ActionRequest],
// resource type "route", resource id the method and route pattern, the
// admin and grant from the principal, and an outcome from the status
// code (below 400 success, 401 and 403 denied, else failure). Requests of
// other principals pass through untouched. Build it with [NewMiddleware];
// it is immutable and safe for concurrent use.
//
// Place it after jwtctx's middleware (which puts the principal in the
// context). How each request is recorded:
//
//   - Writes: a handler that changes data runs its transaction through
//     [RequestTx], which appends the request's event in that same
//     transaction: the change and its event commit together, and if the
//     event cannot be written, the change rolls back and the request fails.
//   - Everything else (reads, failed writes, handlers that never reached
//     RequestTx): after the handler returns, or panics, the middleware
//     appends the event in its own transaction through the tenantdb
//     pool, with context.WithoutCancel so a client that goes away cannot
//     skip it.
//   - The response is held in memory until the event is committed; if it
//     cannot be written, the response is dropped and the client gets 503
//     application/problem+json. So no data read under impersonation leaves
//     without its record, and a request is never reported successful
//     without one. (Streaming and Flush are therefore not available to
//     impersonated requests.)
//
// A write handler that commits changes outside RequestTx is still
// recorded, afterwards; if that record fails, the client gets 503 but the
// change stands. Route every write that impersonating admins can reach
// through RequestTx.
type Middleware struct {
	db  *tenantdb.Pool
	cfg MiddlewareConfig
}

// NewMiddleware returns a Middleware that writes events through db (the
// app role's pool, in the impersonated clinic's tenant context). It fails
// with [ErrInvalidConfig] for a nil db.
func NewMiddleware(db *tenantdb.Pool, cfg MiddlewareConfig) (*Middleware, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: a tenantdb pool is required", ErrInvalidConfig)
	}
	return &Middleware{db: db, cfg: cfg}, nil
}

type requestKey struct{}

// requestState is the request's pending event, shared by the middleware
// and RequestTx.
type requestState struct {
	m        *Middleware
	r        *http.Request // the request passed on; a ServeMux sets its Pattern
	recorded atomic.Bool
}

func (s *requestState) event(outcome Outcome) Event {
	route := ""
	if s.m.cfg.Route != nil {
		route = s.m.cfg.Route(s.r)
	} else if s.r.Pattern != "" {
		route = s.r.Pattern
		if len(route) > 0 && route[0] == '/' {
			route = s.r.Method + " " + route
		}
	} else {
		route = s.r.Method + " (no route)"
	}
	if !validText(route, MaxResourceIDLen) {
		route = s.r.Method + " (unprintable route)"
	}
	return Event{Action: ActionRequest, ResourceType: "route", ResourceID: route, Outcome: outcome}
}

// Handler returns next wrapped in the recording described on [Middleware].
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := tenancy.FromContext(r.Context())
		if !ok || p.Impersonation == nil {
			next.ServeHTTP(w, r)
			return
		}
		st := &requestState{m: m}
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, st))
		st.r = r
		bw := &bufferedWriter{header: make(http.Header)}
		m.serve(next, bw, r)
		if !st.recorded.Load() {
			ctx := context.WithoutCancel(r.Context())
			err := m.db.Tx(ctx, func(tx *tenantdb.Tx) error {
				_, err := Record(ctx, tx, st.event(outcomeOf(bw.statusCode())))
				return err
			})
			if err != nil {
				if m.cfg.OnError != nil {
					m.cfg.OnError(r, fmt.Errorf("audit: recording an impersonated request: %w", err))
				}
				writeProblem(w, http.StatusServiceUnavailable, unavailableBody)
				return
			}
		}
		bw.flush(w)
	})
}

// serve runs next, turning a panic into a 500 response (after dropping
// whatever was written) so that the request is still recorded.
func (m *Middleware) serve(next http.Handler, bw *bufferedWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			if m.cfg.OnError != nil {
				m.cfg.OnError(r, fmt.Errorf("audit: handler panicked: %v", v))
			}
			bw.reset(http.StatusInternalServerError)
		}
	}()
	next.ServeHTTP(bw, r)
}

// RequestTx runs fn in a tenant transaction on db and, when the request
// in ctx is an impersonated one that the [Middleware] records and has not
// been recorded yet, appends the request's event (outcome success) in the
// same transaction, after fn: the change and its event commit together or
// not at all, and a failure to write the event fails the call. The event
// is then not written again by the middleware. Otherwise RequestTx is
// db.Tx(ctx, fn). It returns fn's error, the event's, or db.Tx's.
func RequestTx(ctx context.Context, db *tenantdb.Pool, fn func(tx *tenantdb.Tx) error) error {
	st, _ := ctx.Value(requestKey{}).(*requestState)
	if st == nil || st.recorded.Load() {
		return db.Tx(ctx, fn)
	}
	err := db.Tx(ctx, func(tx *tenantdb.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := Record(ctx, tx, st.event(Success))
		return err
	})
	if err == nil {
		st.recorded.Store(true)
	}
	return err
}

func outcomeOf(status int) Outcome {
	switch {
	case status < 400:
		return Success
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Denied
	}
	return Failure
}

// bufferedWriter holds a response until the request is recorded.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 && status >= 200 {
		b.status = status
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) statusCode() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

func (b *bufferedWriter) reset(status int) {
	b.header = make(http.Header)
	b.body.Reset()
	b.status = status
	b.header.Set("Content-Type", "application/problem+json")
	b.body.WriteString(internalBody)
}

func (b *bufferedWriter) flush(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	w.WriteHeader(b.statusCode())
	_, _ = w.Write(b.body.Bytes())
}

const (
	unavailableBody = `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"The request could not be recorded in the audit log, so it was not answered."}`
	internalBody    = `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"The request failed."}`
)

func writeProblem(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
