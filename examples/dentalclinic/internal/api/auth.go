package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
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

type clinicChoice struct {
	ClinicID   tenancy.ID `json:"clinic_id"`
	ClinicName string     `json:"clinic_name"`
}

type loginResponse struct {
	Token     string            `json:"token"`
	ExpiresAt time.Time         `json:"expires_at"`
	Principal tenancy.Principal `json:"principal"`
}

// wrongCredentials is the one answer for an unknown email, a wrong
// password and a disabled account, so none can be told apart.
func wrongCredentials(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="dentalclinic"`)
	writeProblem(w, Problem{Status: http.StatusUnauthorized, Code: "bad_credentials", Detail: "The email or password is wrong."})
}

// rateLimited answers 429 when sign-in attempts from this address for this
// email exceed the limit.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, email string) bool {
	ok, wait := s.limiter.allow(clientIP(r)+"\x00"+email, s.now())
	if ok {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	writeProblem(w, Problem{Status: http.StatusTooManyRequests, Code: "too_many_attempts", Detail: "Too many sign-in attempts; try again later."})
	return true
}

// login signs staff in (and platform admins, who have no clinic). When the
// email and password match accounts at several clinics and no clinic_id
// was given, it answers 409 with the choices.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if !decode(w, r, &req) {
		return
	}
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if email == "" || req.Password == "" {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Detail: "email and password are required."})
		return
	}
	if s.rateLimited(w, r, email) {
		return
	}
	ctx := r.Context()

	if admin, err := s.store.PlatformAdminByEmail(ctx, email); err == nil {
		if admin.Disabled || passwords.Check(admin.PasswordHash, req.Password) != nil {
			wrongCredentials(w)
			return
		}
		s.issue(w, r, tenancy.Principal{Kind: kinds.PlatformAdmin, Subject: admin.ID})
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, err)
		return
	}

	accounts, err := s.store.StaffAccounts(ctx, email)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	candidates := make([]signInAccount, len(accounts))
	for i, a := range accounts {
		candidates[i] = signInAccount{
			clinic: a.ClinicID, clinicName: a.ClinicName, active: a.ClinicStatus == "active" && !a.Disabled, hash: a.PasswordHash,
			principal: tenancy.Principal{Kind: kinds.Staff, Tenant: a.ClinicID, Subject: a.StaffID, Roles: a.Roles},
		}
	}
	s.signIn(w, r, candidates, req.ClinicID, req.Password, "accounts")
}

// signInAccount is what sign-in knows of one account at one clinic, for
// staff and portal accounts alike.
type signInAccount struct {
	clinic     tenancy.ID
	clinicName string
	active     bool // the account and its clinic may sign in
	hash       string
	principal  tenancy.Principal
}

// signIn checks password against the accounts of one email (at clinic,
// when given) and answers: a session token for exactly one match, 409
// with the choices for several, and one identical 401 for an unknown
// email, a wrong password, a disabled account or a suspended clinic. what
// names the accounts in the 409's words ("accounts", "portal accounts").
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, accounts []signInAccount, clinic *tenancy.ID, password, what string) {
	matched := matchAccounts(accounts, clinic, password)
	switch {
	case len(matched) == 0:
		wrongCredentials(w)
	case len(matched) > 1:
		choices := make([]clinicChoice, len(matched))
		for i, a := range matched {
			choices[i] = clinicChoice{ClinicID: a.clinic, ClinicName: a.clinicName}
		}
		writeProblem(w, Problem{Status: http.StatusConflict, Code: "choose_clinic",
			Detail: "This email has " + what + " at several clinics; choose one and sign in again with its clinic_id.", Choices: choices})
	default:
		s.issue(w, r, matched[0].principal)
	}
}

// issue answers a successful sign-in with a session token.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, p tenancy.Principal) {
	now := s.now()
	token, err := s.tokens.Issue(p, s.sessionTTL)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The token is not verified here: a subject revoked within this same
	// second (jwtctx revokes by whole seconds) would turn a good sign-in
	// into an error. Its expiry is the one Issue wrote, in whole seconds.
	writeJSON(w, http.StatusOK, loginResponse{Token: token, ExpiresAt: now.Add(s.sessionTTL).UTC().Truncate(time.Second), Principal: p})
}

// logout revokes the token that made the request.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	tok, ok := jwtctx.TokenFromContext(r.Context())
	if !ok {
		forbidden(w)
		return
	}
	if err := s.revoker.RevokeToken(r.Context(), tok.ID, tok.ExpiresAt); err != nil {
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
