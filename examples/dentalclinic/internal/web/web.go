package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/load"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/signin"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/impersonation"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Config holds what the web UI needs. Store, DB, SignIn, Tokens, Revoker,
// Impersonations and CSRFKey are required.
type Config struct {
	Store *store.Store
	// DB is the tenant-scoped pool, for the audit of impersonated requests.
	DB *tenantdb.Pool
	// SignIn is the app's sign-in service, which the JSON API shares: the
	// web UI signs people in and out through it (same rules, same rate
	// limit) and refuses suspended clinics through its check.
	SignIn         *signin.Service
	Tokens         *jwtctx.Authority
	Revoker        *store.Revocations
	Impersonations *impersonation.Grants
	// CSRFKey keys the CSRF tokens bound to each session: at least 32
	// random bytes, the same on every instance.
	CSRFKey []byte
	// SecureCookies marks the cookies Secure and gives them the __Host-
	// prefix. Set it whenever the site is reached over HTTPS (directly or
	// through a TLS-terminating proxy); leave it off only for plain-HTTP
	// development on loopback, where browsers would drop Secure cookies.
	SecureCookies bool
	Log           *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Load, if set, gives the platform console each clinic's load (the
	// SDK's per-tenant metrics).
	Load *load.Load
	// Offboard, if set, lets the platform console offboard a clinic
	// (exported, then erased, in the background).
	Offboard interface {
		Offboard(ctx context.Context, clinic tenancy.ID, reason string) (store.Offboarding, error)
	}
}

// Server serves the web UI. It is safe for concurrent use.
type Server struct {
	store    *store.Store
	signin   *signin.Service
	tokens   *jwtctx.Authority
	revoker  *store.Revocations
	imp      *impersonation.Grants
	load     *load.Load
	offboard interface {
		Offboard(ctx context.Context, clinic tenancy.ID, reason string) (store.Offboarding, error)
	}
	auth    *jwtctx.Middleware
	impMW   *impersonation.Middleware
	log     *slog.Logger
	now     func() time.Time
	cookies cookieNames
	secure  bool
	public  *http.CrossOriginProtection
	mux     *http.ServeMux
	pages   map[string]pageTemplate
	routes  []Route
}

// Route describes one registered page or form target.
type Route struct {
	Pattern string // such as "GET /patients/{id}"
	Allow   Allow
}

// Allow says who may reach a page: the app's one permission table,
// package access, which the API reads too.
type Allow = access.Allow

type cookieNames struct{ session, csrf, admin string }

// csrfField is the form field that carries the CSRF token.
const csrfField = "csrf_token"

// New builds the web UI's routes. It fails when a required field is
// missing or the CSRF key is too short.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.DB == nil || cfg.SignIn == nil || cfg.Tokens == nil || cfg.Revoker == nil || cfg.Impersonations == nil {
		return nil, errors.New("web: Store, DB, SignIn, Tokens, Revoker and Impersonations are required")
	}
	s := &Server{
		store: cfg.Store, signin: cfg.SignIn, tokens: cfg.Tokens, revoker: cfg.Revoker, imp: cfg.Impersonations,
		log: cfg.Log, now: cfg.Now, secure: cfg.SecureCookies, load: cfg.Load, offboard: cfg.Offboard,
		public: http.NewCrossOriginProtection(), mux: http.NewServeMux(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.cookies = cookieNames{session: "session", csrf: "csrf", admin: "admin-session"}
	if s.secure {
		s.cookies = cookieNames{session: "__Host-session", csrf: "__Host-csrf", admin: "__Host-admin-session"}
	}
	var err error
	s.auth, err = jwtctx.NewMiddleware(s.tokens, jwtctx.MiddlewareConfig{
		Accept: jwtctx.AnyToken, Realm: "web",
		Cookie: s.cookies.session, CSRFKey: cfg.CSRFKey, CSRFCookie: s.cookies.csrf, CSRFFormField: csrfField,
		OnError: func(r *http.Request, requestID string, err error) {
			s.log.InfoContext(r.Context(), "web session refused", "reason", err, "request_id", requestID)
		},
		Deny: http.HandlerFunc(s.refused),
	})
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s.impMW, err = impersonation.NewMiddleware(cfg.DB, impersonation.MiddlewareConfig{
		OnError: func(r *http.Request, err error) {
			s.log.ErrorContext(r.Context(), "audit of an impersonated page failed", "err", err)
		},
		Deny: http.HandlerFunc(s.refused),
	})
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.routesFor()
	return s, nil
}

// ServeHTTP implements http.Handler: every response carries the security
// headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	s.mux.ServeHTTP(w, r)
}

