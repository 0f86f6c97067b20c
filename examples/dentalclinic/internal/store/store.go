// Package store is the reference app's data access. Every tenant-owned
// read and write goes through tenantdb, scoped by the principal in the
// context; statements name the tenant explicitly (clinic_id = $1) so that
// the SQL guard can check them, and row-level security checks them again.
package store

import (
	"context"
	"errors"
	"fmt"

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
)

// Error carries a message safe to show to the caller with one of the
// sentinels above.
type Error struct {
	Kind   error  // ErrNotFound, ErrConflict or ErrInvalid
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
	// reminders enqueues appointment reminders; nil: none.
	reminders Reminders
}

// New returns a Store. db scopes tenant work, and its pre-auth handle
// (db.PreAuth) calls the auth.* sign-in functions, which run before any
// clinic is known; platform is a pool of the platform role for the clinic
// registry. The app keeps no raw pool of its own role. reminders, if not
// nil, enqueues a reminder job with each booking and move.
func New(db *tenantdb.Pool, platform *pgxpool.Pool, reminders Reminders) *Store {
	return &Store{db: db, platform: platform, reminders: reminders}
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
