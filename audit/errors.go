package audit

import "errors"

var (
	// ErrInvalidEvent is returned by [Record] (before any SQL is sent) for
	// an event whose fields break the documented limits: an empty or
	// malformed action, an unknown outcome, control characters, or text
	// longer than its limit.
	ErrInvalidEvent = errors.New("audit: invalid event")

	// ErrTenantMismatch is returned by [Record] when the event names a
	// tenant other than the tenant of the principal in the context.
	ErrTenantMismatch = errors.New("audit: event tenant differs from the context's tenant")

	// ErrBroken is wrapped by every [*Problem] that [Verify] returns: the
	// chain was edited, had events deleted, inserted or reordered, or its
	// head does not match its last event.
	ErrBroken = errors.New("audit: hash chain broken")
)

var (
	// ErrInvalidRegistry is returned for a tenant registry
	// ([Config.TenantRegistry]) that is empty or not "schema.table.column".
	ErrInvalidRegistry = errors.New("audit: invalid tenant registry")

	// ErrMalformed is wrapped by the errors of [ParseCheckpoint],
	// [ParseReceipt] and the key parsers for input that is not exactly in
	// the documented form.
	ErrMalformed = errors.New("audit: malformed")

	// ErrUnsigned is returned when marshalling a [Checkpoint] or
	// [Receipt] that has no signature.
	ErrUnsigned = errors.New("audit: not signed")

	// ErrBadSignature is returned by [Checkpoint.Verify] and
	// [Receipt.Verify], and wrapped by the [*CheckpointProblem] of kind
	// [BadSignature]: the signature is not by the given key, or the signed
	// content was changed.
	ErrBadSignature = errors.New("audit: bad signature")

	// ErrCheckpointMismatch is wrapped by every [*CheckpointProblem] that
	// [VerifyCheckpoint] returns about the database: a chain that no longer
	// extends its checkpointed head, or a tenant without a chain.
	ErrCheckpointMismatch = errors.New("audit: database does not match the checkpoint")

	// ErrNoCheckpoint is returned by [Store.Latest] when there is no
	// checkpoint yet.
	ErrNoCheckpoint = errors.New("audit: no checkpoint")

	// ErrCheckpointExists is returned by [DirStore.Put] for a checkpoint
	// whose file already exists: checkpoints are never overwritten.
	ErrCheckpointExists = errors.New("audit: checkpoint already stored")

	// ErrNoChain is returned by [ReadReceipt] for a tenant with no chain
	// head whose last event the caller can read.
	ErrNoChain = errors.New("audit: no readable chain")
)
