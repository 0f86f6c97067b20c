// Package api is the reference app's JSON API under /api/v1. The tenant of
// every scoped route comes only from the verified token: no scoped route
// takes a clinic in its path, query, headers or body.
package api

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/signin"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/impersonation"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Config holds what the API needs.
type Config struct {
	Store *store.Store
	// SignIn is the app's sign-in service, which the web UI shares:
	// sign-in, sign-out, the rate limit and the suspended-clinic check.
	// Required.
	SignIn *signin.Service
	// DB is the tenant-scoped pool the store uses, for the audit of
	// impersonated requests.
	DB             *tenantdb.Pool
	Tokens         *jwtctx.Authority
	Impersonations *impersonation.Grants
	Log            *slog.Logger
	// RequestTimeout bounds every request, waiting for a database
	// connection included; tenantdb turns the time left into each
	// transaction's statement_timeout. Default 15s.
	RequestTimeout time.Duration
	// ReceiptKey signs the owners' receipts of their audit chain head
	// (GET /api/v1/audit/receipt): the audit signing key, kept outside
	// the database. Required.
	ReceiptKey ed25519.PrivateKey
	// Offboard, if set, offboards a clinic for the platform console: the
	// clinic suspended, then exported and erased in the background. Nil:
	// the console cannot offboard (501).
	Offboard Offboarder
}

// Offboarder offboards a clinic (the app's offboarder).
type Offboarder interface {
	Offboard(ctx context.Context, clinic tenancy.ID, reason string) (store.Offboarding, error)
}

// Server serves the API. It is safe for concurrent use.
type Server struct {
	offboard   Offboarder
	store      *store.Store
	db         *tenantdb.Pool
	imp        *impersonation.Grants
	auditMW    *impersonation.Middleware
	tokens     *jwtctx.Authority
	log        *slog.Logger
	timeout    time.Duration
	signin     *signin.Service
	router     *mux.Router
	routes     []Route
	receiptKey ed25519.PrivateKey
}

// Route describes one registered route, for the OpenAPI document and the
// leak harness's inventory.
type Route struct {
	Method, Path string
	Allow        Allow
}

// Allow says who may call a route: the app's one permission table,
// package access, which the web UI reads too.
type Allow = access.Allow

// New builds the API's routes.
func New(cfg Config) (*Server, error) {
	s := &Server{
		store:      cfg.Store,
		db:         cfg.DB,
		imp:        cfg.Impersonations,
		tokens:     cfg.Tokens,
		log:        cfg.Log,
		signin:     cfg.SignIn,
		timeout:    cfg.RequestTimeout,
		router:     mux.NewRouter(),
		receiptKey: cfg.ReceiptKey,
		offboard:   cfg.Offboard,
	}
	if s.signin == nil || s.store == nil || s.tokens == nil {
		return nil, errors.New("api: Store, SignIn and Tokens are required")
	}
	if len(s.receiptKey) != ed25519.PrivateKeySize {
		return nil, errors.New("api: ReceiptKey must be the Ed25519 audit signing key")
	}
	if s.timeout <= 0 {
		s.timeout = defaultRequestTimeout
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	// An external identity provider's access tokens are accepted when
	// the authority has one (Config.Tokens); without one they are refused
	// as tokens of an issuer not configured.
	auth, err := jwtctx.NewMiddleware(s.tokens, jwtctx.MiddlewareConfig{
		Accept: jwtctx.AnyToken | jwtctx.AccessToken,
		OnError: func(r *http.Request, requestID string, err error) {
			s.log.InfoContext(r.Context(), "token refused", "reason", err, "request_id", requestID)
		},
	})
	if err != nil {
		return nil, err
	}
	// Every request made with an impersonation token is recorded in the
	// clinic's audit chain, by method and route pattern.
	s.auditMW, err = impersonation.NewMiddleware(s.db, impersonation.MiddlewareConfig{
		Route: func(r *http.Request) string {
			if route := mux.CurrentRoute(r); route != nil {
				if tpl, err := route.GetPathTemplate(); err == nil {
					return r.Method + " " + tpl
				}
			}
			return r.Method + " (no route)"
		},
		OnError: func(r *http.Request, err error) {
			s.log.ErrorContext(r.Context(), "audit of an impersonated request failed", "err", err, "request_id", requestID(r))
		},
	})
	if err != nil {
		return nil, err
	}
	s.router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { notFound(w) })
	s.router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, Problem{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed"})
	})
	s.routesFor(auth)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Routes returns every registered route.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// Router returns the gorilla/mux router, for mux.Walk.
func (s *Server) Router() *mux.Router { return s.router }

// handle registers a route with its permission. Every route passes through
// here, so none can be added without saying who may call it.
func (s *Server) handle(auth *jwtctx.Middleware, method, path string, allow Allow, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Method: method, Path: path, Allow: allow})
	var handler http.Handler = h
	if allow.Public {
		handler = s.logged(method, path, handler)
	} else {
		handler = auth.Handler(s.logged(method, path, s.signin.ActiveClinic(s.externalStaff(s.auditMW.Handler(permit(allow, h))), http.HandlerFunc(s.refused))))
	}
	handler = withDeadline(s.timeout, handler)
	s.router.Handle(path, handler).Methods(method)
}

// defaultRequestTimeout bounds every request unless Config says otherwise.
// tenantdb turns the deadline into each transaction's statement_timeout,
// so a slow query stops at the server and frees its connection, and the
// wait for a pooled connection ends with it too: a request answers (503
// when the database could not serve it in time) and never hangs.
const defaultRequestTimeout = 15 * time.Second

func withDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// permit enforces Allow after the token is verified: 403 for a principal
// of the wrong kind or without a required role.
func permit(allow Allow, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allow.Permits(r.Context()) {
			forbidden(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refused renders the refusals of the middlewares in front of a route
// (their deny hook): the SDK's jwtctx.Problem, headers included, in the
// app's problem format.
func (s *Server) refused(w http.ResponseWriter, r *http.Request) {
	p, _ := jwtctx.ProblemFromContext(r.Context())
	answer(w, p)
}

func forbidden(w http.ResponseWriter) {
	writeProblem(w, Problem{Status: http.StatusForbidden, Code: "forbidden", Detail: "Your role does not allow this."})
}

// Who may do what. Staff routes also admit an impersonating platform admin
// (kind platform_admin with a tenant), who acts with the "support" role.
var (
	anyStaff    = access.AnyStaff
	clinical    = access.Clinical
	signedIn    = access.SignedIn
	publicRoute = access.Public
)

// v1 is the API's path prefix.
const v1 = "/api/v1"

// routesFor registers every area's routes. Each area keeps its routes in
// its own file, in a function named after it.
func (s *Server) routesFor(auth *jwtctx.Middleware) {
	s.authRoutes(auth)
	s.patientRoutes(auth)
	s.appointmentRoutes(auth)
	s.billingRoutes(auth)
	s.prescriptionRoutes(auth)
	s.settingsRoutes(auth)
	s.portalRoutes(auth)
	s.requestRoutes(auth)
	s.adminRoutes(auth)
	s.auditRoutes(auth)
	s.opsRoutes(auth)
}

// pathID parses the {id} path variable; a malformed id is as missing as an
// unknown one.
func pathID(w http.ResponseWriter, r *http.Request) (tenancy.ID, bool) {
	id, err := tenancy.ParseID(mux.Vars(r)["id"])
	if err != nil {
		notFound(w)
		return tenancy.ID{}, false
	}
	return id, true
}
