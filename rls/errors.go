package rls

import "errors"

var (
	// ErrInvalidConfig is returned by [Generate] and [Check] when a [Config]
	// field is malformed: an empty or over-long name, a name with a NUL byte,
	// or an allow-list entry that is not schema-qualified ("schema.function"
	// in AllowDefiner, "schema.table.policy" in AllowCrossTenant).
	ErrInvalidConfig = errors.New("rls: invalid config")

	// ErrInvalidTable is returned by [Generate] when a [Table] is malformed:
	// a name that is not schema-qualified, an unknown kind, options that do
	// not fit the kind, or the same table listed twice.
	ErrInvalidTable = errors.New("rls: invalid table")

	// ErrInvalidSpec is returned by [ParseSpec] when the JSON is malformed,
	// names an unknown field, or has trailing data.
	ErrInvalidSpec = errors.New("rls: invalid spec")
)
