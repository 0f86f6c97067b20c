package tenantdb

import (
	"time"

	"github.com/mydentalpractice/tenancy"
)

// Event is one fact about a tenant's work that a [Pool] reports to
// [Config.Observe], for per-tenant metrics (package tenancyotel's Metrics
// records them). It carries the tenant, counts and times only: no SQL, no
// argument, no principal beyond the tenant.
type Event struct {
	// Kind says what happened, and which of the other fields are set.
	Kind EventKind
	// Tenant is the tenant whose work it was; never the zero ID (work
	// without a tenant, such as pre-auth calls, reports nothing).
	Tenant tenancy.ID
	// Statements is, for EventStatement and EventTx, how many of the
	// application's statements the work passed the checks to send: 1 for
	// a one-statement call, the batch's length, a transaction's
	// statements (those queued for COMMIT included, even when the work
	// then failed and they were not sent; a batch refused in part counts
	// none of it). The SDK's own
	// statements (BEGIN, the tenant context, COMMIT, savepoints) are not
	// counted.
	Statements int
	// Duration is, for EventStatement and EventTx, how long the work held
	// its connection: from taking it from the pool to giving it back (a
	// query's until its rows are closed, a transaction's from BEGIN to
	// its end). For EventShareWait, how long the work waited for its
	// turn.
	Duration time.Duration
	// Replica is, for EventStatement and EventTx, which pool served the
	// work: 0 for the primary (the Pool's own pool), i+1 for
	// [Replicas.Pools][i] ([Config.Replicas]).
	Replica int
	// Err is, for EventRefused, the refusal (the guard's error, a
	// *sqlguard.RefusalError for the default guard, or
	// [ErrUnsupportedArg]); for EventShareWait, nil when the turn came,
	// [ErrBusy], or the context's error. Other kinds leave it nil. The
	// error's text is not for metrics: read its type or rule only.
	Err error
}

// EventKind is the kind of an [Event].
type EventKind uint8

// The kinds of [Event].
const (
	// EventStatement: a one-statement call ([Pool.Exec], [Pool.Query],
	// [Pool.QueryRow]) or a batch ([Pool.SendBatch]) gave its connection
	// back.
	EventStatement EventKind = iota + 1
	// EventTx: a transaction ([Pool.Tx], [Pool.TxWith], [Pool.InTenant],
	// [Pool.CopyFrom]) ended, committed or not, and gave its connection
	// back.
	EventTx
	// EventRefused: the guard refused a statement, which was not sent.
	EventRefused
	// EventShareWait: work beyond the tenant's share ([Share.Conns])
	// waited for its turn; Err says how the wait ended.
	EventShareWait
)

// String returns the kind's name ("statement", "tx", "refused",
// "share_wait"), or "unknown".
func (k EventKind) String() string {
	switch k {
	case EventStatement:
		return "statement"
	case EventTx:
		return "tx"
	case EventRefused:
		return "refused"
	case EventShareWait:
		return "share_wait"
	}
	return "unknown"
}
