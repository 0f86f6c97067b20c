package tenancytest

import "errors"

var (
	// ErrInvalidConfig is reported (through t.Fatalf) by [ProbeSQL] for a
	// malformed [SQLConfig]: a missing connection or model, a zero or
	// repeated tenant, a model without tenant relations, options for a
	// name that is not "schema.table" or not a tenant relation of the
	// model; and (through t.Errorf, for that table only) for a tenant
	// relation or a column that the catalog does not have. [ProbeHTTP]
	// reports it through t.Fatalf for a malformed [HTTPConfig].
	ErrInvalidConfig = errors.New("tenancytest: invalid config")

	// ErrNotPrivileged is reported by [ProbeSQL] when the privileged
	// connection is neither a superuser nor a BYPASSRLS role: row-level
	// security would hide tenant B's rows from it too, and every proof that
	// they exist would be vacuous.
	ErrNotPrivileged = errors.New("tenancytest: the privileged connection is bound by row-level security")
)
