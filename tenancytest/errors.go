package tenancytest

import "errors"

var (
	// ErrInvalidConfig is reported (through t.Fatalf) by [ProbeSQL] for a
	// malformed [SQLConfig]: a missing connection, a zero or repeated
	// tenant, no tables, a table name that is not "schema.table", or a
	// table or column that the catalog does not have.
	ErrInvalidConfig = errors.New("tenancytest: invalid config")

	// ErrNotPrivileged is reported by [ProbeSQL] when the privileged
	// connection is neither a superuser nor a BYPASSRLS role: row-level
	// security would hide tenant B's rows from it too, and every proof that
	// they exist would be vacuous.
	ErrNotPrivileged = errors.New("tenancytest: the privileged connection is bound by row-level security")
)
