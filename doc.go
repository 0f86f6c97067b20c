// Package tenancy holds the core types of the tenant-isolation SDK: the
// tenant identifier [ID], the authenticated [Principal], and the context
// functions [NewContext], [FromContext] and [Require].
//
// Every other package of the module points at this one and never sideways:
// jwtctx builds a Principal from a verified token and puts it in the request
// context; tenantdb reads it with Require and scopes each database
// transaction to its tenant; audit records its actor. This package imports
// only the standard library (a test enforces it), so any layer can use it.
//
// # Tenants and principals
//
// A tenant is one customer of the application (an organization, a shop, a
// practice), named by an [ID]: a UUID, a bigint or a text key, whichever
// [KeyType] the deployment declares. A [Principal] is a party acting for a
// tenant or for the platform. Its [Kind] is the application's own (a
// member, a guest, an API client, a support operator), declared with what
// it may do ([KindSpec], [Access]) in [Principals]; [KindSystem], the
// application itself, is the only kind the SDK defines. Principals of
// tenant and subject kinds always belong to exactly one tenant. An
// operator has no tenant, except while impersonating one under an audited
// grant, when [Principal.Impersonation] names the grant and the operator.
// A kind nobody declared is refused wherever principals enter.
//
// # Security
//
// The tenant in the context must come only from a verified credential. Never
// build a Principal from a URL, a query parameter, a header or a request
// body. Functions that touch tenant data must call [Require] and stop on its
// error: the absence of a tenant is an error, never a missing filter. The
// zero [ID] is not a tenant: it does not parse, it does not marshal, and
// Require rejects it.
package tenancy
