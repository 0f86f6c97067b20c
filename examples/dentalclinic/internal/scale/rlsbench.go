package scale

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Variants of the row-level security benchmark, in report order.
const (
	// Baseline runs the query as the owner role, which bypasses
	// row-level security: the explicit clinic_id predicate alone isolates.
	Baseline = "baseline: clinic_id predicate, RLS off"
	// ContextOnly runs it through tenantdb (the same transaction and
	// tenant context as Generated) as a role whose only policy is
	// USING (true): what the context costs without any policy work.
	ContextOnly = "tenantdb context, policy USING (true)"
	// Generated runs it as the app role through tenantdb, under the
	// policies rls.Generate made (the app's migrations).
	Generated = "generated policies (tenantdb)"
	// NaiveSetting runs it under one permissive policy per table that
	// compares the tenant column with current_setting(...)::uuid, no
	// sub-select.
	NaiveSetting = "naive: current_setting per row"
	// NaiveHelpers runs it under copies of the generated policies with
	// the helper calls taken out of their sub-selects, so they are called
	// per row instead of once per statement.
	NaiveHelpers = "naive: generated policies without sub-selects"
)

// Variants are the benchmark's variants, baseline first.
var Variants = []string{Baseline, ContextOnly, Generated, NaiveSetting, NaiveHelpers}

// Naive roles: bound by their own policies only.
const (
	naiveSettingRole = "dental_naive_setting"
	naiveHelpersRole = "dental_naive_helpers"
	contextOnlyRole  = "dental_context_only"
)

// Query is one benchmarked query; $1 is the clinic, the other arguments
// come from Args.
type Query struct {
	Name string
	SQL  string
	Args func(day time.Time) []any
}

const (
	appointmentColumns = `a.id, a.clinic_id, a.patient_id, a.dentist_id, a.hygienist_id, a.operatory_id, a.starts_at, a.ends_at,
	a.type, a.note, a.status, a.hours_override, a.cancel_reason, a.created_at, a.updated_at, c.time_zone`
	patientColumns = `id, clinic_id, given_name, family_name, date_of_birth, sex, phone, email, address, status,
	medical_alerts, allergies, primary_dentist_id, created_at, updated_at`
)

// Queries are the benchmarked queries: the app's own SQL (internal/store)
// with the filters a screen uses. As in the store, the page size (one more
// than the page, to know whether there is a next one) is an integer literal
// in the SQL text, not a parameter: with "limit $n", PostgreSQL keeps
// choosing custom plans and plans every execution again, policies and
// all.
var Queries = []Query{
	{"day schedule", `select ` + appointmentColumns + ` from appointments a join clinics c on c.id = a.clinic_id
		where a.clinic_id = $1 and a.starts_at >= $2 and a.starts_at < $3 order by a.starts_at, a.id limit 101`,
		func(day time.Time) []any { return []any{day, day.Add(24 * time.Hour)} }},
	// GET /patients?name_prefix=wil: the range of the stored, folded
	// family_name_key that starts with "wil", with the leakproof
	// text_pattern_ops operators, which row-level security lets into the
	// index scan (lower(family_name) like 'wil%' it does not).
	{"patient name prefix", `select ` + patientColumns + ` from patients where clinic_id = $1 and family_name_key ~>=~ $2 and family_name_key ~<~ $3
		order by lower(family_name), lower(given_name), id limit 51`,
		func(time.Time) []any {
			lo, hi, _ := store.NamePrefixBounds("wil")
			return []any{lo, hi}
		}},
	{"patient search (app's substring match)", `select ` + patientColumns + ` from patients where clinic_id = $1
		and (lower(given_name || ' ' || family_name) like lower($2) or lower(family_name || ' ' || given_name) like lower($2)
			or lower(email) like lower($2) or phone like $2)
		order by lower(family_name), lower(given_name), id limit 51`,
		func(time.Time) []any { return []any{"%wil%"} }},
	{"invoice list", `
	select i.id, i.clinic_id, i.number, i.patient_id, i.currency, i.total_minor, coalesce(pay.paid, 0)::bigint,
		i.issued_at, i.voided_at, i.created_at, case when i.status <> 'issued' then i.status
		when coalesce(pay.paid, 0) >= i.total_minor then 'paid'
		when coalesce(pay.paid, 0) = 0 then 'issued'
		else 'partly_paid' end,
		(select pt.given_name || ' ' || pt.family_name from patients pt where pt.clinic_id = $1 and pt.id = i.patient_id)
	from invoices i
	left join lateral (select sum(p.amount_minor) as paid from payments p
		where p.clinic_id = $1 and p.invoice_id = i.id) pay on true
	where i.clinic_id = $1 order by i.number desc limit 51`,
		func(time.Time) []any { return nil }},
}

