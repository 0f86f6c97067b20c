// Package impersonation lets a platform admin act inside one tenant, for
// a stated reason and a bounded time, with every step recorded in the
// tenant's audit chain (package audit), where the tenant's readers of the
// log see it.
//
// # Grants
//
// [Grants.Start] stores a grant (admin, tenant, reason, at most
// [MaxGrantDuration]) and its [ActionStarted] event in one transaction on
// the platform pool, and returns an impersonation token from jwtctx (the
// operator's own kind, the tenant, an act claim naming the admin, the grant
// id). [GrantRevoker], the Authority's revocation hook, refuses the token
// at once on every instance when the grant ends ([Grants.End]) or
// expires, and records each refusal ([ActionRefused]).
//
// # Requests
//
// [Middleware], after jwtctx's, records every request made with an
// impersonation token as exactly one event: the action is the method and
// route ("GET /invoices/{id}"), the resource is the record the request
// touched, as the application tells it with [Touch] or [Record], and the
// outcome comes from the status. The middleware owns the rule "one event
// per impersonated request": an application records its own domain events
// through [Record], which, inside an impersonated request, names the
// record on the request's event instead of writing a second one. Writes
// go through [RequestTx], so that the change and its event commit in one
// transaction; reads are recorded before their response leaves.
//
// A refusal of the middleware (503 when the event cannot be written, 500
// after a panic) is application/problem+json, or whatever
// [MiddlewareConfig.Deny] renders, as with jwtctx's
// [jwtctx.MiddlewareConfig.Deny].
//
// # Security
//
// An impersonating admin never reads the tenant's audit log: the reader
// roles of [audit.Config] are refused in [Config.Roles], and the log's
// read policy requires a staff principal. Requests are recorded by
// method and route pattern, never by path, query or body; resources by
// id, never content. The response of an impersonated request is held
// until its event commits, so nothing read under impersonation leaves
// without its record. A grant's reason is free text shown to the
// tenant's readers: it must not hold the tenant's data or secrets.
package impersonation
