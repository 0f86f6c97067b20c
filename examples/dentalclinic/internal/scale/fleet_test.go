package scale

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// TestOtherClinics: the load's leak detector finds another clinic's
// clinic_id at any depth of an answer, and nothing in an answer of the
// clinic's own records.
func TestOtherClinics(t *testing.T) {
	own, other := ClinicID(1).String(), ClinicID(2).String()
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"items":[{"id":"x","clinic_id":"` + own + `"}],"next_cursor":""}`, 0},
		{`{"id":"x","clinic_id":"` + own + `","lines":[{"clinic_id":"` + own + `"}]}`, 0},
		{`{"items":[{"clinic_id":"` + own + `"},{"clinic_id":"` + other + `"}]}`, 1},
		{`{"id":"x","clinic_id":"` + own + `","lines":[{"clinic_id":"` + other + `"}]}`, 1},
		{`[{"clinic_id":"` + other + `"},{"clinic_id":"` + other + `"}]`, 2},
		{`not json`, 0},
	} {
		seen, got := OtherClinics([]byte(tc.body), ClinicID(1))
		if len(got) != tc.want || seen < len(got) {
			t.Errorf("%s: %v of %d, want %d of clinic 2", tc.body, got, seen, tc.want)
		}
	}
}

// TestFleetThroughBouncer runs two instances of the app behind one
// pgbouncer in transaction mode, fewer server connections than the
// instances' pools hold between them, under the load's whole mix for
// every clinic at once: every answer is read for another clinic's
// records, and there are none, while each clinic's data exists and both
// instances serve.
func TestFleetThroughBouncer(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	conns, _ := generated(t, db, tiny)
	owner := db.Conn(t, pgtest.Owner)
	for n := 1; n <= tiny.Clinics; n++ {
		var patients, appts int
		if err := owner.QueryRow(ctx, `select (select count(*) from patients where clinic_id = $1), (select count(*) from appointments where clinic_id = $1)`,
			ClinicID(n)).Scan(&patients, &appts); err != nil {
			t.Fatal(err)
		}
		if patients == 0 || appts == 0 {
			t.Fatalf("clinic %d has %d patients and %d appointments: nothing the others could see", n, patients, appts)
		}
	}

	const serverConns = 2
	via := db.Bouncer(t, serverConns, pgtest.App, pgtest.Platform)
	dir := t.TempDir()
	var bases []string
	for i := range 2 {
		appCtx, stop := context.WithCancel(ctx)
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- app.Run(appCtx, app.Config{
				Addr: "127.0.0.1:0",
				// pgbouncer in transaction mode: no named prepared statements.
				DatabaseURL: via(pgtest.App) + " default_query_exec_mode=exec", PlatformDatabaseURL: via(pgtest.Platform) + " default_query_exec_mode=exec",
				MigrationDatabaseURL: conns.Owner, AuditAdminDatabaseURL: conns.Admin, AuditRole: conns.AuditRole,
				MaxConns: 4, DataDir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: ready,
			})
		}()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
		})
		select {
		case b := <-ready:
			bases = append(bases, b)
		case err := <-done:
			t.Fatalf("instance %d did not start: %v", i, err)
		}
	}

	client := &http.Client{Timeout: 30 * time.Second}
	tokens := map[int]string{}
	for n := 1; n <= tiny.Clinics; n++ {
		var err error
		if tokens[n], err = Login(ctx, client, bases[n%2], n, 0); err != nil {
			t.Fatal(err)
		}
	}
	layout, err := DetectLayout(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunLoad(ctx, client, LoadConfig{Bases: bases, Tokens: tokens, Clients: 6, Duration: 3 * time.Second,
		Layout: layout, Seed: uint64(time.Now().UnixNano()), CheckTenant: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("2 instances, 1 pgbouncer (%d server connections per role): %.0f req/s, p50 %s, p99 %s, %d requests (%v), %d conflicts, %d of %d records of another clinic",
		serverConns, res.RPS(), res.P50, res.P99, res.Requests, res.ByBase, res.Conflicts, res.CrossTenant, res.TenantChecked)
	if res.TenantChecked < res.Requests/2 {
		t.Errorf("only %d records' clinics checked in %d answers: the check would miss a leak", res.TenantChecked, res.Requests)
	}
	if res.CrossTenant != 0 {
		t.Errorf("%d records of another clinic: %v", res.CrossTenant, res.FirstErrors)
	}
	if res.Errors != 0 || res.Requests < 100 {
		t.Errorf("%d errors in %d requests: %v", res.Errors, res.Requests, res.FirstErrors)
	}
	for _, b := range bases {
		if res.ByBase[b] == 0 {
			t.Errorf("instance %s served nothing", b)
		}
	}
	var backends int
	if err := owner.QueryRow(ctx, `select count(*) from pg_stat_activity where datname = current_database() and usename = $1`,
		db.RoleName(pgtest.App)).Scan(&backends); err != nil {
		t.Fatal(err)
	}
	if backends > serverConns {
		t.Errorf("the app role has %d server connections: pgbouncer should hold at most %d for the 8 of the instances", backends, serverConns)
	}
}
