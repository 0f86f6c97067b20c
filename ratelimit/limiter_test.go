package ratelimit_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/ratelimit"
)

var (
	orgA = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	orgB = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
	orgC = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000c")
)

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testAuth is the tests' authenticator: the source of verified principals.
var testAuth = tenancy.NewAuthenticator("ratelimit-test")

// asTenant stands for the authentication middleware: it puts a principal
// of the tenant named by the X-Test-Tenant header in the context (none
// without the header).
func asTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := r.Header.Get("X-Test-Tenant"); t != "" {
			ctx := testAuth.NewContext(r.Context(), tenancy.Principal{Kind: "member", Tenant: tenancy.MustParseID(t), Subject: tenancy.NewID()})
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// server serves "ok" behind the limiter of cfg, on a real listener.
func server(t *testing.T, cfg ratelimit.Config) (*httptest.Server, *ratelimit.Limiter, *clock) {
	t.Helper()
	lim, err := ratelimit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	ratelimit.SetClock(lim, c.Now)
	srv := httptest.NewServer(asTenant(lim.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))))
	t.Cleanup(srv.Close)
	return srv, lim, c
}

type answer struct {
	status      int
	retryAfter  string
	contentType string
	body        string
}

func get(t *testing.T, srv *httptest.Server, tenant tenancy.ID) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/things", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !tenant.IsZero() {
		req.Header.Set("X-Test-Tenant", tenant.String())
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), string(body)}
}

// TestLimitPerTenant: a tenant's burst goes through, the next request is
// a 429 problem with Retry-After, another tenant is not held up, the
// refusal is the same whichever tenant it is for, and the bucket refills.
func TestLimitPerTenant(t *testing.T) {
	srv, _, c := server(t, ratelimit.Config{Limit: ratelimit.Limit{Rate: 1, Burst: 3}})
	for i := range 3 {
		if got := get(t, srv, orgA); got.status != http.StatusOK {
			t.Fatalf("A's request %d of its burst of 3: %d %s", i+1, got.status, got.body)
		}
	}
	refusedA := get(t, srv, orgA)
	if refusedA.status != http.StatusTooManyRequests || refusedA.retryAfter != "1" || refusedA.contentType != "application/problem+json" {
		t.Fatalf("A's fourth request: %+v, want 429 application/problem+json with Retry-After 1", refusedA)
	}
	var doc struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if err := json.Unmarshal([]byte(refusedA.body), &doc); err != nil || doc.Status != 429 || doc.Code != ratelimit.Code {
		t.Errorf("A's refusal: %s (%v), want status 429 and code %s", refusedA.body, err, ratelimit.Code)
	}
	for i := range 3 {
		if got := get(t, srv, orgB); got.status != http.StatusOK {
			t.Fatalf("B's request %d while A is limited: %d", i+1, got.status)
		}
	}
	if refusedB := get(t, srv, orgB); refusedB != refusedA {
		t.Errorf("B's refusal %+v differs from A's %+v: a refusal must not depend on the tenant", refusedB, refusedA)
	}
	c.Add(time.Second) // one token back
	if got := get(t, srv, orgA); got.status != http.StatusOK {
		t.Errorf("A after a second: %d, want its refilled token", got.status)
	}
	if got := get(t, srv, orgA); got.status != http.StatusTooManyRequests {
		t.Errorf("A's second request after a second: %d, want 429", got.status)
	}
}

// TestRetryAfter: the header says when the tenant's next request would go,
// in whole seconds rounded up.
func TestRetryAfter(t *testing.T) {
	srv, _, c := server(t, ratelimit.Config{Limit: ratelimit.Limit{Rate: 0.1, Burst: 1}})
	if got := get(t, srv, orgA); got.status != http.StatusOK {
		t.Fatal(got)
	}
	if got := get(t, srv, orgA); got.retryAfter != "10" {
		t.Errorf("Retry-After %q, want 10 (one request per 10 s)", got.retryAfter)
	}
	c.Add(2500 * time.Millisecond)
	if got := get(t, srv, orgA); got.retryAfter != "8" {
		t.Errorf("Retry-After %q after 2.5 s, want 8 (7.5 rounded up)", got.retryAfter)
	}
}

