package scale

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// generated makes a fresh database, with the owner allowed to bypass
// row-level security as in the app's deployments, and fills it at s.
func generated(t testing.TB, db *pgtest.DB, s Scale) (Conns, Report) {
	t.Helper()
	db.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls")
	conns := Conns{Owner: db.ConnString(pgtest.Owner), App: db.ConnString(pgtest.App), Platform: db.ConnString(pgtest.Platform),
		Admin: db.ConnString(pgtest.Admin), AuditRole: db.RoleName(pgtest.Audit)}
	rep, err := Generate(context.Background(), conns, s, time.Now(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return conns, rep
}

var tiny = Scale{Clinics: 3, Patients: 600, Appointments: 600, Invoices: 30, Prescriptions: 12, Workers: 2}

// TestGenerate runs the generator at a tiny scale and checks the counts,
// that every key, index and constraint is back and enforced, that staff
// can sign in with the documented password, and that row-level security
// still isolates the clinics.
func TestGenerate(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	conns, rep := generated(t, db, tiny)
	owner := db.Conn(t, pgtest.Owner)

	paid := 0 // the generator's rule for which invoices have a payment
	for i := range tiny.Invoices / tiny.Clinics {
		if i%2 == 0 && i%25 != 0 && i%10 != 1 {
			paid++
		}
	}
	want := map[string]int64{
		"clinics": 3, "staff": 3 * int64(len(staff)), "patients": 600, "appointments": 600,
		"invoices": 30, "invoice_lines": 60, "payments": 3 * int64(paid), "prescriptions": 12,
	}
	for table, n := range want {
		if rep.Rows[table] != n {
			t.Errorf("%s: report says %d rows, want %d", table, rep.Rows[table], n)
		}
		var got int64
		if err := owner.QueryRow(ctx, "select count(*) from "+table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("%s: %d rows, want %d", table, got, n)
		}
	}
	if rep.DiskSize <= 0 || rep.Total <= 0 || len(rep.Phases) == 0 {
		t.Errorf("report without size or times: %+v", rep)
	}

	// Keys, exclusion constraints and foreign keys are back, and enforced.
	var keys, excl, fks int
	if err := owner.QueryRow(ctx, `select count(*) filter (where contype = 'p'), count(*) filter (where contype = 'x'),
		count(*) filter (where contype = 'f') from pg_constraint where conrelid = 'appointments'::regclass`).Scan(&keys, &excl, &fks); err != nil {
		t.Fatal(err)
	}
	if keys != 1 || excl != 3 || fks != 5 {
		t.Errorf("appointments: %d primary keys, %d exclusion constraints, %d foreign keys; want 1, 3, 5", keys, excl, fks)
	}
	var idx int
	if err := owner.QueryRow(ctx, `select count(*) from pg_indexes where tablename = 'appointments'
		and indexname in ('appointments_time', 'appointments_patient')`).Scan(&idx); err != nil {
		t.Fatal(err)
	}
	if idx != 2 {
		t.Errorf("appointments: %d of its two indexes", idx)
	}
	_, err := owner.Exec(ctx, `insert into appointments (clinic_id, id, patient_id, dentist_id, operatory_id, starts_at, ends_at, type)
		select clinic_id, $1, patient_id, dentist_id, operatory_id, starts_at, ends_at, 'Double booking'
		from appointments where status not in ('cancelled', 'no_show') limit 1`, StaffID(99, 0))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23P01" {
		t.Errorf("a double booking: got %v, want an exclusion violation", err)
	}

	// Staff sign in with the documented password.
	var hash string
	if err := owner.QueryRow(ctx, "select password_hash from staff where email = $1", StaffEmail(2, 6)).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if err := passwords.Check(hash, Password); err != nil {
		t.Errorf("staff password does not verify: %v", err)
	}

	// Row-level security: clinic 2's patients exist, and clinic 1's
	// principal sees none of them, even asking without a tenant predicate.
	var other int
	if err := owner.QueryRow(ctx, "select count(*) from patients where clinic_id = $1", ClinicID(2)).Scan(&other); err != nil || other != 200 {
		t.Fatalf("clinic 2 has %d patients (%v), want 200", other, err)
	}
	pool, err := pgxpool.New(ctx, conns.App)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	model, err := Model(conns, pool.Config().ConnConfig.User)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tenantdb.New(ctx, pool, tenantdb.Config{Model: model, Guard: allowAll{}, Sources: []tenancy.Source{benchAuth.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	for sql, want := range map[string]int{
		"select count(*) from patients":                                     200,
		"select count(*) from patients where clinic_id <> $1":               0,
		"select count(*) from appointments where clinic_id <> $1":           0,
		"select count(*) from invoices i join payments p using (clinic_id)": 10 * paid,
	} {
		var args []any
		if strings.Contains(sql, "$1") {
			args = append(args, ClinicID(1))
		}
		var got int
		if err := p.QueryRow(principal(ctx, 1), sql, args...).Scan(&got); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if got != want {
			t.Errorf("%s as clinic 1: %d, want %d", sql, got, want)
		}
	}
}

// TestRLSBench checks the benchmark itself at a tiny scale: every variant
// returns exactly the baseline's rows, the naive copies really call the
// helpers per row (no InitPlan), and Measure times every pair.
func TestRLSBench(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	conns, _ := generated(t, db, tiny)
	b, err := NewRLSBench(ctx, db.ConnString(pgtest.Admin), conns, "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Clinics != 3 || b.Days < 1 || b.First.Weekday() != time.Monday {
		t.Fatalf("detected %d clinics, %d days from %s", b.Clinics, b.Days, b.First)
	}
	if err := b.Verify(ctx, []int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for _, q := range Queries {
		plan, err := b.Explain(ctx, NaiveHelpers, q, 2)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(plan, "InitPlan") {
			t.Errorf("%s: the naive copy is not naive:\n%s", q.Name, plan)
		}
		plan, err = b.Explain(ctx, Generated, q, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "Execution Time") {
			t.Errorf("%s: not an EXPLAIN ANALYZE:\n%s", q.Name, plan)
		}
	}
	res, err := b.Measure(ctx, 2, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(Queries)*len(Variants) {
		t.Fatalf("%d results, want %d", len(res), len(Queries)*len(Variants))
	}
	for _, r := range res {
		if r.N != 6 || r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("%s, %s: %+v", r.Query, r.Variant, r)
		}
	}
	counts, err := b.PlanCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != len(Queries)*len(Variants) {
		t.Fatalf("%d plan counts, want %d", len(counts), len(Queries)*len(Variants))
	}
	for _, c := range counts {
		// Every variant ran every query at least 6 times on its two connections.
		if c.Generic+c.Custom < 6 {
			t.Errorf("%s, %s: %d generic and %d custom plans counted", c.Query, c.Variant, c.Generic, c.Custom)
		}
	}
	var sb strings.Builder
	WriteResults(&sb, res)
	if strings.Count(sb.String(), "| 1.00x | 1.00x |") < len(Queries) {
		t.Errorf("no baseline rows in:\n%s", sb.String())
	}
}

var (
	benchOnce  sync.Once
	benchState *RLSBench
	benchErr   error
)

// benchScale is the scale of BenchmarkRLS: 20 clinics of the full scale's
// size (2,000 patients and 10,000 appointments each).
var benchScale = Scale{Clinics: 20, Patients: 40_000, Appointments: 200_000, Invoices: 50_000, Prescriptions: 20_000, Workers: 2}

// BenchmarkRLS times the queries under each variant at a small scale
// (the full scale is cmd/dentalrls's). Compare with
//
//	benchstat -col /variant
func BenchmarkRLS(b *testing.B) {
	benchOnce.Do(func() {
		db, err := pgtest.NewShared()
		if err != nil {
			benchErr = err
			return
		}
		conns, _ := generated(b, db, benchScale)
		benchState, benchErr = NewRLSBench(context.Background(), db.ConnString(pgtest.Admin), conns, "")
	})
	if benchErr != nil {
		pgtest.SkipOrFail(b, benchErr)
	}
	ctx := context.Background()
	names := map[string]string{Baseline: "baseline", ContextOnly: "context-only", Generated: "generated", NaiveSetting: "naive-setting", NaiveHelpers: "naive-helpers"}
	for _, q := range Queries {
		for _, v := range Variants {
			b.Run("query="+strings.ReplaceAll(strings.Fields(q.Name)[0]+"-"+strings.Fields(q.Name)[1], " ", "-")+"/variant="+names[v], func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					n := 1 + i%benchState.Clinics
					if _, _, err := benchState.run(ctx, v, q, n, DayOf(benchState.First, i%benchState.Days), false); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
