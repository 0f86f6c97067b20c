// Package store is the reference app's data access. Every tenant-owned
// read and write goes through tenantdb, scoped by the principal in the
// context; statements name the tenant explicitly (clinic_id = $1) so that
// the SQL guard can check them, and row-level security checks them again.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Errors the API maps to HTTP statuses.
var (
	// ErrNotFound: no such object in the caller's clinic. Another clinic's
	// object is exactly as missing as one that never existed.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change collides with existing data (a double
	// booking, a duplicate email, an invalid status transition).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input breaks a rule of the domain.
	ErrInvalid = errors.New("invalid")
	// ErrTooSoon: the action is limited in how often it may be done; its
	// Error's Detail is the time to wait (a time.Duration).
	ErrTooSoon = errors.New("too soon")
)

// Error carries a message safe to show to the caller with one of the
// sentinels above.
type Error struct {
	Kind   error  // ErrNotFound, ErrConflict, ErrInvalid or ErrTooSoon
	Msg    string // plain words, no internals, no patient data
	Field  string // the input field at fault, if any
	Code   string // stable machine-readable code, such as "chair_busy"
	Detail any    // extra data for the response body, such as choices
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func invalid(field, msg string) error {
	return &Error{Kind: ErrInvalid, Field: field, Msg: msg, Code: "invalid"}
}
func conflict(code, msg string) error { return &Error{Kind: ErrConflict, Code: code, Msg: msg} }

// Store is the app's data access. It is safe for concurrent use.
type Store struct {
	db *tenantdb.Pool
	// platform runs registry work as the platform role.
	platform *pgxpool.Pool
	// jobs enqueues background jobs (reminders, exports); nil: none.
	jobs Jobs
	// exportDir holds the clinics' exports, one directory per clinic.
	exportDir string
	// revoker ends the sessions of changed accounts; nil: accounts
	// cannot be changed.
	revoker *Revocations
	now     func() time.Time
}

// Options are what a Store may be given beyond its pools.
type Options struct {
	// Jobs, if set, enqueues a reminder job with each booking and move,
	// and the job of each export; without it none is enqueued (and no
	// export can be asked for).
	Jobs Jobs
	// ExportDir holds the clinics' exports: ExportDir/<clinic>/<export>.
	ExportDir string
	// Revoker ends the sessions of an account that a change makes stale
	// (UpdateStaff, UpdatePatient), whichever adapter made the change.
	// Without it those changes are refused: a disabled account must never
	// keep a session.
	Revoker *Revocations
	// Now is the clock of those revocations; default time.Now.
	Now func() time.Time
}

// New returns a Store. db scopes tenant work, and its pre-auth handle
// (db.PreAuth) calls the auth.* sign-in functions, which run before any
// clinic is known; platform is a pool of the platform role for the clinic
// registry. The app keeps no raw pool of its own role.
func New(db *tenantdb.Pool, platform *pgxpool.Pool, opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, platform: platform, jobs: opts.Jobs, exportDir: opts.ExportDir, revoker: opts.Revoker, now: now}
}

// errNoRevoker refuses a change to an account whose sessions the store
// could not end.
var errNoRevoker = errors.New("store: no Revoker (Options.Revoker): changes to accounts are refused, their sessions could not be ended")

// endSessions ends every session of subject that began before now: its
// tokens carry what the change made stale (roles, an active account). The
// change itself is committed: sending it again stores the revocation.
func (s *Store) endSessions(ctx context.Context, subject tenancy.ID) error {
	if err := s.revoker.RevokeSubject(ctx, subject, s.now()); err != nil {
		return fmt.Errorf("ending the account's sessions (the change is saved): %w", err)
	}
	return nil
}

// tenant returns the caller's tenant, or ErrNoTenant.
func tenant(ctx context.Context) (tenancy.Principal, error) {
	return tenancy.Require(ctx)
}

// notFound maps "no rows" to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Kind: ErrNotFound, Msg: "not found", Code: "not_found"}
	}
	return err
}

// constraint returns the name of the violated constraint, if err is one.
func constraint(err error) (code, name string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.ConstraintName
	}
	return "", ""
}

// wrap adds the operation to unexpected errors.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) || errors.Is(err, tenancy.ErrNoTenant) {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

// idTexts writes ids as text, for an array parameter cast in SQL
// ($1::uuid[]): pgx's exec and simple-protocol modes (which tenantdb's SET
// LOCAL context mode needs) cannot encode a slice of tenancy.ID, whose
// array type they cannot infer.
func idTexts(ids []tenancy.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
