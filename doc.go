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
// A tenant is a clinic, named by an [ID] (a UUID). A [Principal] is a staff
// member, a patient, a platform admin or the system itself; staff and
// patients always belong to exactly one tenant. A platform admin has no
// tenant, except while impersonating a clinic under an audited grant, when
// [Principal.Impersonation] names the grant and the admin.
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
