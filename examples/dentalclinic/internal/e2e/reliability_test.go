package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// soakFor is how long TestSoak runs: a few seconds in CI, longer by hand
// (go test ./examples/dentalclinic/internal/app -run TestSoak -soak=2m).
var soakFor = flag.Duration("soak", 3*time.Second, "how long TestSoak runs its load")

// TestSoak runs concurrent clients of the three demo clinics against the
// app for a bounded time: list and open patients, appointments and
// invoices, create patients, bookings and invoices, and try another
// clinic's patient. No apptest.Response may carry another clinic's record (the
// foreign patient must be 404), none may be a 5xx, and every record the
// clients created must be in the database under their own clinic.
func TestSoak(t *testing.T) {
	oa := relSharedApp(t)
	works := relPrepareWork(t, oa)
	since := time.Now()
	stats := newRelStats()
	var created relCreated
	ctx, cancel := context.WithTimeout(context.Background(), *soakFor)
	defer cancel()
	start := time.Now()
	relRunLoad(ctx, oa.Base, works, 3, stats, created.observe(works))
	elapsed := time.Since(start)
	t.Logf("soak %v, 3 clinics x 3 clients: %s (%.0f req/s)", elapsed.Round(time.Millisecond), stats.summary(),
		float64(len(stats.took))/elapsed.Seconds())
	if stats.crossTenant != 0 {
		t.Errorf("%d responses carried another clinic's records: %v", stats.crossTenant, stats.notes)
	}
	if n := stats.count(func(s int) bool { return s >= 500 }); n != 0 || stats.errors != 0 {
		t.Errorf("%d 5xx answers and %d transport errors: %v", n, stats.errors, stats.notes)
	}
	if n := stats.count(func(s int) bool { return s == http.StatusCreated }); n == 0 {
		t.Error("the soak created nothing: the load did not exercise the writes")
	}
	created.check(t, oa.SuperConn(t))
	relCheckIntegrity(t, oa.SuperConn(t), since)
}

// relCreated remembers every record a load created, by the 201 answers
// it got, with the clinic that created it.
type relCreated struct {
	mu   sync.Mutex
	byID map[string]relCreatedRecord
}

type relCreatedRecord struct {
	table  string
	clinic tenancy.ID
}

// observe returns a load observer that records the 201s of works' clients.
func (c *relCreated) observe(works []*relClinicWork) func(relResult) {
	tables := map[string]string{"POST /patients": "patients", "POST /invoices": "invoices", "POST /appointments": "appointments"}
	return func(r relResult) {
		table, ok := tables[r.route]
		if r.err != nil || r.Status != http.StatusCreated || !ok {
			return
		}
		var rec struct {
			ID       string     `json:"id"`
			ClinicID tenancy.ID `json:"clinic_id"`
		}
		if json.Unmarshal(r.Body, &rec) != nil || rec.ID == "" {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.byID == nil {
			c.byID = map[string]relCreatedRecord{}
		}
		c.byID[rec.ID] = relCreatedRecord{table: table, clinic: rec.ClinicID}
	}
}

// check proves, as the superuser, that every record answered 201 is stored,
// under the clinic whose client created it: nothing acknowledged is lost
// and nothing lands in another clinic.
func (c *relCreated) check(t *testing.T, super *pgx.Conn) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	lost, misplaced := 0, 0
	for id, rec := range c.byID {
		var clinic tenancy.ID
		err := super.QueryRow(context.Background(), "select clinic_id from "+rec.table+" where id = $1", id).Scan(&clinic)
		switch {
		case err != nil:
			lost++
			if lost < 5 {
				t.Errorf("%s %s was answered 201 but is not stored: %v", rec.table, id, err)
			}
		case clinic != rec.clinic:
			misplaced++
			t.Errorf("CROSS-TENANT: %s %s was created for clinic %v but is stored under %v", rec.table, id, rec.clinic, clinic)
		}
	}
	t.Logf("%d records answered 201: %d lost, %d under another clinic", len(c.byID), lost, misplaced)
}

