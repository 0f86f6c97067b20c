package impersonation

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// MiddlewareConfig holds the optional settings of a [Middleware].
type MiddlewareConfig struct {
	// Route names a request's route for its event: the HTTP method, one
	// space and the route, such as "GET /notes/{id}". Nil means the
	// http.ServeMux pattern (r.Pattern), else the method and
	// "(unrouted)": never the raw path or query, which may carry data. A
	// route that is not printable ASCII without spaces, or that makes the
	// action longer than [audit.MaxActionLen], is recorded as the method
	// and "(unprintable)".
	Route func(r *http.Request) string
	// OnError receives failures to record an event (the request then
	// failed with 503) and handler panics (the request failed with 500),
	// for logging. It must not write to the response.
	OnError func(r *http.Request, err error)
	// Deny, when set, answers the requests the middleware refuses in place
	// of the default application/problem+json document: 503 when the
	// request's event could not be written, 500 after the handler
	// panicked. [jwtctx.ProblemFromContext] of its request gives the
	// status, title and detail. It is the hook of an HTML application that
	// renders its own error pages, like
	// [http.CrossOriginProtection.SetDenyHandler].
	Deny http.Handler
}

// Middleware records every request made with an impersonation token as
// one event in the impersonated tenant's audit chain. Build it with
// [NewMiddleware]; it is immutable and safe for concurrent use.
//
// The event's action is the request's method and route ("GET
// /notes/{id}", see [MiddlewareConfig.Route]); its resource type and id
// name the record the request touched, as told by [Touch] or [Record]
// (the first one told; none when the request named no record, as a list
// does); its actor, grant and impersonator come from the principal; its
// outcome from the status code (below 400 success, 401 and 403 denied,
// else failure). Requests of other principals pass through untouched and
// are not recorded by the middleware.
//
// Place it after jwtctx's middleware (which puts the principal in the
// context). One event per request, written once:
//
//   - Writes: a handler that changes data runs its transaction through
//     [RequestTx], which appends the request's event in that same
//     transaction: the change and its event commit together, and if the
//     event cannot be written, the change rolls back and the request fails.
//   - Everything else (reads outside RequestTx, failed writes, handlers
//     that never reached RequestTx): after the handler returns, or panics,
//     the middleware appends the event in its own transaction through the
//     tenantdb pool, with context.WithoutCancel so a client that goes away
//     cannot skip it.
//   - The response is held in memory until the event is committed; if it
//     cannot be written, the response is dropped and the client gets 503.
//     So no data read under impersonation leaves without its record, and
//     a request is never reported successful without one. (Streaming and
//     Flush are therefore not available to impersonated requests.)
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
// app role's pool, in the impersonated tenant's context). It fails with
// [ErrInvalidConfig] for a nil db.
func NewMiddleware(db *tenantdb.Pool, cfg MiddlewareConfig) (*Middleware, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: a tenantdb pool is required", ErrInvalidConfig)
	}
	return &Middleware{db: db, cfg: cfg}, nil
}

type requestKey struct{}

// requestState is the request's pending event, shared by the middleware,
// RequestTx, Touch and Record.
type requestState struct {
	m *Middleware
	r *http.Request // the request passed on; a ServeMux sets its Pattern

	mu                  sync.Mutex
	recorded            bool
	resourceType, resID string
}

// touch names the request's record, unless one is named or the event
// is written.
func (s *requestState) touch(resourceType, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.recorded && s.resourceType == "" && s.resID == "" {
		s.resourceType, s.resID = resourceType, id
	}
}

// event returns the request's event with outcome.
func (s *requestState) event(outcome audit.Outcome) audit.Event {
	s.mu.Lock()
	resourceType, id := s.resourceType, s.resID
	s.mu.Unlock()
	return audit.Event{Action: s.action(), ResourceType: resourceType, ResourceID: id, Outcome: outcome}
}

func (s *requestState) action() string {
	r := s.r
	var action string
	switch {
	case s.m.cfg.Route != nil:
		action = s.m.cfg.Route(r)
	case r.Pattern != "":
		action = r.Pattern
		if action[0] == '/' {
			action = r.Method + " " + action
		}
	default:
		action = r.Method + " (unrouted)"
	}
	// Only the action is in question: the other fields are valid.
	if (audit.Event{Action: action, Outcome: audit.Success, ActorKind: tenancy.KindSystem}).Validate() != nil {
		action = r.Method + " (unprintable)"
	}
	return action
}

