package ratelimit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/ratelimit"
)

// Each tenant has its own bucket: tenant 7's third request at once is
// refused with 429 and Retry-After, while tenant 8 is not held up. In an
// application the principal comes from jwtctx's middleware, wrapped
// around the limiter.
func ExampleLimiter_Handler() {
	auth := tenancy.NewAuthenticator("example-auth") // the app's authenticator, such as jwtctx's
	lim, err := ratelimit.New(ratelimit.Config{Limit: ratelimit.Limit{Rate: 0.5, Burst: 2}, Sources: []tenancy.Source{auth.Source()}})
	if err != nil {
		panic(err)
	}
	h := lim.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	as := func(org int64) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/projects", nil)
		p := tenancy.Principal{Kind: "member", Tenant: tenancy.IntID(org), Subject: tenancy.IntID(100 + org)}
		return r.WithContext(auth.NewContext(r.Context(), p)) // as the app's token middleware does

	}
	for _, org := range []int64{7, 7, 7, 8} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, as(org))
		fmt.Println("tenant", org, rec.Code, rec.Body.String())
		if ra := rec.Header().Get("Retry-After"); ra != "" {
			fmt.Println("Retry-After:", ra)
		}
	}
	// Output:
	// tenant 7 200 ok
	// tenant 7 200 ok
	// tenant 7 429 {"type":"about:blank","title":"Too Many Requests","status":429,"code":"rate_limited","detail":"Too many requests for this tenant. Try again after the time in Retry-After."}
	// Retry-After: 2
	// tenant 8 200 ok
}