// TestLimitFor: a tenant's own limit; an invalid one means the default.
func TestLimitFor(t *testing.T) {
	srv, _, _ := server(t, ratelimit.Config{Limit: ratelimit.Limit{Rate: 1, Burst: 2},
		LimitFor: func(tenant tenancy.ID) ratelimit.Limit {
			switch tenant {
			case orgB:
				return ratelimit.Limit{Rate: 1, Burst: 5}
			case orgC:
				return ratelimit.Limit{} // invalid: the default
			}
			return ratelimit.Limit{Rate: -1, Burst: 100} // invalid too
		}})
	for _, c := range []struct {
		tenant tenancy.ID
		burst  int
	}{{orgA, 2}, {orgB, 5}, {orgC, 2}} {
		n := 0
		for get(t, srv, c.tenant).status == http.StatusOK && n < 10 {
			n++
		}
		if n != c.burst {
			t.Errorf("tenant %s: %d requests before a 429, want %d", c.tenant, n, c.burst)
		}
	}
}

// TestNoTenantPasses: requests without a principal with a tenant are not
// limited.
func TestNoTenantPasses(t *testing.T) {
	srv, _, _ := server(t, ratelimit.Config{Limit: ratelimit.Limit{Rate: 1, Burst: 1}})
	for range 5 {
		if got := get(t, srv, tenancy.ID{}); got.status != http.StatusOK {
			t.Fatalf("a request without a tenant: %d", got.status)
		}
	}
}

// TestDeny: the deny handler answers the refusal, which it reads from the
// context.
func TestDeny(t *testing.T) {
	var seen jwtctx.Problem
	srv, _, _ := server(t, ratelimit.Config{Limit: ratelimit.Limit{Rate: 1, Burst: 1},
		Deny: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen, _ = jwtctx.ProblemFromContext(r.Context())
			w.WriteHeader(seen.Status)
			io.WriteString(w, "slow down")
		})})
	get(t, srv, orgA)
	got := get(t, srv, orgA)
	if got.status != 429 || got.body != "slow down" || seen.Code != ratelimit.Code || seen.Header.Get("Retry-After") != "1" {
		t.Errorf("answer %+v, deny saw %+v; want the deny handler's 429 and the refusal with Retry-After", got, seen)
	}
}

