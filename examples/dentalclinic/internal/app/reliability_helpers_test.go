package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/api"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/internal/pglocal"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// The reliability tests (reliability_test.go, badinput_test.go) each run an
// app of their own, with the settings they need, on a database of their
// own: a fresh pgtest database, or a private cluster when the test restarts
// it. Nothing else writes there, so every count and snapshot they take is
// theirs alone.

// ownAppOptions says how to run an app for one test.
type ownAppOptions struct {
	maxConns int32         // Config.MaxConns; zero for the default
	timeout  time.Duration // Config.RequestTimeout; zero for the default
	// cluster runs a private PostgreSQL cluster that the test may restart
	// (instead of a database on the shared test server).
	cluster bool
	// bouncer puts pgbouncer in transaction mode, with one server
	// connection per role, between the app and the database (the app and
	// platform roles; migrations connect directly).
	bouncer bool
	// log receives the app's log; nil discards it.
	log io.Writer
	// idp is Config.IdentityProvider.
	idp *IdentityProvider
	// summaryEvery is Config.SummaryEvery.
	summaryEvery time.Duration
	// share is Config.ClinicShare.
	share tenantdb.Share
}

// ownApp is an app run for one test.
type ownApp struct {
	*testApp
	super   string           // superuser connection string to the app's database
	cluster *pglocal.Cluster // with ownAppOptions.cluster
	api     *api.Server      // the app's API, for its route table
	cancel  context.CancelFunc
	errc    chan error
	stopped bool
}

// startOwnApp migrates and seeds a database of the test's own and runs the
// app on it, on a loopback port. The app stops when the test ends, if the
// test did not stop it.
func startOwnApp(t *testing.T, o ownAppOptions) *ownApp {
	t.Helper()
	ctx := context.Background()
	var conns connStrings
	oa := &ownApp{}
	if o.cluster {
		if _, err := pglocal.FindBinDir(); err != nil {
			pgtest.SkipOrFail(t, err)
		}
		c, err := pglocal.Start(ctx, pglocal.Config{})
		if err != nil {
			t.Fatalf("private cluster: %v", err)
		}
		t.Cleanup(func() {
			if err := c.Stop(); err != nil {
				t.Errorf("stopping the private cluster: %v", err)
			}
		})
		if conns, err = bootstrap(ctx, c); err != nil {
			t.Fatal(err)
		}
		oa.cluster = c
		oa.super = c.SuperuserConnString(embeddedDatabase)
		oa.testApp = &testApp{tokens: map[string]string{}}
	} else {
		db := pgtest.New(t)
		conns = relConns(t, db, o)
		oa.super = db.ConnString(pgtest.Admin)
		oa.testApp = &testApp{db: db, tokens: map[string]string{}}
	}
	dir := t.TempDir()
	oa.testApp.dir = dir
	if err := oa.launch(o, conns, dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { oa.stop(t) })
	return oa
}

// relConns makes db's owner able to bypass RLS (it runs the migrations, as
// in production) and returns the roles' connection strings, through
// pgbouncer when o says so.
func relConns(t *testing.T, db *pgtest.DB, o ownAppOptions) connStrings {
	if t != nil {
		t.Helper()
		db.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls")
	}
	conns := connStrings{app: db.ConnString(pgtest.App), owner: db.ConnString(pgtest.Owner), platform: db.ConnString(pgtest.Platform),
		auditAdmin: db.ConnString(pgtest.Admin), audit: db.RoleName(pgtest.Audit)}
	if o.bouncer {
		via := db.Bouncer(t, 1, pgtest.App, pgtest.Platform)
		// pgbouncer in transaction mode: no named prepared statements.
		conns.app = via(pgtest.App) + " default_query_exec_mode=exec"
		conns.platform = via(pgtest.Platform) + " default_query_exec_mode=exec"
	}
	return conns
}

var (
	relOnce sync.Once
	relApp  *ownApp
	relErr  error
)

// relSharedApp is one app, on a database of its own that lives as long as
// the test binary, for the reliability tests that need no settings of
// their own (TestSoak, TestTerminateMidTransaction, TestBadInputCorpus,
// TestMetacharactersAreData): starting an app costs seconds. Those tests
// do not run in parallel, so each still has the database to itself while
// it runs.
func relSharedApp(t *testing.T) *ownApp {
	t.Helper()
	relOnce.Do(func() { relApp, relErr = launchShared("dentalclinic-reliability-", ownAppOptions{maxConns: 16}) })
	if relErr != nil {
		pgtest.SkipOrFail(t, relErr)
	}
	return relApp
}

