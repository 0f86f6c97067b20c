package jwtctx

import (
	"context"

	"github.com/mydentalpractice/tenancy"
)

// authenticator stamps the principals of verified tokens. It is
// unexported: only the middleware mints with it.
var authenticator = tenancy.NewAuthenticator("jwtctx")

// Source returns the source of the principals that [Middleware.Handler]
// puts in request contexts, every Middleware alike: list it in
// tenantdb.Config.Sources so that tenantdb accepts them. It names the
// middleware but cannot mint principals. It is safe for concurrent use.
func Source() tenancy.Source { return authenticator.Source() }

type tokenKey struct{}

// newTokenContext returns a copy of ctx carrying tok.
func newTokenContext(ctx context.Context, tok Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, tok)
}

// TokenFromContext returns the verified [Token] the middleware put in ctx,
// and whether there is one. Handlers use it for what the principal does not
// say, such as the jti and expiry a logout handler hands to the [Revoker].
// The token's Principal is the one [tenancy.FromContext] returns (with
// RequestID set). It is safe for concurrent use.
func TokenFromContext(ctx context.Context) (Token, bool) {
	tok, ok := ctx.Value(tokenKey{}).(Token)
	return tok, ok
}