// RLSBench holds a connection per variant to a generated database.
type RLSBench struct {
	Clinics int       // generated clinics, numbered from 1
	First   time.Time // first day of appointments
	Days    int       // weekdays with appointments

	base    *pgxpool.Pool
	pools   map[string]*tenantdb.Pool // by variant, with the default guard
	explain map[string]*tenantdb.Pool // by variant, letting EXPLAIN through
	raw     []*pgxpool.Pool
	byRole  map[string]*pgxpool.Pool // each variant's connections, for PlanCounts
}

// allowAll lets EXPLAIN through; the statements it wraps are the ones the
// default guard accepts in the timed runs.
type allowAll struct{}

func (allowAll) Check(string, []any, tenancy.ID) error { return nil }

// NewRLSBench makes the naive roles and policies (superuser is a
// superuser's connection string to the database), and connects every
// variant. The database must have been made by Generate. A non-empty
// planCacheMode is every variant's connections' plan_cache_mode:
// force_generic_plan plans each prepared statement once per connection,
// force_custom_plan at every execution; "" leaves PostgreSQL's choice
// (auto: five custom plans, then the generic plan unless it looks dearer).
func NewRLSBench(ctx context.Context, superuser string, conns Conns, planCacheMode string) (*RLSBench, error) {
	b := &RLSBench{pools: map[string]*tenantdb.Pool{}, explain: map[string]*tenantdb.Pool{}, byRole: map[string]*pgxpool.Pool{}}
	naive, err := makeNaive(ctx, superuser, conns)
	if err != nil {
		b.Close()
		return nil, err
	}
	open := func(conn string) (*pgxpool.Pool, error) {
		cfg, err := pgxpool.ParseConfig(conn)
		if err != nil {
			return nil, err
		}
		cfg.MaxConns = 2
		if planCacheMode != "" {
			cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = planCacheMode
		}
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err == nil {
			b.raw = append(b.raw, p)
		}
		return p, err
	}
	if b.base, err = open(conns.Owner); err != nil {
		b.Close()
		return nil, err
	}
	b.byRole[Baseline] = b.base
	l, err := DetectLayout(ctx, b.base)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.Clinics, b.First, b.Days = l.Clinics, l.First, l.Days
	for v, conn := range map[string]string{Generated: conns.App, ContextOnly: naive[contextOnlyRole], NaiveSetting: naive[naiveSettingRole], NaiveHelpers: naive[naiveHelpersRole]} {
		p, err := open(conn)
		if err != nil {
			b.Close()
			return nil, err
		}
		b.byRole[v] = p
		model, err := Model(conns, p.Config().ConnConfig.User)
		if err != nil {
			b.Close()
			return nil, err
		}
		// The variants other than Generated are benchmarks of other
		// policies: their roles are bound by their own (naive_setting,
		// context_only, the unwrapped naive_* copies, on the queried tables
		// only), not by the tenant policy that tenantdb's start-up check
		// requires of the app role, so New would refuse them. They start
		// with UncheckedPolicies, which waives that one rule: the role
		// check, ENABLE and FORCE on every tenant table and the model's
		// match with the catalog still hold, and Verify proves that each
		// variant returns exactly the baseline's rows. Generated, the
		// app's own configuration, is checked in full.
		cfg := tenantdb.Config{Model: model, UncheckedPolicies: v != Generated, Sources: []tenancy.Source{benchAuth.Source()}}
		if b.pools[v], err = tenantdb.New(ctx, p, cfg); err != nil {
			b.Close()
			return nil, fmt.Errorf("%s: %w", v, err)
		}
		cfg.Guard = allowAll{}
		if b.explain[v], err = tenantdb.New(ctx, p, cfg); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// Close closes every connection.
func (b *RLSBench) Close() {
	for _, p := range b.raw {
		p.Close()
	}
}

// stripSubSelect matches a helper call in its sub-select as PostgreSQL
// prints it in pg_policies: ( SELECT tenancy.f() AS f).
var stripSubSelect = regexp.MustCompile(`\( SELECT ([a-z_]+\.[a-z_]+\(\)) AS [a-z_]+\)`)

// naiveTables are the tables the queries read.
var naiveTables = []string{"appointments", "patients", "invoices", "payments"}

// makeNaive (re)makes the naive roles with fresh passwords and their
// policies, and returns their connection strings by role. The policies
// name only the naive roles, so the app role's are untouched.
func makeNaive(ctx context.Context, superuser string, conns Conns) (map[string]string, error) {
	conn, err := pgx.Connect(ctx, superuser)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	appCfg, err := pgx.ParseConfig(conns.App)
	if err != nil {
		return nil, err
	}
	app := appCfg.User
	out := map[string]string{}
	var stmts []string
	var dbName string
	if err := conn.QueryRow(ctx, "select current_database()").Scan(&dbName); err != nil {
		return nil, err
	}
	for _, role := range []string{naiveSettingRole, naiveHelpersRole, contextOnlyRole} {
		b := make([]byte, 16)
		_, _ = crand.Read(b)
		pw := hex.EncodeToString(b)
		var exists bool
		if err := conn.QueryRow(ctx, "select exists (select 1 from pg_roles where rolname = $1)", role).Scan(&exists); err != nil {
			return nil, err
		}
		verb := "CREATE"
		if exists {
			verb = "ALTER"
		}
		stmts = append(stmts,
			fmt.Sprintf("%s ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '%s'", verb, role, pw),
			fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s", pgx.Identifier{dbName}.Sanitize(), role),
			"GRANT USAGE ON SCHEMA public, tenancy TO "+role,
			"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tenancy TO "+role,
			"GRANT SELECT ON clinics, "+strings.Join(naiveTables, ", ")+" TO "+role,
		)
		out[role] = fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable",
			appCfg.Host, appCfg.Port, role, pw, appCfg.Database)
	}
	for _, t := range naiveTables {
		stmts = append(stmts,
			fmt.Sprintf("DROP POLICY IF EXISTS naive_setting ON %s", t),
			fmt.Sprintf("CREATE POLICY naive_setting ON %s FOR ALL TO %s USING (clinic_id = current_setting(%s)::uuid)",
				t, naiveSettingRole, quoteLiteral(rls.SettingTenantID)),
			fmt.Sprintf("DROP POLICY IF EXISTS context_only ON %s", t),
			fmt.Sprintf("CREATE POLICY context_only ON %s FOR ALL TO %s USING (true)", t, contextOnlyRole))
	}
	// Copies of the app role's policies on the same tables, helper calls
	// unwrapped.
	rows, err := conn.Query(ctx, `
		select tablename, policyname, permissive, cmd, coalesce(qual, ''), coalesce(with_check, '')
		from pg_policies where schemaname = 'public' and tablename = any($1) and $2 = any(roles)
		order by tablename, policyname`, naiveTables, app)
	if err != nil {
		return nil, err
	}
	type pol struct{ Table, Name, Permissive, Cmd, Qual, Check string }
	pols, err := pgx.CollectRows(rows, pgx.RowToStructByPos[pol])
	if err != nil {
		return nil, err
	}
	if len(pols) == 0 {
		return nil, errors.New("scale: no policies of the app role found: run the migrations first")
	}
	var existing []string
	rows, err = conn.Query(ctx, `select tablename || '.' || policyname from pg_policies
		where schemaname = 'public' and $1 = any(roles)`, naiveHelpersRole)
	if err != nil {
		return nil, err
	}
	if existing, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, err
	}
	for _, e := range existing {
		t, p, _ := strings.Cut(e, ".")
		stmts = append(stmts, fmt.Sprintf("DROP POLICY %s ON %s", pgx.Identifier{p}.Sanitize(), t))
	}
	for _, p := range pols {
		stmt := fmt.Sprintf("CREATE POLICY %s ON %s AS %s FOR %s TO %s", pgx.Identifier{"naive_" + p.Name}.Sanitize(), p.Table,
			p.Permissive, p.Cmd, naiveHelpersRole)
		if p.Qual != "" {
			stmt += " USING (" + stripSubSelect.ReplaceAllString(p.Qual, "$1") + ")"
		}
		if p.Check != "" {
			stmt += " WITH CHECK (" + stripSubSelect.ReplaceAllString(p.Check, "$1") + ")"
		}
		stmts = append(stmts, stmt)
	}
	for _, t := range naiveTables {
		stmts = append(stmts, "ANALYZE "+t) // no-op for the data; keeps plans comparable after policy changes
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return nil, fmt.Errorf("%s: %w", short(s), err)
		}
	}
	return out, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// benchAuth is the benchmark's authenticator: its principals are the