// Touch tells the [Middleware] that the impersonated request in ctx
// touched the record resourceType / id (such as "invoice" and its id),
// so that the request's one event names it. The first record told is
// kept; later ones, and any told after the event was written, are
// ignored. Outside a request that the Middleware records, Touch does
// nothing. Call it inside the transaction that reads or writes the
// record, before [RequestTx] commits. It is safe for concurrent use.
func Touch(ctx context.Context, resourceType, id string) {
	if st, _ := ctx.Value(requestKey{}).(*requestState); st != nil {
		st.touch(resourceType, id)
	}
}

// Record records the domain event e (such as "invoice.view" of an
// invoice) for the work in ctx, in tx, and keeps the rule "one event per
// impersonated request": in a request that the [Middleware] records, e's
// resource is told to the request's event ([Touch]) and nothing else is
// written; otherwise, for staff, other principals, and impersonated work
// outside such a request, it is [audit.RecordAtCommit](ctx, tx, e): the
// event joins the chain with tx's COMMIT, in its round trip. It returns
// audit.RecordAtCommit's error, or nil. It is safe for concurrent use on
// different transactions.
func Record(ctx context.Context, tx audit.Tx, e audit.Event) error {
	if st, _ := ctx.Value(requestKey{}).(*requestState); st != nil {
		st.touch(e.ResourceType, e.ResourceID)
		return nil
	}
	return audit.RecordAtCommit(ctx, tx, e)
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
		st.mu.Lock()
		recorded := st.recorded
		st.mu.Unlock()
		if !recorded {
			ctx := context.WithoutCancel(r.Context())
			err := m.db.Tx(ctx, func(tx *tenantdb.Tx) error {
				return audit.RecordAtCommit(ctx, tx, st.event(outcomeOf(bw.statusCode())))
			})
			if err != nil {
				if m.cfg.OnError != nil {
					m.cfg.OnError(r, fmt.Errorf("impersonation: recording a request: %w", err))
				}
				unavailable.Serve(w, r, m.cfg.Deny)
				return
			}
		}
		bw.flush(w)
	})
}

// The middleware's refusals.
var (
	unavailable = jwtctx.Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable",
		Detail: "The request could not be recorded in the audit log, so it was not answered."}
	internal = jwtctx.Problem{Status: http.StatusInternalServerError, Title: "Internal Server Error",
		Detail: "The request failed."}
)

// serve runs next, turning a panic into a 500 response (after dropping
// whatever was written) so that the request is still recorded.
func (m *Middleware) serve(next http.Handler, bw *bufferedWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			if m.cfg.OnError != nil {
				m.cfg.OnError(r, fmt.Errorf("impersonation: handler panicked: %v", v))
			}
			bw.reset()
			internal.Serve(bw, r, m.cfg.Deny)
		}
	}()
	next.ServeHTTP(bw, r)
}

// RequestTx runs fn in a tenant transaction on db and, when the request
// in ctx is an impersonated one that the [Middleware] records and has not
// been recorded yet, appends the request's event (outcome success, naming
// the record fn told through [Touch] or [Record]) in the same
// transaction, after fn, with its COMMIT ([audit.RecordAtCommit]): the change and its event commit together or not
// at all, and a failure to write the event fails the call. The event is
// then not written again. Otherwise RequestTx is db.Tx(ctx, fn). It
// returns fn's error, the event's, or db.Tx's.
func RequestTx(ctx context.Context, db *tenantdb.Pool, fn func(tx *tenantdb.Tx) error) error {
	st, _ := ctx.Value(requestKey{}).(*requestState)
	if st == nil {
		return db.Tx(ctx, fn)
	}
	wrote := false
	err := db.Tx(ctx, func(tx *tenantdb.Tx) error {
		wrote = false
		if err := fn(tx); err != nil {
			return err
		}
		st.mu.Lock()
		done := st.recorded
		st.mu.Unlock()
		if done {
			return nil
		}
		if err := audit.RecordAtCommit(ctx, tx, st.event(audit.Success)); err != nil {
			return err
		}
		wrote = true
		return nil
	})
	if err == nil && wrote {
		st.mu.Lock()
		st.recorded = true
		st.mu.Unlock()
	}
	return err
}

func outcomeOf(status int) audit.Outcome {
	switch {
	case status < 400:
		return audit.Success
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return audit.Denied
	}
	return audit.Failure
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

// reset drops whatever the handler wrote.
func (b *bufferedWriter) reset() {
	b.header = make(http.Header)
	b.body.Reset()
	b.status = 0
}

func (b *bufferedWriter) flush(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	w.WriteHeader(b.statusCode())
	_, _ = w.Write(b.body.Bytes())
}
