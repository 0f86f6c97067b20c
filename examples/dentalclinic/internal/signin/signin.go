package signin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// Errors of [Service.SignIn] and [Service.AllowEnrol].
var (
	// ErrBadCredentials is the one answer for an unknown email, a wrong
	// password, a disabled account and a suspended clinic, so none can be
	// told apart.
	ErrBadCredentials = errors.New("signin: the email or password is wrong")
	// ErrTooManyAttempts means the address has tried too often; a
	// *RateLimitError says how long to wait.
	ErrTooManyAttempts = errors.New("signin: too many attempts")
)

// RateLimitError is returned when attempts exceed the limit. It wraps
// [ErrTooManyAttempts].
type RateLimitError struct{ Wait time.Duration }

// Error says that there were too many attempts.
func (e *RateLimitError) Error() string { return ErrTooManyAttempts.Error() }

// Unwrap returns [ErrTooManyAttempts].
func (e *RateLimitError) Unwrap() error { return ErrTooManyAttempts }

// Config holds what the service needs. Store, Tokens and Revoker are
// required.
type Config struct {
	Store  *store.Store
	Tokens *jwtctx.Authority
	// Revoker ends tokens before they expire, at sign-out.
	Revoker *store.Revocations
	// SessionTTL is the lifetime of sign-in tokens. Default 8h.
	SessionTTL time.Duration
	// Attempts is how many sign-in (or enrolment) attempts one address may
	// make for one email per Window. Default 10 per minute.
	Attempts int
	// Window is the rate limit's window. Default one minute.
	Window time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log receives what is not the caller's fault (a clinic's status that
	// could not be read). Default slog.Default().
	Log *slog.Logger
}

// Service signs people in and out. It is safe for concurrent use.
type Service struct {
	store      *store.Store
	tokens     *jwtctx.Authority
	revoker    *store.Revocations
	sessionTTL time.Duration
	now        func() time.Time
	log        *slog.Logger
	limiter    *limiter
	clinics    clinicStatuses
}

// Default rate limit: attempts per address and email per window.
const (
	defaultAttempts = 10
	defaultWindow   = time.Minute
	defaultTTL      = 8 * time.Hour
)

// New returns the service. It fails when a required field is missing or
// a limit is negative.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Tokens == nil || cfg.Revoker == nil {
		return nil, errors.New("signin: Store, Tokens and Revoker are required")
	}
	if cfg.Attempts < 0 || cfg.Window < 0 || cfg.SessionTTL < 0 {
		return nil, errors.New("signin: Attempts, Window and SessionTTL must not be negative")
	}
	s := &Service{
		store: cfg.Store, tokens: cfg.Tokens, revoker: cfg.Revoker,
		sessionTTL: cfg.SessionTTL, now: cfg.Now, log: cfg.Log,
	}
	if s.sessionTTL == 0 {
		s.sessionTTL = defaultTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	attempts, window := cfg.Attempts, cfg.Window
	if attempts == 0 {
		attempts = defaultAttempts
	}
	if window == 0 {
		window = defaultWindow
	}
	s.limiter = newLimiter(attempts, window)
	return s, nil
}

// SessionTTL is the lifetime of the tokens the service issues.
func (s *Service) SessionTTL() time.Duration { return s.sessionTTL }

// Request is one sign-in attempt.
type Request struct {
	Email, Password string
	// Clinic, when not zero, picks one of several clinics the email has
	// accounts at.
	Clinic tenancy.ID
	// Portal signs a patient in to the portal instead of staff (or a
	// platform admin).
	Portal bool
	// ClientIP keys the rate limit with the email ([ClientIP]).
	ClientIP string
}

// Choice is one clinic an email and password match, when there are
// several.
type Choice struct {
	ClinicID   tenancy.ID `json:"clinic_id"`
	ClinicName string     `json:"clinic_name"`
}

// Result is a successful sign-in: a session token, or, when the email and
// password match accounts at several clinics and none was chosen, the
// Choices (and no token).
type Result struct {
	Token     string
	ExpiresAt time.Time
	Principal tenancy.Principal
	Choices   []Choice
}