// generated clinics' owners, and only the benchmark's own pools accept
// them.
var benchAuth = tenancy.NewAuthenticator("dentalclinic-scale")

// principal is clinic n's owner.
func principal(ctx context.Context, n int) context.Context {
	return benchAuth.NewContext(ctx, tenancy.Principal{
		Kind: kinds.Staff, Tenant: ClinicID(n), Subject: StaffID(n, 0), Roles: []string{"owner", "dentist"},
	})
}

// run runs q for clinic n and day under variant v and returns a checksum
// of the rows (when sum is set) and their number.
func (b *RLSBench) run(ctx context.Context, v string, q Query, n int, day time.Time, sum bool) (uint64, int, error) {
	args := append([]any{ClinicID(n)}, q.Args(day)...)
	var rows pgx.Rows
	var err error
	if v == Baseline {
		rows, err = b.base.Query(ctx, q.SQL, args...)
	} else {
		rows, err = b.pools[v].Query(principal(ctx, n), q.SQL, args...)
	}
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	h := fnv.New64a()
	count := 0
	for rows.Next() {
		count++
		if sum {
			vals, err := rows.Values()
			if err != nil {
				return 0, 0, err
			}
			fmt.Fprintln(h, vals...)
		}
	}
	return h.Sum64(), count, rows.Err()
}

