package audit

import "errors"

var (
	// ErrInvalidEvent is returned by [Record] (before any SQL is sent) for
	// an event whose fields break the documented limits: an empty or
	// malformed action, an unknown outcome, control characters, or text
	// longer than its limit.
	ErrInvalidEvent = errors.New("audit: invalid event")

	// ErrTenantMismatch is returned by [Record] when the event names a
	// tenant other than the tenant of the principal in the context.
	ErrTenantMismatch = errors.New("audit: event tenant differs from the context's tenant")

	// ErrBroken is wrapped by every [*Problem] that [Verify] returns: the
	// chain was edited, had events deleted, inserted or reordered, or its
	// head does not match its last event.
	ErrBroken = errors.New("audit: hash chain broken")
)