// SignIn checks an attempt and issues a session token. Staff and platform
// admins sign in with Portal false, patients with it true. The email is
// matched case-insensitively, without surrounding spaces. It fails with
// [ErrBadCredentials] (an empty email or password included), a
// *[RateLimitError], or the store's error.
//
// One identical [ErrBadCredentials] answers an unknown email, a wrong
// password, a disabled account and a suspended clinic; an unknown email
// costs the time of a password check. When the email and password match
// accounts at several clinics and req.Clinic names none of them, the
// Result has the Choices and no token.
func (s *Service) SignIn(ctx context.Context, req Request) (Result, error) {
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if email == "" || req.Password == "" {
		return Result{}, ErrBadCredentials
	}
	if err := s.allow(req.ClientIP, email); err != nil {
		return Result{}, err
	}
	var accounts []account
	if req.Portal {
		found, err := s.store.PortalAccounts(ctx, email)
		if err != nil {
			return Result{}, err
		}
		for _, a := range found {
			accounts = append(accounts, account{
				clinic: a.ClinicID, clinicName: a.ClinicName, active: a.ClinicStatus == "active" && !a.Disabled, hash: a.PasswordHash,
				principal: tenancy.Principal{Kind: kinds.Patient, Tenant: a.ClinicID, Subject: a.PatientID},
			})
		}
	} else {
		admin, err := s.store.PlatformAdminByEmail(ctx, email)
		switch {
		case err == nil:
			if admin.Disabled || passwords.Check(admin.PasswordHash, req.Password) != nil {
				return Result{}, ErrBadCredentials
			}
			return s.issue(tenancy.Principal{Kind: kinds.PlatformAdmin, Subject: admin.ID})
		case !errors.Is(err, store.ErrNotFound):
			return Result{}, err
		}
		found, err := s.store.StaffAccounts(ctx, email)
		if err != nil {
			return Result{}, err
		}
		for _, a := range found {
			accounts = append(accounts, account{
				clinic: a.ClinicID, clinicName: a.ClinicName, active: a.ClinicStatus == "active" && !a.Disabled, hash: a.PasswordHash,
				principal: tenancy.Principal{Kind: kinds.Staff, Tenant: a.ClinicID, Subject: a.StaffID, Roles: a.Roles},
			})
		}
	}
	matched := match(accounts, req.Clinic, req.Password)
	switch {
	case len(matched) == 0:
		return Result{}, ErrBadCredentials
	case len(matched) > 1:
		var out Result
		for _, a := range matched {
			out.Choices = append(out.Choices, Choice{ClinicID: a.clinic, ClinicName: a.clinicName})
		}
		return out, nil
	}
	return s.issue(matched[0].principal)
}

// AllowEnrol counts an attempt to enrol in the portal from clientIP
// against the rate limit, and fails with a *[RateLimitError] beyond it.
func (s *Service) AllowEnrol(clientIP string) error { return s.allow(clientIP, "portal-enrol") }

// allow counts an attempt from clientIP for key.
func (s *Service) allow(clientIP, key string) error {
	if ok, wait := s.limiter.allow(clientIP+"\x00"+key, s.now()); !ok {
		return &RateLimitError{Wait: wait}
	}
	return nil
}

// SignOut revokes tok, the token of a session, before it expires. An
// error means the revocation may not have reached the other instances
// yet (it holds on this one).
func (s *Service) SignOut(ctx context.Context, tok jwtctx.Token) error {
	return s.revoker.RevokeToken(ctx, tok.ID, tok.ExpiresAt)
}

// account is what sign-in knows of one account at one clinic, for staff
// and portal accounts alike.
type account struct {
	clinic     tenancy.ID
	clinicName string
	active     bool // the account and its clinic may sign in
	hash       string
	principal  tenancy.Principal
}

// match returns the accounts (at clinic, when not zero) that may sign in
// with password. With no accounts at all it spends the time of a password
// check, so an unknown email is as slow as a wrong password.
func match(accounts []account, clinic tenancy.ID, password string) []account {
	if len(accounts) == 0 {
		_ = passwords.CheckNone(password)
		return nil
	}
	var matched []account
	for _, a := range accounts {
		if !clinic.IsZero() && a.clinic != clinic {
			continue
		}
		if passwords.Check(a.hash, password) == nil && a.active {
			matched = append(matched, a)
		}
	}
	return matched
}

// issue signs a session token for p. The token is not verified here: a
// subject revoked within this same second (jwtctx revokes by whole
// seconds) would turn a good sign-in into an error. Its expiry is the one
// Issue wrote, in whole seconds.
func (s *Service) issue(p tenancy.Principal) (Result, error) {
	now := s.now()
	token, err := s.tokens.Issue(p, s.sessionTTL)
	if err != nil {
		return Result{}, err
	}
	return Result{Token: token, ExpiresAt: now.Add(s.sessionTTL).UTC().Truncate(time.Second), Principal: p}, nil
}

// ClientIP is the address r came from, without its port: the key of the
// rate limit.
func ClientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return host
}