// checkIntegrity proves, as the superuser, that no write was half done:
// every invoice has its lines and its total is their sum; every invoice,
// booking and patient has the audit event of its creation and every such
// event its record; each clinic's invoice numbers run 1..n without a gap
// and its counter stands at n (a number taken by a transaction that did
// not commit would leave a gap); and every audit chain verifies.
//
// Records made before since (the demo seed, written directly) are not
// held to the audit checks.
func relCheckIntegrity(t *testing.T, super *pgx.Conn, since time.Time) {
	t.Helper()
	ctx := context.Background()
	checks := []struct{ what, sql string }{
		{"invoices without lines, or whose total is not the sum of their lines", `
			select count(*) from invoices i
			where i.total_minor <> coalesce((select sum(l.amount_minor) from invoice_lines l
				where l.clinic_id = i.clinic_id and l.invoice_id = i.id), -1)`},
		{"invoices without their invoice.create event", `
			select count(*) from invoices i where i.created_at >= $1 and not exists (select 1 from audit.events e
				where e.tenant_id = i.clinic_id and e.action = 'invoice.create' and e.resource_id = i.id::text)`},
		{"invoice.create events without their invoice", `
			select count(*) from audit.events e where e.action = 'invoice.create' and not exists (
				select 1 from invoices i where i.clinic_id = e.tenant_id and i.id::text = e.resource_id)`},
		{"appointments booked through the API without their appointment.create event", `
			select count(*) from appointments a where a.type = 'Check-up' and a.starts_at > '2040-01-01' and not exists (
				select 1 from audit.events e where e.tenant_id = a.clinic_id and e.action = 'appointment.create' and e.resource_id = a.id::text)`},
		{"appointment.create events without their appointment", `
			select count(*) from audit.events e where e.action = 'appointment.create' and not exists (
				select 1 from appointments a where a.clinic_id = e.tenant_id and a.id::text = e.resource_id)`},
		{"patient.create events without their patient", `
			select count(*) from audit.events e where e.action = 'patient.create' and not exists (
				select 1 from patients p where p.clinic_id = e.tenant_id and p.id::text = e.resource_id)`},
		{"clinics whose invoice numbers have a gap or whose counter is not the last number", `
			select count(*) from (
				select c.id from clinics c
				left join invoice_counters k on k.clinic_id = c.id
				left join invoices i on i.clinic_id = c.id
				group by c.id, k.last_number
				having count(i.id) <> coalesce(max(i.number), 0) or coalesce(max(i.number), 0) <> coalesce(k.last_number, 0)) x`},
	}
	for _, c := range checks {
		var n int
		var args []any
		if strings.Contains(c.sql, "$1") {
			args = append(args, since)
		}
		if err := super.QueryRow(ctx, c.sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if n != 0 {
			t.Errorf("half-written data: %d %s", n, c.what)
		}
	}
	var invoices, appointments int
	super.QueryRow(ctx, `select (select count(*) from invoices), (select count(*) from appointments)`).Scan(&invoices, &appointments)
	reports, err := audit.VerifyAll(ctx, super)
	if err != nil {
		t.Errorf("audit chains: %v", err)
	}
	t.Logf("integrity checked: %d invoices, %d appointments, %d audit chains", invoices, appointments, len(reports))
}

// lockTable takes lock on table in a transaction of a superuser connection
// of its own, and returns the function that ends it.
func relLockTable(t *testing.T, oa *apptest.App, table, mode string) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, oa.SuperURL)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "lock table "+table+" in "+mode+" mode"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			tx.Rollback(ctx)
			conn.Close(ctx)
		})
	}
	t.Cleanup(release)
	return release
}

