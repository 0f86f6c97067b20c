package tenantriver

import "github.com/mydentalpractice/tenancy"

// authenticator puts the principals of verified jobs in the work context.
// It is unexported: only this package's middleware mints them.
var authenticator = tenancy.NewAuthenticator("tenantriver")

// Source returns the source of the principals that the middleware puts in
// a job's work context, once the job's seal verified. List it in
// tenantdb.Config.Sources of the pool the workers use; a pool that does
// not list it refuses them (tenantdb.ErrUnverifiedPrincipal). It is safe
// for concurrent use.
func Source() tenancy.Source { return authenticator.Source() }
