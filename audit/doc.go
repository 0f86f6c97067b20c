// Package audit is the append-only, hash-chained audit log of the
// tenancy SDK, and its audited impersonation of clinics by platform admins.
//
// pgAudit cannot be this record: it is best-effort and not transactional.
// An audit event here is a row written by [Record] in the caller's own
// transaction: it commits with the action it describes, or the action
// fails.
//
// # Schema
//
// [Schema] returns the migration: audit.events, audit.chain_heads,
// audit.platform_head and audit.impersonation_grants, triggers that keep
// them append-only ([SQLStateAppendOnly]), and row-level security built
// with package rls ([Tables]): the app role may INSERT and SELECT events,
// never UPDATE, DELETE or TRUNCATE them; a clinic's events are read only
// by its staff holding the "owner" role ([OwnerRole]); other staff,
// patients and impersonating admins read none; the platform role reads
// every chain.
//
// # Hash chains
//
// Each clinic's events, and the platform-wide events (tenant_id NULL),
// form a chain: every event carries a per-chain seq (1, 2, 3, ...), the
// previous event's hash and its own hash, SHA-256 of a canonical,
// versioned, length-prefixed encoding ([Event.Encode]). The chain's head
// (last seq and hash) lives in audit.chain_heads, one row per clinic,
// which the app role can lock even though it cannot read events. Record
// locks it with SELECT ... FOR UPDATE, so writers to one clinic serialize
// and writers to different clinics never wait for each other; it costs
// two pipelined round trips.
//
// [Verify] and [VerifyAll] (and `tenancy audit verify`) recompute every
// hash and link and report the first edited, deleted, inserted or
// reordered event as a [*Problem].
//
// # Impersonation
//
// [Impersonations.Start] stores a grant (admin, clinic, reason, at most
// [MaxGrantDuration]) and its [ActionImpersonationStarted] event in the
// clinic's chain in one transaction on the platform pool, and returns an
// impersonation token from jwtctx. [GrantRevoker], the Authority's
// revocation hook, refuses the token at once when the grant ends
// ([Impersonations.End]) or expires, and records each refusal.
// [Middleware] records every request made with the token, read or write,
// as one event in the clinic's chain; [RequestTx] lets a write and its
// event commit together. [OnSystem] records uses of tenantdb's System as
// platform-wide events.
//
// # Security
//
// No tokens, passwords or clinical text are recorded. [Event] has one
// free-text field, Reason, for a stated justification; callers must not
// put clinical text or secrets in it. Requests are recorded by method and
// route pattern, never by path, query or body.
//
// The chain proves that the stored rows were not edited, deleted,
// inserted or reordered one by one. It is not a signature: anyone who can
// write the tables as a superuser can recompute a whole chain and its
// head. Keep the heads that `tenancy audit verify` prints somewhere else
// (a ticket, an object store with retention) to detect that too.
//
// The platform role's policies require the transaction to declare a
// principal kind (system or platform_admin); this keeps accidental
// unscoped reads out, and is no boundary against the role itself. Verify
// needs the platform role or a superuser; through the app role it sees no
// events.
package audit
