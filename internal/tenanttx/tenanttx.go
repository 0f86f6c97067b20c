// Package tenanttx hands SDK packages the raw transaction behind a
// tenantdb.Tx, for statements that another library writes and that the
// guard cannot parse-scope (River's job insert, for package tenantriver).
// It is internal: no application can import it, so the raw transaction
// never leaves the SDK. Package tenantdb registers the one function that
// opens a Tx; nothing else can.
package tenanttx

import (
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// Tx is what tenantdb reveals of one of its transactions.
type Tx struct {
	// Raw is the transaction itself, unguarded. Send on it only statements
	// that the database layer (row-level security) fences.
	Raw pgx.Tx
	// Principal is the verified principal the transaction was begun with.
	Principal tenancy.Principal
	// Model is the isolation model of the transaction's pool.
	Model *rls.Model
}

// ErrNotTenantTx is returned by Open for a value that is not a live
// tenantdb.Tx.
var ErrNotTenantTx = errors.New("tenancy: not a tenant transaction in progress")

var open func(tx any) (Tx, error)

// Register sets the function that opens a tenantdb.Tx. tenantdb calls it
// once, from an init function; a second call panics.
func Register(f func(tx any) (Tx, error)) {
	if open != nil {
		panic("tenanttx: Register called twice")
	}
	open = f
}

// Open returns what tenantdb reveals of tx, a *tenantdb.Tx whose function
// has not returned. It fails with an error wrapping [ErrNotTenantTx]
// otherwise.
func Open(tx any) (Tx, error) {
	if open == nil {
		return Tx{}, ErrNotTenantTx
	}
	return open(tx)
}