// appBackends counts the app role's backends in pg_stat_activity that are
// waiting for a lock.
func relBackendsWaiting(t *testing.T, super *pgx.Conn) int {
	t.Helper()
	var n int
	if err := super.QueryRow(context.Background(), `select count(*) from pg_stat_activity
		where datname = current_database() and usename not in (current_user) and state = 'active' and wait_event_type = 'Lock'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond every 20ms until it holds or d passes.
func relWaitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// TestPoolExhaustion sends ten times MaxConns concurrent requests while
// their table is locked, so that the pool runs dry: each finishes within
// its deadline, with a 503 problem and Retry-After (statement_timeout
// for the requests that got a connection, the pool wait for the others),
// none hangs, nothing is written; once the lock is gone the same flood is
// served, so no connection was lost; and the app, stopped, leaves no
// goroutine behind.
func TestPoolExhaustion(t *testing.T) {
	t.Cleanup(relCheckNoLeaks(t))
	const maxConns, timeout = 2, 1500 * time.Millisecond
	oa := apptest.Start(t, apptest.Options{MaxConns: maxConns, RequestTimeout: timeout})
	works := relPrepareWork(t, oa)
	since := time.Now()
	super := oa.SuperConn(t)
	count := func() (n int) {
		super.QueryRow(context.Background(), "select (select count(*) from invoices) + (select count(*) from patients)").Scan(&n)
		return n
	}
	before := count()

	flood := func() []relResult {
		var wg sync.WaitGroup
		out := make([]relResult, 10*maxConns)
		for i := range out {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				w := works[i%len(works)]
				if i%2 == 0 {
					out[i] = relSend(context.Background(), http.DefaultClient, "GET", oa.Base+"/api/v1/patients?limit=5", w.token, nil, "GET /patients")
					return
				}
				b, _ := json.Marshal(map[string]any{"patient_id": w.patients[0], "lines": []any{map[string]any{"code": "EXAM", "quantity": 1}}})
				out[i] = relSend(context.Background(), http.DefaultClient, "POST", oa.Base+"/api/v1/invoices", w.token, b, "POST /invoices")
			}(i)
		}
		wg.Wait()
		return out
	}

	release := relLockTable(t, oa, "patients", "access exclusive")
	dry := flood()
	// statement_timeout, from the same deadlines, ends the waiting
	// statements at the server within moments of the 503s.
	relWaitFor(time.Second, func() bool { return relBackendsWaiting(t, super) == 0 })
	waiting := relBackendsWaiting(t, super)
	release()
	stats := newRelStats()
	for _, r := range dry {
		stats.add(r)
		if r.err != nil || r.Status != http.StatusServiceUnavailable || r.retryAfter == "" || !relIsProblem(r) {
			t.Errorf("%s while the pool is dry: %d (Retry-After %q) %v %s; want a 503 problem with Retry-After", r.route, r.Status, r.retryAfter, r.err, r.Body)
		}
		if r.took > timeout+time.Second {
			t.Errorf("%s took %v, beyond its %v deadline", r.route, r.took, timeout)
		}
	}
	t.Logf("%d requests on a pool of %d, its table locked: %s", len(dry), maxConns, stats.summary())
	if waiting != 0 {
		t.Errorf("%d app backends still wait on the lock a second after their requests answered: statement_timeout did not free them", waiting)
	}
	if got := count(); got != before {
		t.Errorf("patients+invoices went from %d to %d during the refused flood", before, got)
	}

	served := flood()
	stats = newRelStats()
	for _, r := range served {
		stats.add(r)
		if r.err != nil || (r.Status != http.StatusOK && r.Status != http.StatusCreated) {
			t.Errorf("%s after the lock: %d %v %s; want it served (a connection was lost?)", r.route, r.Status, r.err, r.Body)
		}
	}
	t.Logf("the same flood, unlocked: %s", stats.summary())
	relCheckIntegrity(t, super, since)
	oa.Stop(t)
}

// checkNoLeaks snapshots the goroutines now and returns a cleanup that
// fails the test if any other goroutine is still running at the end
// (goleak retries for a while, so goroutines that are ending pass).
func relCheckNoLeaks(t *testing.T) func() {
	t.Helper()
	// The package's shared test server lives until TestMain ends: start it
	// before the snapshot if no test has yet.
	if _, err := pgtest.Source(); err != nil {
		pgtest.SkipOrFail(t, err)
	}
	before := goleak.IgnoreCurrent()
	return func() {
		http.DefaultClient.CloseIdleConnections()
		// The shared app's River client, running all along, starts
		// goroutines as it goes (its leader's maintenance services, a wait
		// on its LISTEN connection): River's goroutines are not counted.
		// The test's own app stops its client in Run (River's Stop waits
		// for every goroutine of it).
		if err := goleak.Find(append([]goleak.Option{before}, ignoreRiver()...)...); err != nil {
			t.Errorf("goroutines leaked: %v", err)
		}
	}
}

// TestStatementTimeoutFreesConnection locks a table and asks for it on a
// pool of one connection: the request answers 503 (with Retry-After) at
// its deadline, because statement_timeout from the deadline stopped the
// query at the server, and the only connection is free at once: another
// request is served while the lock is still held.
func TestStatementTimeoutFreesConnection(t *testing.T) {
	const timeout = time.Second
	oa := apptest.Start(t, apptest.Options{MaxConns: 1, RequestTimeout: timeout})
	tok := oa.SignIn(t, seed.StaffEmail("owner", seed.Clinics[0]), tenancy.ID{})
	super := oa.SuperConn(t)
	// Warm the clinic-status cache, so that the only statement the slow
	// request sends is the one that waits.
	if r := oa.Do(t, "GET", "/api/v1/operatories", tok, nil); r.Status != http.StatusOK {
		t.Fatalf("operatories: %d %s", r.Status, r.Body)
	}
	release := relLockTable(t, oa, "patients", "access exclusive")
	defer release()

	slow := relSend(context.Background(), http.DefaultClient, "GET", oa.Base+"/api/v1/patients", tok, nil, "GET /patients")
	if slow.Status != http.StatusServiceUnavailable || slow.retryAfter == "" || !relIsProblem(slow) {
		t.Fatalf("slow query: %d (Retry-After %q) %v %s; want a 503 problem with Retry-After", slow.Status, slow.retryAfter, slow.err, slow.Body)
	}
	if slow.took < timeout-100*time.Millisecond || slow.took > timeout+time.Second {
		t.Errorf("slow query answered after %v; want about its %v deadline", slow.took, timeout)
	}
	for _, leak := range []string{"patients", "lock", "statement", "cancel", "SQLSTATE"} {
		if strings.Contains(strings.ToLower(string(slow.Body)), strings.ToLower(leak)) {
			t.Errorf("the 503 body names %q: %s", leak, slow.Body)
		}
	}
	// The server ends the statement at its statement_timeout, set from the
	// same deadline: within moments of the 503, not at the lock's release.
	if !relWaitFor(time.Second, func() bool { return relBackendsWaiting(t, super) == 0 }) {
		t.Errorf("%d app backends still wait on the lock a second after the 503", relBackendsWaiting(t, super))
	}
	// The lock is still held; the pool's one connection serves another
	// table at once.
	next := relSend(context.Background(), http.DefaultClient, "GET", oa.Base+"/api/v1/operatories", tok, nil, "GET /operatories")
	if next.Status != http.StatusOK || next.took > timeout/2 {
		t.Errorf("the next request, on the only connection, while the lock is held: %d after %v %s", next.Status, next.took, next.Body)
	}
	t.Logf("slow query: 503 after %v (deadline %v); next request on the same pool of 1: %d after %v",
		slow.took.Round(time.Millisecond), timeout, next.Status, next.took.Round(time.Millisecond))
}

// TestDatabaseRestartMidLoad restarts the app's PostgreSQL (a fast
// shutdown, as pg_ctl restart -m fast) while clients of three clinics
// read and write: requests that meet the outage answer 503 with
// Retry-After within 2s (their deadline is 5s), and never 500; none leaks
// another clinic's data; nothing is half-written and nothing answered 201
// is lost; and once the server is back the same app, never restarted,
// serves again.
func TestDatabaseRestartMidLoad(t *testing.T) {
	// failFast bounds each 503: well inside the deadline, so the app
	// noticed the outage (refused or ended connections) rather than
	// waiting it out.
	const timeout, failFast = 5 * time.Second, 2 * time.Second
	oa := apptest.Start(t, apptest.Options{Cluster: true, RequestTimeout: timeout})
	works := relPrepareWork(t, oa)
	since := time.Now()
	stats := newRelStats()
	var created relCreated
	var restarting atomic.Bool
	var during atomic.Int64 // 503s while the server was down or restarting
	observe := created.observe(works)
	ctx, cancel := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		relRunLoad(ctx, oa.Base, works, 2, stats, func(r relResult) {
			observe(r)
			if r.err == nil && r.Status >= 500 {
				if r.Status != http.StatusServiceUnavailable || r.retryAfter == "" || !relIsProblem(r) {
					stats.mu.Lock()
					stats.note("%s: %d (Retry-After %q) %s", r.route, r.Status, r.retryAfter, r.Body)
					stats.mu.Unlock()
				} else if restarting.Load() {
					during.Add(1)
				}
				if r.took > failFast {
					stats.mu.Lock()
					stats.note("%s: 503 after %v, not fast (deadline %v)", r.route, r.took, timeout)
					stats.mu.Unlock()
				}
			}
		})
	}()
	time.Sleep(time.Second)
	oldPID := oa.Cluster.PID()
	restarting.Store(true)
	restartStart := time.Now()
	if err := oa.Cluster.Restart(context.Background()); err != nil {
		cancel()
		<-loadDone
		t.Fatalf("restart: %v", err)
	}
	restartTook := time.Since(restartStart)
	time.Sleep(500 * time.Millisecond)
	restarting.Store(false)
	time.Sleep(1500 * time.Millisecond)
	cancel()
	<-loadDone
	if oa.Cluster.PID() == oldPID {
		t.Fatal("the server's pid did not change: it was not restarted")
	}
	t.Logf("restart took %v; load: %s; 503s around the restart: %d", restartTook.Round(time.Millisecond), stats.summary(), during.Load())
	if stats.count(func(s int) bool { return s == http.StatusServiceUnavailable }) == 0 {
		t.Error("no request met the restart: the test proved nothing about the outage")
	}
	other5xx := stats.count(func(s int) bool { return s >= 500 && s != http.StatusServiceUnavailable })
	if other5xx != 0 || stats.errors != 0 || stats.crossTenant != 0 || len(stats.notes) != 0 {
		t.Errorf("%d 5xx other than 503, %d transport errors, %d cross-tenant: %v", other5xx, stats.errors, stats.crossTenant, stats.notes)
	}

	// The app recovers by itself: each clinic is served again (a dead
	// pooled connection may cost one more 503 first).
	for _, w := range works {
		ok := relWaitFor(5*time.Second, func() bool {
			r := relSend(context.Background(), http.DefaultClient, "GET", oa.Base+"/api/v1/invoices?limit=1", w.token, nil, "GET /invoices")
			return r.Status == http.StatusOK
		})
		if !ok {
			t.Errorf("clinic %v is not served again within 5s of the restart", w.clinic)
		}
		b, _ := json.Marshal(map[string]any{"patient_id": w.patients[0], "lines": []any{map[string]any{"code": "EXAM", "quantity": 1}}})
		if r := relSend(context.Background(), http.DefaultClient, "POST", oa.Base+"/api/v1/invoices", w.token, b, "POST /invoices"); r.Status != http.StatusCreated {
			t.Errorf("an invoice after the restart: %d %s", r.Status, r.Body)
		}
	}
	created.check(t, oa.SuperConn(t))
	relCheckIntegrity(t, oa.SuperConn(t), since)
}

// TestTerminateMidTransaction holds the audit chain's table so that
// invoices, bookings and new patients block at their last statement, after
// their rows are written but before COMMIT, then ends their backends with
// pg_terminate_backend: each request answers 503 with Retry-After, none of
// their rows exists afterwards (invoice, lines, counter, booking, patient:
// all or nothing), and the same requests then succeed on the same app.
func TestTerminateMidTransaction(t *testing.T) {
	oa := relSharedApp(t) // a pool of 16: every request below holds a connection at once
	works := relPrepareWork(t, oa)
	since := time.Now()
	super := oa.SuperConn(t)
	ctx := context.Background()
	snapshot := func() string {
		var s string
		if err := super.QueryRow(ctx, `select format('invoices=%s lines=%s counters=%s appointments=%s patients=%s events=%s',
			(select count(*) from invoices), (select count(*) from invoice_lines), (select coalesce(sum(last_number), 0) from invoice_counters),
			(select count(*) from appointments), (select count(*) from patients), (select count(*) from audit.events))`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	requests := func() []func() relResult {
		var out []func() relResult
		for i, w := range works {
			inv, _ := json.Marshal(map[string]any{"patient_id": w.patients[0],
				"lines": []any{map[string]any{"code": "EXAM", "quantity": 1}, map[string]any{"code": "XRAY", "quantity": 2}}})
			start := weekday(time.Date(2041+i, 3, 4, 10, 0, 0, 0, w.loc)) // within the clinic's opening hours
			book, _ := json.Marshal(map[string]any{"patient_id": w.patients[0], "dentist_id": w.dentist, "operatory_id": w.chair,
				"starts_at": start.Format(time.RFC3339), "duration_min": 30, "type": "Check-up"})
			pat, _ := json.Marshal(map[string]any{"given_name": "Terminated", "family_name": "Midway"})
			for _, q := range []struct {
				path, route string
				body        []byte
			}{{"/api/v1/invoices", "POST /invoices", inv}, {"/api/v1/appointments", "POST /appointments", book}, {"/api/v1/patients", "POST /patients", pat}} {
				out = append(out, func() relResult {
					return relSend(ctx, http.DefaultClient, "POST", oa.Base+q.path, w.token, q.body, q.route)
				})
			}
		}
		return out
	}()
	before := snapshot()

	release := relLockTable(t, oa, "audit.chain_heads", "exclusive")
	results := make([]relResult, len(requests))
	var wg sync.WaitGroup
	for i, req := range requests {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = req() }()
	}
	// Wait until every request's transaction has written (it has an xid)
	// and waits for the audit chain.
	var inTx int
	if !relWaitFor(10*time.Second, func() bool {
		super.QueryRow(ctx, `select count(*) from pg_stat_activity where datname = current_database()
			and usename <> current_user and wait_event_type = 'Lock' and backend_xid is not null`).Scan(&inTx)
		return inTx == len(requests)
	}) {
		rows, _ := super.Query(ctx, `select usename, state, coalesce(wait_event_type, ''), coalesce(wait_event, ''), backend_xid is not null, left(query, 80)
			from pg_stat_activity where datname = current_database() and usename <> current_user`)
		for rows.Next() {
			var u, st, wt, we, q string
			var xid bool
			rows.Scan(&u, &st, &wt, &we, &xid, &q)
			t.Logf("backend %s %s %s/%s xid=%v %s", u, st, wt, we, xid, q)
		}
		rows.Close()
		release()
		wg.Wait()
		t.Fatalf("%d of %d requests reached the audit write inside their transaction", inTx, len(requests))
	}
	var killed int
	if err := super.QueryRow(ctx, `select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
		where datname = current_database() and usename <> current_user and wait_event_type = 'Lock') x`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	wg.Wait()
	answered := time.Since(killedAt)
	release()
	for _, r := range results {
		if r.err != nil || r.Status != http.StatusServiceUnavailable || r.retryAfter == "" || !relIsProblem(r) {
			t.Errorf("%s whose backend was terminated mid-transaction: %d (Retry-After %q) %v %s; want a 503 problem with Retry-After",
				r.route, r.Status, r.retryAfter, r.err, r.Body)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("terminated transactions left rows behind:\nbefore %s\nafter  %s", before, after)
	}
	t.Logf("%d transactions terminated after their writes: all answered 503 within %v; rows unchanged (%s)",
		killed, answered.Round(100*time.Microsecond), before)

	// The same app serves the same requests now (the pool replaces the
	// dead connections; a request on one may still answer 503 once).
	for _, req := range requests {
		var r relResult
		relWaitFor(5*time.Second, func() bool { r = req(); return r.Status != http.StatusServiceUnavailable })
		if r.Status != http.StatusCreated {
			t.Errorf("%s after the terminations: %d %s", r.route, r.Status, r.Body)
		}
	}
	relCheckIntegrity(t, super, since)
}

// TestBouncerTransactionMode runs the soak's load through pgbouncer in
// transaction pooling mode with one server connection per role, so that
// the requests of the three clinics take turns on the same server
// connection: no apptest.Response carries another clinic's record, none is a
// 5xx, and every record created is stored under its creator's clinic.
func TestBouncerTransactionMode(t *testing.T) {
	oa := apptest.Start(t, apptest.Options{Bouncer: true})
	works := relPrepareWork(t, oa)
	since := time.Now()
	super := oa.SuperConn(t)
	stats := newRelStats()
	var created relCreated
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	relRunLoad(ctx, oa.Base, works, 2, stats, created.observe(works))
	var serverConns int
	if err := super.QueryRow(context.Background(), `select count(*) from pg_stat_activity where datname = current_database() and usename = $1`,
		oa.DB.RoleName(pgtest.App)).Scan(&serverConns); err != nil {
		t.Fatal(err)
	}
	t.Logf("through pgbouncer (transaction mode, 1 server connection per role; app role backends: %d): %s", serverConns, stats.summary())
	if serverConns > 1 {
		t.Errorf("the app role has %d server connections; pgbouncer should hold one", serverConns)
	}
	if stats.crossTenant != 0 {
		t.Errorf("%d responses carried another clinic's records: %v", stats.crossTenant, stats.notes)
	}
	if n := stats.count(func(s int) bool { return s >= 500 }); n != 0 || stats.errors != 0 {
		t.Errorf("%d 5xx answers and %d transport errors: %v", n, stats.errors, stats.notes)
	}
	created.check(t, super)
	relCheckIntegrity(t, super, since)
}

// TestGracefulShutdown stops the app while a request waits on a locked
// table: the listener closes at once, so new connections are refused,
// while the request in flight completes with its answer once the lock
// goes, and Run then returns without error.
func TestGracefulShutdown(t *testing.T) {
	oa := apptest.Start(t, apptest.Options{})
	tok := oa.SignIn(t, seed.StaffEmail("owner", seed.Clinics[0]), tenancy.ID{})
	super := oa.SuperConn(t)
	if r := oa.Do(t, "GET", "/api/v1/operatories", tok, nil); r.Status != http.StatusOK {
		t.Fatalf("operatories: %d %s", r.Status, r.Body)
	}
	release := relLockTable(t, oa, "patients", "access exclusive")
	inflight := make(chan relResult, 1)
	go func() {
		inflight <- relSend(context.Background(), &http.Client{}, "GET", oa.Base+"/api/v1/patients?limit=3", tok, nil, "GET /patients")
	}()
	if !relWaitFor(5*time.Second, func() bool { return relBackendsWaiting(t, super) == 1 }) {
		t.Fatal("the slow request never reached the database")
	}
	oa.BeginShutdown()
	addr := strings.TrimPrefix(oa.Base, "http://")
	refused := relWaitFor(5*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if !refused {
		t.Fatal("new connections are still accepted 5s after shutdown began")
	}
	fresh := relSend(context.Background(), &http.Client{Transport: &http.Transport{}}, "GET", oa.Base+"/healthz", "", nil, "GET /healthz")
	if fresh.err == nil {
		t.Errorf("a new request during shutdown was answered %d; want the connection refused", fresh.Status)
	}
	select {
	case r := <-inflight:
		t.Fatalf("the in-flight request ended before the lock was released: %d %v", r.Status, r.err)
	case <-time.After(200 * time.Millisecond):
	}
	release()
	r := <-inflight
	var page struct{ Items []patientJSON }
	if r.err != nil || r.Status != http.StatusOK || json.Unmarshal(r.Body, &page) != nil || len(page.Items) == 0 {
		t.Errorf("the in-flight request after shutdown began: %d %v %s; want 200 with patients", r.Status, r.err, r.Body)
	}
	if exited, err := oa.WaitExit(20 * time.Second); !exited {
		t.Error("Run did not return after the last request completed")
	} else if err != nil {
		t.Errorf("Run after a graceful shutdown: %v", err)
	}
	t.Logf("shutdown: new connection refused (%v); in-flight request completed %d with %d patients", fresh.err, r.Status, len(page.Items))
}

// ignoreRiver returns goleak options that ignore the goroutines now
// running River's code, each by the first function of River's in its
// stack.
func ignoreRiver() []goleak.Option {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	seen := map[string]bool{}
	var opts []goleak.Option
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, line := range strings.Split(g, "\n") {
			if !strings.HasPrefix(line, "github.com/riverqueue/river") {
				continue
			}
			fn := line
			if i := strings.LastIndex(fn, "("); i > 0 && strings.HasSuffix(fn, ")") {
				fn = fn[:i]
			}
			if !seen[fn] {
				seen[fn] = true
				opts = append(opts, goleak.IgnoreAnyFunction(fn))
			}
			break
		}
	}
	return opts
}
