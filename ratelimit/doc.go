// Package ratelimit limits each tenant's HTTP requests: a token bucket per
// tenant, keyed by the tenant of the verified principal in the request's
// context, so that one tenant's burst of requests cannot take a service
// from the others (the HTTP half of the fair share that tenantdb's
// Config.Share is for the database).
//
//	lim, err := ratelimit.New(ratelimit.Config{Limit: ratelimit.Limit{Rate: 20, Burst: 40},
//		Sources: []tenancy.Source{jwtctx.Source()}})
//	handler := authn.Handler(lim.Handler(mux)) // after the middleware that verifies the token
//
// A request over its tenant's limit is answered 429 Too Many Requests with
// Retry-After (whole seconds until the tenant's next request would go), as
// an application/problem+json document of code "rate_limited" (package
// problem gives the same answer for an [*Error]).
//
// # Limits
//
// Each tenant's bucket holds [Limit.Burst] requests and refills at
// [Limit.Rate] per second; [Config.LimitFor] gives a tenant its own (a
// larger plan). Memory is bounded whatever the number of tenants: a bucket
// idle long enough to be full again is the same as none and is dropped, and
// at most [Config.MaxTenants] buckets are kept (when a part of them is full
// of active buckets, the one seen longest ago is dropped, and its tenant
// starts again with a full bucket). The default holds 100,000 active
// tenants in about 9 MB.
//
// Requests without a principal, or whose principal has no tenant (sign-in,
// a platform operator's), are not this limiter's to limit and pass
// unchanged: limit those by client address, before authentication. So do
// principals that no authenticator verified (put in the context with plain
// tenancy.NewContext, or from a source not in [Config.Sources]): the
// tenant they name is nobody's word, and charging it would let any caller
// spend another tenant's limit (tenantdb refuses such principals anyway).
//
// # Security
//
// A refusal carries a fixed title, code and detail, and a Retry-After
// computed from the caller's own bucket only: nothing in it depends on
// another tenant, so it tells a client nothing about which other tenants
// exist or how busy they are. The limiter keeps tenant ids and times, no
// request data, and logs nothing.
package ratelimit
