package tenancytest

import (
	"context"

	"github.com/mydentalpractice/tenancy"
)

// authenticator is the test authenticator: its principals are whatever a
// test says they are.
var authenticator = tenancy.NewAuthenticator("tenancytest")

// Context returns a copy of ctx that carries p as a principal from the
// test authenticator, for tests that need a principal without a token: a
// store test, a database test. Packages that check where a principal came
// from (tenantdb) accept it only when the test registers [Source], for
// example in tenantdb.Config.Sources. It does not validate p. It is safe
// for concurrent use.
//
// Never register Source outside tests: with it, any code could act as any
// principal.
func Context(ctx context.Context, p tenancy.Principal) context.Context {
	return authenticator.NewContext(ctx, p)
}

// Source returns the source of [Context]'s principals, to list in a test's
// configuration (tenantdb.Config.Sources).
func Source() tenancy.Source { return authenticator.Source() }
