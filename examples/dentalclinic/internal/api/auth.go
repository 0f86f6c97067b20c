package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/signin"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

func (s *Server) authRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodGet, "/healthz", publicRoute, s.healthz)
	s.handle(auth, http.MethodGet, "/.well-known/jwks.json", publicRoute, s.jwks)
	s.handle(auth, http.MethodPost, v1+"/auth/login", publicRoute, s.login)
	s.handle(auth, http.MethodPost, v1+"/auth/logout", signedIn, noBody(s.logout))
	s.handle(auth, http.MethodGet, v1+"/me", signedIn, s.me)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	b, err := s.tokens.JWKS()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

type loginRequest struct {
	Email    string      `json:"email"`
	Password string      `json:"password"`
	ClinicID *tenancy.ID `json:"clinic_id"`
}

type loginResponse struct {
	Token     string            `json:"token"`
	ExpiresAt time.Time         `json:"expires_at"`
	Principal tenancy.Principal `json:"principal"`
}

// login signs staff in (and platform admins, who have no clinic).
func (s *Server) login(w http.ResponseWriter, r *http.Request) { s.signIn(w, r, false) }

// signIn answers a sign-in through the app's sign-in service (package
// signin): a session token for exactly one match; 409 with the choices
// when the email and password match accounts at several clinics and no
// clinic_id was given; one identical 401 for an unknown email, a wrong
// password, a disabled account or a suspended clinic; 429 past the rate
// limit. portal signs a patient in to the portal.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, portal bool) {
	var req loginRequest
	if !decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Email) == "" || req.Password == "" {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Detail: "email and password are required."})
		return
	}
	in := signin.Request{Email: req.Email, Password: req.Password, Portal: portal, ClientIP: signin.ClientIP(r)}
	if req.ClinicID != nil {
		in.Clinic = *req.ClinicID
	}
	res, err := s.signin.SignIn(r.Context(), in)
	if err != nil {
		s.signInFailed(w, r, err)
		return
	}
	if len(res.Choices) > 0 {
		what := "accounts"
		if portal {
			what = "portal accounts"
		}
		writeProblem(w, Problem{Status: http.StatusConflict, Code: "choose_clinic",
			Detail: "This email has " + what + " at several clinics; choose one and sign in again with its clinic_id.", Choices: res.Choices})
		return
	}
	writeJSON(w, http.StatusOK, loginResponse{Token: res.Token, ExpiresAt: res.ExpiresAt, Principal: res.Principal})
}

// signInFailed answers a refused sign-in or enrolment: 401 for wrong
// credentials, 429 with Retry-After past the rate limit.
func (s *Server) signInFailed(w http.ResponseWriter, r *http.Request, err error) {
	var rl *signin.RateLimitError
	switch {
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(int(rl.Wait.Seconds())+1))
		writeProblem(w, Problem{Status: http.StatusTooManyRequests, Code: "too_many_attempts", Detail: "Too many sign-in attempts; try again later."})
	case errors.Is(err, signin.ErrBadCredentials):
		w.Header().Set("WWW-Authenticate", `Bearer realm="dentalclinic"`)
		writeProblem(w, Problem{Status: http.StatusUnauthorized, Code: "bad_credentials", Detail: "The email or password is wrong."})
	default:
		s.fail(w, r, err)
	}
}

// logout revokes the token that made the request.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	tok, ok := jwtctx.TokenFromContext(r.Context())
	if !ok {
		forbidden(w)
		return
	}
	if err := s.signin.SignOut(r.Context(), tok); err != nil {
		// Refused on this instance already; not yet stored for the others.
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type meResponse struct {
	Principal  tenancy.Principal `json:"principal"`
	TokenType  string            `json:"token_type"`
	ExpiresAt  time.Time         `json:"expires_at"`
	ClinicName string            `json:"clinic_name,omitempty"`
}

// me says who the token says the caller is, and which clinic.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	tok, _ := jwtctx.TokenFromContext(r.Context())
	resp := meResponse{Principal: tok.Principal, ExpiresAt: tok.ExpiresAt, TokenType: tokenTypeName(tok.Type)}
	if tok.Principal.HasTenant() {
		c, err := s.store.CurrentClinic(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		resp.ClinicName = c.Name
	}
	writeJSON(w, http.StatusOK, resp)
}

func tokenTypeName(t jwtctx.TokenType) string {
	switch t {
	case jwtctx.ImpersonationToken:
		return "impersonation"
	case jwtctx.AccessToken:
		return "identity_provider"
	}
	return "session"
}