// Verify runs every query for clinics under every variant and fails
// unless all variants return exactly the baseline's rows, and at least
// one row.
func (b *RLSBench) Verify(ctx context.Context, clinics []int) error {
	for _, q := range Queries {
		for _, n := range clinics {
			day := DayOf(b.First, b.Days/2)
			want, count, err := b.run(ctx, Baseline, q, n, day, true)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", q.Name, Baseline, err)
			}
			if count == 0 {
				return fmt.Errorf("%s: clinic %d: the baseline returns no rows", q.Name, n)
			}
			for _, v := range Variants[1:] {
				got, c, err := b.run(ctx, v, q, n, day, true)
				if err != nil {
					return fmt.Errorf("%s, %s: %w", q.Name, v, err)
				}
				if got != want || c != count {
					return fmt.Errorf("%s, clinic %d: %s returns %d rows (checksum %x), the baseline %d (%x)", q.Name, n, v, c, got, count, want)
				}
			}
		}
	}
	return nil
}

// Result is the latency of one query under one variant.
type Result struct {
	Query, Variant string
	N              int
	P50, P99, Mean time.Duration
}

// Measure runs each query rounds times under every variant, iters times
// per round over random clinics and days (the same sequence for every
// variant, read once untimed first so that the cache favours none),
// alternating the variants' order between rounds so that noise on the
// shared machine falls on all of them alike.
func (b *RLSBench) Measure(ctx context.Context, rounds, iters int, progress io.Writer) ([]Result, error) {
	lat := map[[2]string][]time.Duration{}
	order := slices.Clone(Variants)
	for r := range rounds {
		for _, q := range Queries {
			// The round's clinics and days once, untimed, so that no
			// variant pays for reading them into the cache.
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for range iters {
				if _, _, err := b.run(ctx, Baseline, q, 1+rng.IntN(b.Clinics), DayOf(b.First, rng.IntN(max(b.Days, 1))), false); err != nil {
					return nil, err
				}
			}
			for _, v := range order {
				rng := rand.New(rand.NewPCG(uint64(r), 7))
				// One untimed query first: the connection's statement cache.
				if _, _, err := b.run(ctx, v, q, 1, b.First, false); err != nil {
					return nil, fmt.Errorf("%s, %s: %w", q.Name, v, err)
				}
				for range iters {
					n := 1 + rng.IntN(b.Clinics)
					day := DayOf(b.First, rng.IntN(max(b.Days, 1)))
					t := time.Now()
					if _, _, err := b.run(ctx, v, q, n, day, false); err != nil {
						return nil, fmt.Errorf("%s, %s: %w", q.Name, v, err)
					}
					k := [2]string{q.Name, v}
					lat[k] = append(lat[k], time.Since(t))
				}
			}
		}
		slices.Reverse(order)
		if progress != nil {
			fmt.Fprintf(progress, "  round %d of %d done\n", r+1, rounds)
		}
	}
	var out []Result
	for _, q := range Queries {
		for _, v := range Variants {
			d := lat[[2]string{q.Name, v}]
			slices.Sort(d)
			var sum time.Duration
			for _, x := range d {
				sum += x
			}
			out = append(out, Result{Query: q.Name, Variant: v, N: len(d), P50: pct(d, 50), P99: pct(d, 99), Mean: sum / time.Duration(max(len(d), 1))})
		}
	}
	return out, nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// PlanCount is how PostgreSQL planned one query's executions under one
// variant, summed over the variant's connections (pg_prepared_statements).
type PlanCount struct {
	Query, Variant  string
	Generic, Custom int64
}

// PlanCounts reads pg_prepared_statements on every idle connection of
// every variant: how many executions of each query used the cached
// generic plan and how many were planned again (custom plans). Run it
// after Measure, with nothing else using the connections.
func (b *RLSBench) PlanCounts(ctx context.Context) ([]PlanCount, error) {
	var out []PlanCount
	for _, v := range Variants {
		counts := map[string][2]int64{} // by the statement's words: generic, custom
		for _, c := range b.byRole[v].AcquireAllIdle(ctx) {
			err := preparedPlans(ctx, c.Conn(), counts)
			c.Release()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v, err)
			}
		}
		for _, q := range Queries {
			n := counts[strings.Join(strings.Fields(q.SQL), " ")]
			out = append(out, PlanCount{Query: q.Name, Variant: v, Generic: n[0], Custom: n[1]})
		}
	}
	return out, nil
}