// launchShared runs an app that lives as long as the test binary, on a
// shared database of its own whose owner may bypass RLS (it runs the
// migrations, as in production), with its data directory under prefix.
func launchShared(prefix string, o ownAppOptions) (*ownApp, error) {
	db, err := pgtest.NewShared()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, db.ConnString(pgtest.Admin))
	if err != nil {
		return nil, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "alter role "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls"); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	oa := &ownApp{super: db.ConnString(pgtest.Admin), testApp: &testApp{db: db, tokens: map[string]string{}}}
	if err := oa.launch(o, relConns(nil, db, o), dir); err != nil {
		return nil, err
	}
	oa.testApp.api = oa.api
	oa.testApp.dir = dir
	return oa, nil
}

// launch runs the app on conns and waits until it listens.
func (oa *ownApp) launch(o ownAppOptions, conns connStrings, dir string) error {
	var logw io.Writer = io.Discard
	if o.log != nil {
		logw = o.log
	}
	runCtx, cancel := context.WithCancel(context.Background())
	oa.cancel = cancel
	oa.errc = make(chan error, 1)
	ready := make(chan string, 1)
	go func() {
		oa.errc <- Run(runCtx, Config{
			Addr: "127.0.0.1:0", DatabaseURL: conns.app, MigrationDatabaseURL: conns.owner, PlatformDatabaseURL: conns.platform,
			AuditAdminDatabaseURL: conns.auditAdmin, AuditRole: conns.audit,
			DataDir: dir, Seed: true, MaxConns: o.maxConns, RequestTimeout: o.timeout,
			Log: slog.New(slog.NewTextHandler(logw, nil)), Ready: ready,
			API:              func(s *api.Server) { oa.api = s },
			IdentityProvider: o.idp, SummaryEvery: o.summaryEvery, ClinicShare: o.share,
		})
	}()
	select {
	case oa.base = <-ready:
		return nil
	case err := <-oa.errc:
		cancel()
		return fmt.Errorf("the app did not start: %w", err)
	case <-time.After(2 * time.Minute):
		cancel()
		return fmt.Errorf("the app did not start within 2 minutes")
	}
}

