package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// This file exports the API's sign-in path and clinic-status check for
// the web UI, which serves the same people from the same binary: one
// implementation of the sign-in rules, one rate limiter, one cache of
// suspended clinics.

// Errors of [Server.SignIn].
var (
	// ErrBadCredentials is the one answer for an unknown email, a wrong
	// password, a disabled account and a suspended clinic.
	ErrBadCredentials = errors.New("api: the email or password is wrong")
	// ErrTooManyAttempts means the address has tried this email too often;
	// a *RateLimitError says how long to wait.
	ErrTooManyAttempts = errors.New("api: too many sign-in attempts")
)

// RateLimitError is returned by [Server.SignIn] when attempts exceed the
// limit. It wraps [ErrTooManyAttempts].
type RateLimitError struct{ Wait time.Duration }

// Error says that there were too many attempts.
func (e *RateLimitError) Error() string { return ErrTooManyAttempts.Error() }

// Unwrap returns [ErrTooManyAttempts].
func (e *RateLimitError) Unwrap() error { return ErrTooManyAttempts }

// SignInRequest is one sign-in attempt.
type SignInRequest struct {
	Email, Password string
	// Clinic, when not zero, picks one of several clinics the email has
	// accounts at.
	Clinic tenancy.ID
	// Portal signs a patient in to the portal instead of staff (or a
	// platform admin).
	Portal bool
	// ClientIP keys the rate limit with the email.
	ClientIP string
}

// ClinicChoice is one clinic an email and password match, when there are
// several.
type ClinicChoice struct {
	ClinicID   tenancy.ID `json:"clinic_id"`
	ClinicName string     `json:"clinic_name"`
}

// SignInResult is a successful sign-in: a session token, or, when the
// email and password match accounts at several clinics and none was
// chosen, the Choices (and no token).
type SignInResult struct {
	Token     string
	ExpiresAt time.Time
	Principal tenancy.Principal
	Choices   []ClinicChoice
}

// SignIn applies the API's sign-in rules (those of POST /api/v1/auth/login,
// or /api/v1/portal/login with req.Portal) with the same rate limiter, and
// issues a session token of the API's lifetime. It fails with
// [ErrBadCredentials], a *[RateLimitError], or the store's error. It is
// safe for concurrent use.
func (s *Server) SignIn(ctx context.Context, req SignInRequest) (SignInResult, error) {
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if email == "" || req.Password == "" {
		return SignInResult{}, ErrBadCredentials
	}
	if ok, wait := s.limiter.allow(req.ClientIP+"\x00"+email, s.now()); !ok {
		return SignInResult{}, &RateLimitError{Wait: wait}
	}
	var candidates []signInAccount
	if req.Portal {
		accounts, err := s.store.PortalAccounts(ctx, email)
		if err != nil {
			return SignInResult{}, err
		}
		for _, a := range accounts {
			candidates = append(candidates, signInAccount{
				clinic: a.ClinicID, clinicName: a.ClinicName, active: a.ClinicStatus == "active" && !a.Disabled, hash: a.PasswordHash,
				principal: tenancy.Principal{Kind: kinds.Patient, Tenant: a.ClinicID, Subject: a.PatientID},
			})
		}
	} else {
		if admin, err := s.store.PlatformAdminByEmail(ctx, email); err == nil {
			if admin.Disabled || passwords.Check(admin.PasswordHash, req.Password) != nil {
				return SignInResult{}, ErrBadCredentials
			}
			return s.issueToken(tenancy.Principal{Kind: kinds.PlatformAdmin, Subject: admin.ID})
		} else if !errors.Is(err, store.ErrNotFound) {
			return SignInResult{}, err
		}
		accounts, err := s.store.StaffAccounts(ctx, email)
		if err != nil {
			return SignInResult{}, err
		}
		for _, a := range accounts {
			candidates = append(candidates, signInAccount{
				clinic: a.ClinicID, clinicName: a.ClinicName, active: a.ClinicStatus == "active" && !a.Disabled, hash: a.PasswordHash,
				principal: tenancy.Principal{Kind: kinds.Staff, Tenant: a.ClinicID, Subject: a.StaffID, Roles: a.Roles},
			})
		}
	}
	var clinic *tenancy.ID
	if !req.Clinic.IsZero() {
		clinic = &req.Clinic
	}
	matched := matchAccounts(candidates, clinic, req.Password)
	switch {
	case len(matched) == 0:
		return SignInResult{}, ErrBadCredentials
	case len(matched) > 1:
		out := SignInResult{}
		for _, a := range matched {
			out.Choices = append(out.Choices, ClinicChoice{ClinicID: a.clinic, ClinicName: a.clinicName})
		}
		return out, nil
	}
	return s.issueToken(matched[0].principal)
}

// matchAccounts returns the accounts (at clinic, when given) that may sign
// in with password. With no accounts at all it spends the time of a
// password check, so an unknown email is as slow as a wrong password.
func matchAccounts(accounts []signInAccount, clinic *tenancy.ID, password string) []signInAccount {
	if len(accounts) == 0 {
		_ = passwords.CheckNone(password)
		return nil
	}
	var matched []signInAccount
	for _, a := range accounts {
		if clinic != nil && a.clinic != *clinic {
			continue
		}
		if passwords.Check(a.hash, password) == nil && a.active {
			matched = append(matched, a)
		}
	}
	return matched
}

func (s *Server) issueToken(p tenancy.Principal) (SignInResult, error) {
	now := s.now()
	token, err := s.tokens.Issue(p, s.sessionTTL)
	if err != nil {
		return SignInResult{}, err
	}
	return SignInResult{Token: token, ExpiresAt: now.Add(s.sessionTTL).UTC().Truncate(time.Second), Principal: p}, nil
}

// ActiveClinic wraps next (behind the token middleware) to refuse, with
// 401, every principal whose clinic is suspended, exactly as the API's
// routes do. Principals without a clinic pass. deny renders the refusal,
// as jwtctx's MiddlewareConfig.Deny does, with the jwtctx.Problem in its
// request's context: 401 for a suspended clinic, 503 (Retry-After 2) when
// the clinic's status cannot be read.
func (s *Server) ActiveClinic(next, deny http.Handler) http.Handler {
	return s.activeClinicWith(next, deny)
}

// ClinicSuspended tells the clinic-status cache that clinic was just
// suspended on this instance, so its sessions end at once.
func (s *Server) ClinicSuspended(clinic tenancy.ID) { s.clinics.forget(clinic) }

// PortalEnrolAllowed counts an attempt to enrol in the portal from
// clientIP against the limit POST /api/v1/portal/enrol applies, and fails
// with a *[RateLimitError] beyond it.
func (s *Server) PortalEnrolAllowed(clientIP string) error {
	if ok, wait := s.limiter.allow(clientIP+"\x00"+"portal-enrol", s.now()); !ok {
		return &RateLimitError{Wait: wait}
	}
	return nil
}