// Routes returns every registered route.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// ContentSecurityPolicy is the policy of every response: nothing but the
// app's own scripts, styles and images, no inline script or style, no
// plugins, forms only to this origin, never framed.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

// requestTimeout bounds every request, as in the API.
const requestTimeout = 15 * time.Second

// handle registers a route with who may reach it. Every route passes
// through here, so none can be added without saying who may use it.
//
// A signed-in route runs behind jwtctx's middleware in cookie mode (the
// token only from the HttpOnly session cookie or a Bearer header, never
// from the URL or a form; unsafe methods need the CSRF token bound to the
// session), the sign-in service's suspended-clinic check, and the audit of
// impersonated requests. A refused session sends the browser to sign in.
// A public route's unsafe methods must come from this origin.
func (s *Server) handle(pattern string, allow Allow, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Pattern: pattern, Allow: allow})
	var handler http.Handler
	if allow.Public {
		handler = s.sameOrigin(h)
	} else {
		handler = s.gate(allow, h)
	}
	s.mux.Handle(pattern, withDeadline(handler))
}

func withDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// sameOrigin refuses cross-origin unsafe requests to public forms (sign-in,
// enrolment), which have no session to bind a CSRF token to: the browser's
// Sec-Fetch-Site and Origin headers must not say another site.
func (s *Server) sameOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.public.Check(r); err != nil {
			s.renderError(w, r, http.StatusForbidden, "This form came from another site, so it was not accepted.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// gate authenticates and authorises a signed-in route. The middlewares
// in front of the page (jwtctx's, the suspended-clinic check, the
// impersonation audit) render their refusals through s.refused, their
// deny hook: sign in again, or an error page.
func (s *Server) gate(allow Allow, h http.HandlerFunc) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !permitted(allow, r) {
			s.renderError(w, r, http.StatusForbidden, "Your role does not allow this page.")
			return
		}
		h(w, r)
	})
	return s.auth.Handler(s.signin.ActiveClinic(s.impMW.Handler(inner), http.HandlerFunc(s.refused)))
}

// refused is the deny hook of the middlewares in front of every signed-in
// page: a refusal is a page, never a problem document. An ended or
// refused session (401) sends the browser to sign in; a session that
// could not be checked, or an impersonated request that could not be
// recorded (503), shows nothing and keeps the session; a panic under
// impersonation (500) is an error page; a CSRF refusal (403) asks for a
// reload.
func (s *Server) refused(w http.ResponseWriter, r *http.Request) {
	p, _ := jwtctx.ProblemFromContext(r.Context())
	switch p.Status {
	case http.StatusUnauthorized:
		s.sessionEnded(w, r)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", cmp.Or(p.Header.Get("Retry-After"), "2"))
		s.renderError(w, r, http.StatusServiceUnavailable, "The clinic's records cannot be reached just now. Try again in a moment.")
	case http.StatusInternalServerError:
		s.renderError(w, r, http.StatusInternalServerError, "")
	default:
		s.renderError(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Go back, reload the page and try again.")
	}
}

// permitted applies Allow to the verified principal.
func permitted(allow Allow, r *http.Request) bool {
	if _, ok := tenancy.FromContext(r.Context()); !ok {
		return false
	}
	return allow.Permits(r.Context())
}

// can reports whether the request's principal passes allow, for showing or
// hiding links and forms. The route itself still checks.
func can(r *http.Request, allow Allow) bool { return permitted(allow, r) }

// Who may do what: the API's permission sets, page by page. Staff pages
// also admit an impersonating platform admin, who acts as "support".
var (
	anyStaff       = access.AnyStaff
	booking        = access.Booking
	apptUpdating   = access.ApptUpdating
	billingReaders = access.BillingReaders
	billingWriters = access.BillingWriters
	prescribers    = access.Prescribers
	rxReaders      = access.RxReaders
	clinicAdmin    = access.ClinicAdmin
	ownerOnly      = access.Owner
	portalPatient  = access.PortalPatient
	signedIn       = access.SignedIn
	console        = access.PlatformConsole
	publicPage     = access.Public
)

func (s *Server) routesFor() {
	s.handle("GET /static/", publicPage, staticHandler().ServeHTTP)
	s.handle("GET /{$}", publicPage, s.home)
	s.authRoutes()
	s.scheduleRoutes()
	s.patientRoutes()
	s.billingRoutes()
	s.moneyRoutes()
	s.settingsRoutes()
	s.portalRoutes()
	s.requestRoutes()
	s.switchRoutes()
	s.adminRoutes()
	s.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusNotFound, "")
	}))
}
