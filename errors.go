package tenancy

import "errors"

var (
	// ErrNoTenant is returned by [Require] when the context carries no
	// principal, or a principal without a tenant. Callers treat it as "refuse
	// before touching data", never as "no filter".
	ErrNoTenant = errors.New("tenancy: no tenant in context")

	// ErrInvalidID is returned when a string is not a key of the expected
	// [KeyType] (for [ParseID], a canonical UUID other than the all-zero
	// one), or when a zero [ID] is marshalled or stored.
	ErrInvalidID = errors.New("tenancy: invalid id")

	// ErrInvalidKeyType is returned when a key type is not uuid, bigint or
	// text.
	ErrInvalidKeyType = errors.New("tenancy: invalid key type")

	// ErrInvalidKind is returned when a principal kind is unknown.
	ErrInvalidKind = errors.New("tenancy: invalid principal kind")

	// ErrInvalidPrincipal is returned by [Principal.Validate] (and so by
	// [Require]) when a principal's fields do not fit its kind.
	ErrInvalidPrincipal = errors.New("tenancy: invalid principal")

	// ErrUnverified is returned by [RequireFrom] when the principal in the
	// context came from none of the accepted sources: built by hand with
	// [NewContext], or verified by an [Authenticator] that was not listed.
	ErrUnverified = errors.New("tenancy: principal from no accepted authenticator")
)
