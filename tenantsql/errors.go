package tenantsql

import "errors"

var (
	// ErrTenantChanged is returned for a statement inside a transaction
	// whose context carries a different principal tenant than the one the
	// transaction began with.
	ErrTenantChanged = errors.New("tenantsql: statement's tenant differs from its transaction's")

	// ErrNamedArgs is returned for named arguments (sql.Named): the guard
	// checks positional $n parameters only.
	ErrNamedArgs = errors.New("tenantsql: named arguments are not supported")

	// ErrNestedTx is returned when a transaction is begun on a connection
	// already in one.
	ErrNestedTx = errors.New("tenantsql: transaction already in progress")
)
