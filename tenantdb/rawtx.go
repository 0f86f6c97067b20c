package tenantdb

import (
	"fmt"

	"github.com/mydentalpractice/tenancy/internal/tenanttx"
)

// The SDK's own packages (tenantriver) reach the raw transaction of a Tx
// through internal/tenanttx, for statements the guard cannot parse-scope
// and row-level security fences; applications cannot import it.
func init() { tenanttx.Register(openTx) }

func openTx(v any) (tenanttx.Tx, error) {
	tx, ok := v.(*Tx)
	if !ok || tx == nil {
		return tenanttx.Tx{}, fmt.Errorf("%w: %T", tenanttx.ErrNotTenantTx, v)
	}
	if tx.done {
		return tenanttx.Tx{}, fmt.Errorf("%w: %w", tenanttx.ErrNotTenantTx, ErrTxDone)
	}
	return tenanttx.Tx{Raw: tx.tx, Principal: tx.who, Model: tx.pool.model}, nil
}
