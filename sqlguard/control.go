package sqlguard

import (
	"fmt"
	"sync"
	"sync/atomic"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/mydentalpractice/tenancy/internal/pgparse"
)

// ControlsTransaction reports whether sql holds a statement that ends or
// starts a transaction, or hands it to two-phase commit: BEGIN, START
// TRANSACTION, COMMIT, END, ROLLBACK, ABORT, PREPARE TRANSACTION, COMMIT
// PREPARED and ROLLBACK PREPARED, in any of the statements of a
// multi-statement text. Savepoints (SAVEPOINT, RELEASE, ROLLBACK TO) are
// not control: they leave the transaction open. Code given a transaction
// to work in (tenantdb's System and Tx) must not end it, so its wrappers
// refuse such statements before they are sent.
//
// Text that does not parse gives an error and no answer: a caller that
// cannot tell refuses. Results are cached by text (up to a few thousand
// texts), so a repeated statement costs one map lookup. It is safe for
// concurrent use.
func ControlsTransaction(sql string) (bool, error) {
	if v, ok := controlCache.m.Load(sql); ok {
		return v.(bool), nil
	}
	tree, err := pgparse.Parse(sql)
	if err != nil {
		return false, fmt.Errorf("sqlguard: %w", err)
	}
	control := false
	for _, raw := range tree.Stmts {
		if ts, ok := raw.Stmt.GetNode().(*pg_query.Node_TransactionStmt); ok {
			switch ts.TransactionStmt.Kind {
			case pg_query.TransactionStmtKind_TRANS_STMT_SAVEPOINT,
				pg_query.TransactionStmtKind_TRANS_STMT_RELEASE,
				pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
			default:
				control = true
			}
		}
	}
	if controlCache.n.Add(1) <= controlCacheSize {
		controlCache.m.Store(sql, control)
	}
	return control, nil
}

// controlCacheSize bounds the texts ControlsTransaction remembers; past
// it, new texts are parsed each time.
const controlCacheSize = 4096

var controlCache struct {
	m sync.Map // string -> bool
	n atomic.Int64
}