// TestConcurrentBurst: of 200 requests of one tenant at once, exactly its
// burst goes through.
func TestConcurrentBurst(t *testing.T) {
	lim, err := ratelimit.New(ratelimit.Config{Limit: ratelimit.Limit{Rate: 1e-9, Burst: 50}})
	if err != nil {
		t.Fatal(err)
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if lim.Allow(orgA) == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 50 {
		t.Errorf("%d of 200 concurrent requests allowed, want the burst of 50", ok.Load())
	}
}

// TestBoundedMemory: 100,000 tenants keep at most MaxTenants buckets, and
// buckets idle long enough to be full again are dropped as new tenants
// come; an evicted tenant starts again with a full bucket.
func TestBoundedMemory(t *testing.T) {
	for _, maxTenants := range []int{0, 5000} { // the default holds all 100,000
		lim, err := ratelimit.New(ratelimit.Config{Limit: ratelimit.Limit{Rate: 1, Burst: 5}, MaxTenants: maxTenants})
		if err != nil {
			t.Fatal(err)
		}
		c := &clock{now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
		ratelimit.SetClock(lim, c.Now)
		bound := maxTenants
		if bound == 0 {
			bound = ratelimit.DefaultMaxTenants
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range 100000 {
			if err := lim.Allow(tenancy.IntID(int64(i + 1))); err != nil {
				t.Fatalf("tenant %d's first request: %v", i+1, err)
			}
			if i%1000 == 999 {
				c.Add(time.Millisecond) // 100 ms in all: nobody is full again
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held := ratelimit.Tenants(lim)
		if maxTenants == 0 && held != 100000 {
			t.Errorf("the default MaxTenants: %d buckets for 100,000 active tenants, want all", held)
		}
		if held > bound {
			t.Errorf("MaxTenants %d: %d buckets for 100,000 tenants, want at most %d", maxTenants, held, bound)
		}
		t.Logf("MaxTenants %d: %d buckets, %d KB of heap", maxTenants, held, (int64(after.HeapAlloc)-int64(before.HeapAlloc))/1024)
		c.Add(10 * time.Second) // every bucket is full again
		for i := range 2000 {
			if err := lim.Allow(tenancy.IntID(int64(200000 + i))); err != nil {
				t.Fatal(err)
			}
		}
		if held := ratelimit.Tenants(lim); held > 2000 {
			t.Errorf("MaxTenants %d: %d buckets after the others went idle and 2,000 new tenants came, want 2,000", maxTenants, held)
		}
	}
}

// TestAllowError: the refusal matches ErrLimited and carries its wait.
func TestAllowError(t *testing.T) {
	lim, err := ratelimit.New(ratelimit.Config{Limit: ratelimit.Limit{Rate: 2, Burst: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_ = lim.Allow(orgA)
	err = lim.Allow(orgA)
	var limited *ratelimit.Error
	if !errors.Is(err, ratelimit.ErrLimited) || !errors.As(err, &limited) || limited.RetryAfter <= 0 || limited.RetryAfter > 500*time.Millisecond {
		t.Errorf("second request: %v (%+v), want ErrLimited with a wait of at most 0.5 s", err, limited)
	}
	if limited.RetryAfterSeconds() != 1 {
		t.Errorf("RetryAfterSeconds %d, want 1", limited.RetryAfterSeconds())
	}
}

// TestNewRefusesBadConfig: a missing or invalid limit is an error.
func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []ratelimit.Config{
		{},
		{Limit: ratelimit.Limit{Rate: 1}},
		{Limit: ratelimit.Limit{Burst: 1}},
		{Limit: ratelimit.Limit{Rate: -1, Burst: 1}},
		{Limit: ratelimit.Limit{Rate: 1, Burst: 1}, MaxTenants: -1},
	} {
		if _, err := ratelimit.New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}

// BenchmarkAllow is one allowed request's take from its tenant's bucket,
// among 100,000 tenants.
func BenchmarkAllow(b *testing.B) {
	lim, err := ratelimit.New(ratelimit.Config{Limit: ratelimit.Limit{Rate: 1e9, Burst: 1 << 30}})
	if err != nil {
		b.Fatal(err)
	}
	tenants := make([]tenancy.ID, 100000)
	for i := range tenants {
		tenants[i] = tenancy.IntID(int64(i + 1))
		_ = lim.Allow(tenants[i]) // each tenant has its bucket
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := lim.Allow(tenants[(i*7919)%len(tenants)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestUnverifiedPrincipalsDrawNothing: a principal that no authenticator
// put in the context (or one of a source the limiter does not count)
// passes without drawing on the tenant it names, so a caller cannot spend
// another tenant's limit; the verified principal of that tenant still
// gets its whole burst.
func TestUnverifiedPrincipalsDrawNothing(t *testing.T) {
	other := tenancy.NewAuthenticator("other")
	lim, err := ratelimit.New(ratelimit.Config{Limit: ratelimit.Limit{Rate: 0.001, Burst: 2}, Sources: []tenancy.Source{testAuth.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	h := lim.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	victim := tenancy.NewID()
	p := tenancy.Principal{Kind: "member", Tenant: victim, Subject: tenancy.NewID()}
	call := func(ctx context.Context) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
		return rec.Code
	}
	for range 10 {
		if code := call(tenancy.NewContext(context.Background(), p)); code != http.StatusNoContent {
			t.Fatalf("an unverified principal: %d", code)
		}
		if code := call(other.NewContext(context.Background(), p)); code != http.StatusNoContent {
			t.Fatalf("a principal of a source not counted: %d", code)
		}
	}
	for i, want := range []int{http.StatusNoContent, http.StatusNoContent, http.StatusTooManyRequests} {
		if code := call(testAuth.NewContext(context.Background(), p)); code != want {
			t.Errorf("the tenant's own request %d: %d, want %d", i+1, code, want)
		}
	}
}

// TestRetryAfterOfATinyRate: a rate so small that its wait would overflow
// a time.Duration says a long wait, never a short one.
func TestRetryAfterOfATinyRate(t *testing.T) {
	lim, err := ratelimit.New(ratelimit.Config{Limit: ratelimit.Limit{Rate: 1e-12, Burst: 1}})
	if err != nil {
		t.Fatal(err)
	}
	id := tenancy.NewID()
	if err := lim.Allow(id); err != nil {
		t.Fatal(err)
	}
	var limited *ratelimit.Error
	if err := lim.Allow(id); !errors.As(err, &limited) || limited.RetryAfter < 24*time.Hour {
		t.Errorf("the second request: %v, want a wait of at least a day", err)
	}
}