// stop shuts the app down gracefully and waits for Run to return.
func (oa *ownApp) stop(t *testing.T) {
	t.Helper()
	if oa.stopped {
		return
	}
	oa.stopped = true
	oa.cancel()
	select {
	case err := <-oa.errc:
		if err != nil {
			t.Errorf("Run returned %v after shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the app did not stop within 30s of its context ending")
	}
}

// superConn connects to the app's database as the superuser.
func (oa *ownApp) superConn(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, oa.super)
	if err != nil {
		t.Fatalf("superuser connection: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// clinicTokens signs in the demo owner of each clinic (roles owner and
// dentist: they may book, bill and manage patients).
func (oa *ownApp) clinicTokens(t *testing.T) map[tenancy.ID]string {
	t.Helper()
	out := map[tenancy.ID]string{}
	for _, c := range seed.Clinics {
		out[c.ID] = oa.login(t, seed.StaffEmail("owner", c), tenancy.ID{})
	}
	return out
}

// relResult is one request's outcome in a load test.
type relResult struct {
	method, route string
	status        int
	retryAfter    string
	contentType   string
	body          []byte
	took          time.Duration
	err           error
}

// send makes one request with client; it never fails the test, so load
// goroutines may call it.
func relSend(ctx context.Context, client *http.Client, method, url, token string, body []byte, route string) relResult {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	res := relResult{method: method, route: route}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		res.err = err
		return res
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		res.err, res.took = err, time.Since(start)
		return res
	}
	res.body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	res.took = time.Since(start)
	res.status = resp.StatusCode
	res.retryAfter = resp.Header.Get("Retry-After")
	res.contentType = resp.Header.Get("Content-Type")
	return res
}

// foreignClinicIDs returns the clinic ids in a JSON body other than want:
// every object's "clinic_id", at any depth.
func relForeignClinicIDs(body []byte, want tenancy.ID) []string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "clinic_id" && s != want.String() {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// relStats gathers the outcomes of a load test. It is safe for
// concurrent use.
type relStats struct {
	mu          sync.Mutex
	took        []time.Duration
	status      map[int]int
	errors      int
	crossTenant int
	notes       []string // the first few anomalies, for the failure message
}

func newRelStats() *relStats { return &relStats{status: map[int]int{}} }

func (s *relStats) add(r relResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.took = append(s.took, r.took)
	if r.err != nil {
		s.errors++
		s.note("%s %s: %v", r.method, r.route, r.err)
		return
	}
	s.status[r.status]++
}

func (s *relStats) leak(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.crossTenant++
	s.note("CROSS-TENANT: "+format, args...)
}

func (s *relStats) note(format string, args ...any) {
	if len(s.notes) < 20 {
		s.notes = append(s.notes, fmt.Sprintf(format, args...))
	}
}

func (s *relStats) count(pred func(status int) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for st, c := range s.status {
		if pred(st) {
			n += c
		}
	}
	return n
}

// percentile returns the p-th percentile (0-100) of the latencies.
func (s *relStats) percentile(p float64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.took) == 0 {
		return 0
	}
	d := slices.Clone(s.took)
	slices.Sort(d)
	i := int(float64(len(d)-1) * p / 100)
	return d[i]
}

func (s *relStats) summary() string {
	s.mu.Lock()
	n := len(s.took)
	codes := make([]int, 0, len(s.status))
	for c := range s.status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", s.status[c], c))
	}
	s.mu.Unlock()
	return fmt.Sprintf("requests=%d statuses=[%s] transport_errors=%d cross_tenant=%d p50=%v p95=%v p99=%v max=%v",
		n, strings.Join(parts, " "), s.errors, s.crossTenant,
		s.percentile(50).Round(100*time.Microsecond), s.percentile(95).Round(100*time.Microsecond),
		s.percentile(99).Round(100*time.Microsecond), s.percentile(100).Round(100*time.Microsecond))
}

// relClinicWork is what a load client of one clinic needs: its token, its own
// patients, a dentist and a chair, and another clinic's patient it must
// never see.
type relClinicWork struct {
	clinic   tenancy.ID
	token    string
	patients []tenancy.ID
	dentist  tenancy.ID
	chair    tenancy.ID
	foreign  tenancy.ID // a patient of another clinic
}

// prepareWork reads, through the API, what each clinic's load clients use.
func relPrepareWork(t *testing.T, oa *ownApp) []*relClinicWork {
	t.Helper()
	tokens := oa.clinicTokens(t)
	var works []*relClinicWork
	for _, c := range seed.Clinics {
		w := &relClinicWork{clinic: c.ID, token: tokens[c.ID]}
		var pats struct{ Items []patientJSON }
		r := oa.do(t, "GET", "/api/v1/patients?limit=50", w.token, nil)
		if r.status != http.StatusOK {
			t.Fatalf("patients of %s: %d %s", c.Name, r.status, r.body)
		}
		r.json(t, &pats)
		for _, p := range pats.Items {
			w.patients = append(w.patients, p.ID)
		}
		if len(w.patients) == 0 {
			t.Fatalf("%s has no patients: the seed is missing", c.Name)
		}
		var staff struct {
			Items []struct {
				ID    tenancy.ID `json:"id"`
				Roles []string   `json:"roles"`
			}
		}
		oa.do(t, "GET", "/api/v1/staff", w.token, nil).json(t, &staff)
		for _, s := range staff.Items {
			if slices.Contains(s.Roles, "dentist") && w.dentist.IsZero() {
				w.dentist = s.ID
			}
		}
		var chairs struct {
			Items []struct {
				ID tenancy.ID `json:"id"`
			}
		}
		oa.do(t, "GET", "/api/v1/operatories", w.token, nil).json(t, &chairs)
		if len(chairs.Items) > 0 {
			w.chair = chairs.Items[0].ID
		}
		if w.dentist.IsZero() || w.chair.IsZero() {
			t.Fatalf("%s: no dentist (%v) or chair (%v) in the seed", c.Name, w.dentist, w.chair)
		}
		works = append(works, w)
	}
	for i, w := range works {
		w.foreign = works[(i+1)%len(works)].patients[0]
	}
	return works
}

// relLoadOp is one kind of request a load client makes.
type relLoadOp struct {
	name   string
	weight int
	run    func(ctx context.Context, client *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult
}

// relLoadOps are the requests of a clinic's working day: mostly reads of
// lists and records, some new patients, bookings and invoices, and the
// odd attempt at another clinic's patient (which must be 404).
var relLoadOps = []relLoadOp{
	{"list patients", 4, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		return relSend(ctx, c, "GET", base+"/api/v1/patients?limit=20", w.token, nil, "GET /patients")
	}},
	{"open patient", 4, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		id := w.patients[rng.IntN(len(w.patients))]
		return relSend(ctx, c, "GET", base+"/api/v1/patients/"+id.String(), w.token, nil, "GET /patients/{id}")
	}},
	{"list appointments", 3, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		return relSend(ctx, c, "GET", base+"/api/v1/appointments?limit=20", w.token, nil, "GET /appointments")
	}},
	{"list invoices", 3, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		return relSend(ctx, c, "GET", base+"/api/v1/invoices?limit=20", w.token, nil, "GET /invoices")
	}},
	{"new patient", 2, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		b, _ := json.Marshal(map[string]any{"given_name": "Load", "family_name": fmt.Sprintf("Test %d", rng.IntN(1e9))})
		return relSend(ctx, c, "POST", base+"/api/v1/patients", w.token, b, "POST /patients")
	}},
	{"new invoice", 2, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		b, _ := json.Marshal(map[string]any{"patient_id": w.patients[rng.IntN(len(w.patients))],
			"lines": []any{map[string]any{"code": "EXAM", "quantity": 1}, map[string]any{"code": "XRAY", "quantity": 1 + rng.IntN(3)}}})
		return relSend(ctx, c, "POST", base+"/api/v1/invoices", w.token, b, "POST /invoices")
	}},
	{"new booking", 2, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		// A random quarter hour in a far year: a clash is a 409, which
		// the load accepts.
		start := time.Date(2040+rng.IntN(60), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 8+rng.IntN(9), 15*rng.IntN(4), 0, 0, time.UTC)
		b, _ := json.Marshal(map[string]any{"patient_id": w.patients[rng.IntN(len(w.patients))], "dentist_id": w.dentist,
			"operatory_id": w.chair, "starts_at": start.Format(time.RFC3339), "duration_min": 30, "type": "Check-up",
			"allow_dentist_overlap": true})
		return relSend(ctx, c, "POST", base+"/api/v1/appointments", w.token, b, "POST /appointments")
	}},
	{"foreign patient", 1, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		return relSend(ctx, c, "GET", base+"/api/v1/patients/"+w.foreign.String(), w.token, nil, "GET /patients/{foreign}")
	}},
}