// preparedPlans adds the connection's plan counts per prepared statement
// to counts.
func preparedPlans(ctx context.Context, c *pgx.Conn, counts map[string][2]int64) error {
	rows, err := c.Query(ctx, "select statement, generic_plans, custom_plans from pg_prepared_statements")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sql string
		var g, cu int64
		if err := rows.Scan(&sql, &g, &cu); err != nil {
			return err
		}
		k := strings.Join(strings.Fields(sql), " ")
		counts[k] = [2]int64{counts[k][0] + g, counts[k][1] + cu}
	}
	return rows.Err()
}

// Explain returns EXPLAIN (ANALYZE, BUFFERS) of q for clinic n under
// variant v.
func (b *RLSBench) Explain(ctx context.Context, v string, q Query, n int) (string, error) {
	day := DayOf(b.First, b.Days/2)
	args := append([]any{ClinicID(n)}, q.Args(day)...)
	sql := "EXPLAIN (ANALYZE, BUFFERS) " + q.SQL
	var rows pgx.Rows
	var err error
	if v == Baseline {
		rows, err = b.base.Query(ctx, sql, args...)
	} else {
		rows, err = b.explain[v].Query(principal(ctx, n), sql, args...)
	}
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// WriteResults writes results as a Markdown table per query with the
// ratios to the baseline.
func WriteResults(w io.Writer, results []Result) {
	var base Result
	for _, r := range results {
		if r.Variant == Baseline {
			base = r
			fmt.Fprintf(w, "\n%s (%d runs per variant)\n\n| variant | p50 | p99 | p50 ratio | p99 ratio |\n| --- | --- | --- | --- | --- |\n", r.Query, r.N)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2fx | %.2fx |\n", r.Variant, fmtDur(r.P50), fmtDur(r.P99),
			float64(r.P50)/float64(base.P50), float64(r.P99)/float64(base.P99))
	}
}

func fmtDur(d time.Duration) string {
	if d >= time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d µs", d.Microseconds())
}
