// Package audit is the append-only, hash-chained audit log of the
// tenancy SDK: one chain per tenant and one platform-wide chain.
//
// pgAudit cannot be this record: it is best-effort and not transactional.
// An audit event here is a row written by [Record] in the caller's own
// transaction: it commits with the action it describes, or the action
// fails.
//
// # Schema
//
// [Schema] returns the migration: audit.events, audit.chain_heads,
// audit.platform_head and audit.impersonation_grants (the grants of
// package impersonation, kept beside the chain they are recorded in),
// triggers that keep them append-only ([SQLStateAppendOnly]), and
// row-level security built with package rls ([Tables]): the app role may
// INSERT and SELECT events, never UPDATE, DELETE or TRUNCATE them; a
// tenant's events are read only by its staff holding a reader role
// ([Config.ReaderRoles], by default [DefaultReaderRole]); other staff,
// other kinds of principal and impersonating admins read none; the
// platform role reads every chain.
//
// # Hash chains
//
// Each tenant's events, and the platform-wide events (tenant_id NULL),
// form a chain: every event carries a per-chain seq (1, 2, 3, ...), the
// previous event's hash and its own hash, SHA-256 of a canonical,
// versioned, length-prefixed encoding ([Event.Encode]). The chain's head
// (last seq and hash) lives in audit.chain_heads, one row per tenant,
// which the app role can lock even though it cannot read events. Record
// locks it with SELECT ... FOR UPDATE, so writers to one tenant serialize
// and writers to different tenants never wait for each other; it costs
// two pipelined round trips.
//
// [Verify] and [VerifyAll] (and `tenancy audit verify`) recompute every
// hash and link and report the first edited, deleted, inserted or
// reordered event as a [*Problem]. [OnSystem] records uses of tenantdb's
// System as platform-wide events. Package impersonation records grants
// and impersonated requests with [Append] and [Record]; this package does
// not know who impersonates.
//
// # Security
//
// No tokens, passwords or tenant data are recorded. [Event] has one
// free-text field, Reason, for a stated justification; callers must not
// put the tenant's data or secrets in it. Resources are named by id.
//
// The chain proves that the stored rows were not edited, deleted,
// inserted or reordered one by one. It is not a signature: anyone who can
// write the tables as a superuser can recompute a whole chain and its
// head, move a head back after deleting the tail, or delete a chain whole.
// A signed [Checkpoint] of every chain's head, for every tenant of the
// application's registry ([Config.TenantRegistry]), signed with a key the
// database never sees and kept outside it ([Store], [Checkpointer]),
// catches all three: [VerifyCheckpoint] (`tenancy audit verify
// --checkpoint`). A [Receipt] is one tenant's head, signed, for its owner.
//
// The audit log belongs to a NOLOGIN audit owner ([rls.Config.AuditRole])
// that none of the application's roles can become: the owner role that
// runs the migrations cannot disable the append-only triggers or alter,
// truncate or delete the tables. [Schema] is installed by an
// administrator who can SET ROLE to it. Each new event's tenant, actor
// kind, actor, request id and grant must match the transaction's context
// ([SQLStateContextMismatch]), and a named grant must exist, of the
// event's tenant and admin.
//
// The platform role's policies require the transaction to declare a
// principal kind (system, or an operator kind the application declares);
// this keeps accidental
// unscoped reads out, and is no boundary against the role itself. Verify
// needs the platform role or a superuser; through the app role it sees no
// events.
package audit
