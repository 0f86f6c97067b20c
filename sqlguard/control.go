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
	c, err := classifyControl(sql)
	return c.control, err
}

// RollsBackToSavepoint reports whether sql holds a ROLLBACK TO SAVEPOINT,
// in any of the statements of a multi-statement text: a statement that
// undoes part of a transaction, which code that queued work for the
// transaction's COMMIT (tenantdb's Tx.QueueAtCommit) cannot follow. Errors
// and caching are ControlsTransaction's. It is safe for concurrent use.
func RollsBackToSavepoint(sql string) (bool, error) {
	c, err := classifyControl(sql)
	return c.rollbackTo, err
}

// controlClass is what ControlsTransaction and RollsBackToSavepoint
// answer for one text.
type controlClass struct {
	control, rollbackTo bool
}

func classifyControl(sql string) (controlClass, error) {
	if v, ok := controlCache.m.Load(sql); ok {
		return v.(controlClass), nil
	}
	tree, err := pgparse.Parse(sql)
	if err != nil {
		return controlClass{}, fmt.Errorf("sqlguard: %w", err)
	}
	var c controlClass
	for _, raw := range tree.Stmts {
		if ts, ok := raw.Stmt.GetNode().(*pg_query.Node_TransactionStmt); ok {
			switch ts.TransactionStmt.Kind {
			case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
				c.rollbackTo = true
			case pg_query.TransactionStmtKind_TRANS_STMT_SAVEPOINT,
				pg_query.TransactionStmtKind_TRANS_STMT_RELEASE:
			default:
				c.control = true
			}
		}
	}
	if controlCache.n.Add(1) <= controlCacheSize {
		controlCache.m.Store(sql, c)
	}
	return c, nil
}

// controlCacheSize bounds the texts ControlsTransaction remembers; past
// it, new texts are parsed each time.
const controlCacheSize = 4096

var controlCache struct {
	m sync.Map // string -> controlClass
	n atomic.Int64
}
