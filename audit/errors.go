package audit

import "errors"

var (
	// ErrInvalidEvent is returned by [Record] (before any SQL is sent) for
	// an event whose fields break the documented limits: an empty or
	// malformed action, an unknown outcome, control characters, or text
	// longer than its limit.
	ErrInvalidEvent = errors.New("audit: invalid event")

	// ErrClinicMismatch is returned by [Record] when the event names a
	// clinic other than the tenant of the principal in the context.
	ErrClinicMismatch = errors.New("audit: event clinic differs from the context's tenant")

	// ErrBroken is wrapped by every [*Problem] that [Verify] returns: the
	// chain was edited, had events deleted, inserted or reordered, or its
	// head does not match its last event.
	ErrBroken = errors.New("audit: hash chain broken")

	// ErrNotAdmin is returned by [Impersonations.Start] when the context
	// does not carry a platform admin who is not already impersonating, and
	// by [Impersonations.End] when the caller may not end the grant.
	ErrNotAdmin = errors.New("audit: a platform admin is required")

	// ErrNoReason is returned by [Impersonations.Start] for an empty reason.
	ErrNoReason = errors.New("audit: impersonation needs a reason")

	// ErrDuration is returned by [Impersonations.Start] for a duration that
	// is not positive or exceeds [MaxGrantDuration].
	ErrDuration = errors.New("audit: impersonation duration out of range")

	// ErrGrantNotFound is returned by [Impersonations.End] for an unknown
	// grant.
	ErrGrantNotFound = errors.New("audit: impersonation grant not found")

	// ErrGrantEnded is returned by [Impersonations.End] for a grant that
	// was already ended.
	ErrGrantEnded = errors.New("audit: impersonation grant already ended")

	// ErrInvalidConfig is returned by [NewImpersonations] and
	// [NewMiddleware] for a malformed configuration.
	ErrInvalidConfig = errors.New("audit: invalid config")
)