// runLoad runs clientsPerClinic clients for each clinic until ctx ends,
// each making requests one after another, and records every outcome in
// stats, checking that no response carries another clinic's record. Each
// relResult also goes to observe, if set.
func relRunLoad(ctx context.Context, base string, works []*relClinicWork, clientsPerClinic int, stats *relStats, observe func(relResult)) {
	total := 0
	for _, op := range relLoadOps {
		total += op.weight
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	var wg sync.WaitGroup
	for _, w := range works {
		for i := 0; i < clientsPerClinic; i++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
				for ctx.Err() == nil {
					n := rng.IntN(total)
					var op relLoadOp
					for _, op = range relLoadOps {
						if n < op.weight {
							break
						}
						n -= op.weight
					}
					// The request itself is not bound to ctx: a request in
					// flight when the load ends completes.
					r := op.run(context.Background(), client, base, w, rng)
					stats.add(r)
					if r.err == nil {
						if ids := relForeignClinicIDs(r.body, w.clinic); len(ids) > 0 {
							stats.leak("%s answered records of %v to clinic %v", r.route, ids, w.clinic)
						}
						if op.name == "foreign patient" && r.status != http.StatusNotFound && r.status != http.StatusServiceUnavailable {
							stats.leak("another clinic's patient answered %d to clinic %v", r.status, w.clinic)
						}
					}
					if observe != nil {
						observe(r)
					}
				}
			}(uint64(i) + 1)
		}
	}
	wg.Wait()
}

// isProblem reports whether r is an RFC 9457 problem with its status.
func relIsProblem(r relResult) bool {
	if !strings.HasPrefix(r.contentType, "application/problem+json") {
		return false
	}
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	return json.Unmarshal(r.body, &p) == nil && p.Status == r.status && p.Code != ""
}
