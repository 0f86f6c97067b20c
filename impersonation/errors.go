package impersonation

import "errors"

var (
	// ErrNotAdmin is returned by [Grants.Start] when the context does not
	// carry a platform admin who is not already impersonating, and by
	// [Grants.End] when the caller may not end the grant.
	ErrNotAdmin = errors.New("impersonation: a platform admin is required")

	// ErrNoReason is returned by [Grants.Start] for an empty reason.
	ErrNoReason = errors.New("impersonation: a reason is required")

	// ErrDuration is returned by [Grants.Start] for a duration that is not
	// positive or exceeds [MaxGrantDuration].
	ErrDuration = errors.New("impersonation: duration out of range")

	// ErrGrantNotFound is returned by [Grants.End] for an unknown grant.
	ErrGrantNotFound = errors.New("impersonation: grant not found")

	// ErrGrantEnded is returned by [Grants.End] for a grant that was
	// already ended.
	ErrGrantEnded = errors.New("impersonation: grant already ended")

	// ErrInvalidConfig is returned by [New], [NewGrantRevoker] and
	// [NewMiddleware] for a malformed configuration.
	ErrInvalidConfig = errors.New("impersonation: invalid config")
)
