package sqlguard_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/mydentalpractice/tenancy/internal/pgtest"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// schemaSQL is the differential test's schema: four tenant tables (one in
// another schema, one with a quoted mixed-case name), a global registry,
// and the helper. There is no row-level security, so every statement the
// guard accepts runs with nothing else between it and tenant B's rows.
const schemaSQL = `
create schema clinic;
create schema tenancy;
create function tenancy.current_tenant_id() returns uuid language sql stable
  as $$ select nullif(current_setting('tenancy.tenant_id', true), '')::uuid $$;
create table clinics (id uuid primary key, name text not null);
create table patients (
  clinic_id uuid not null, id uuid not null, name text not null,
  primary key (clinic_id, id));
create table appointments (
  clinic_id uuid not null, id uuid not null, patient_id uuid not null, note text,
  primary key (clinic_id, id),
  foreign key (clinic_id, patient_id) references patients (clinic_id, id));
create table clinic.invoices (
  clinic_id uuid not null, id uuid not null, patient_id uuid, amount int not null,
  primary key (clinic_id, id));
create table "Notes" (clinic_id uuid not null, id uuid not null, body text, primary key (clinic_id, id));
`

// seedData gives each tenant rows in every tenant table. Tenant B's row
// ids and texts carry the bMarkers, so that a leak of any of its values
// into a result is seen. (Tenant B's own id is not a marker: it is a
// parameter, and the clinics registry is global.)
func seedData(c rune) string {
	id := func(n int) string { return fmt.Sprintf("'0190a8c0-0000-7000-8000-0000000%c%04d'", c, n) }
	tenant := fmt.Sprintf("'0190a8c0-0000-7000-8000-00000000000%c'", c)
	text := func(s string) string {
		if c == 'b' {
			return "'" + s + "-secret-b'"
		}
		return "'" + s + "-a'"
	}
	var b strings.Builder
	// The registry is global: its rows are not tenant B's data.
	fmt.Fprintf(&b, "insert into clinics values (%s, 'clinic %c');\n", tenant, c)
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&b, "insert into patients values (%s, %s, %s);\n", tenant, id(i), text(fmt.Sprint("patient", i)))
		fmt.Fprintf(&b, "insert into appointments values (%s, %s, %s, %s);\n", tenant, id(100+i), id(i), text(fmt.Sprint("note", i)))
		fmt.Fprintf(&b, "insert into clinic.invoices values (%s, %s, %s, %d);\n", tenant, id(200+i), id(i), i*100)
		fmt.Fprintf(&b, "insert into \"Notes\" values (%s, %s, %s);\n", tenant, id(300+i), text(fmt.Sprint("body", i)))
	}
	return b.String()
}

var bMarkers = []string{"-secret-b", "0190a8c0-0000-7000-8000-0000000b"}

const deleteB = `
delete from appointments where clinic_id = '0190a8c0-0000-7000-8000-00000000000b';
delete from patients where clinic_id = '0190a8c0-0000-7000-8000-00000000000b';
delete from clinic.invoices where clinic_id = '0190a8c0-0000-7000-8000-00000000000b';
delete from "Notes" where clinic_id = '0190a8c0-0000-7000-8000-00000000000b'`

// fingerprintB summarises tenant B's rows, to see any write to them.
const fingerprintB = `select concat_ws('|',
  (select string_agg(t::text, ',' order by t::text) from patients t where clinic_id = $1),
  (select string_agg(t::text, ',' order by t::text) from appointments t where clinic_id = $1),
  (select string_agg(t::text, ',' order by t::text) from clinic.invoices t where clinic_id = $1),
  (select string_agg(t::text, ',' order by t::text) from "Notes" t where clinic_id = $1))`

// differential runs statements the guard accepted against the test
// schema, as the owner (no row-level security), and reports leaks.
type differential struct {
	conn *pgx.Conn
}

func newDifferential(t testing.TB) *differential {
	t.Helper()
	db := pgtest.New(t)
	if db == nil {
		return nil
	}
	db.Exec(t, pgtest.Owner, schemaSQL+seedData('a')+seedData('b'))
	d := &differential{conn: db.Conn(t, pgtest.Owner)}
	// The data the guard must keep out of reach exists.
	var n int
	if err := d.conn.QueryRow(context.Background(),
		`select count(*) from patients where clinic_id = $1`, tenantB).Scan(&n); err != nil || n != 3 {
		t.Fatalf("tenant B's patients: %d, %v; want 3", n, err)
	}
	return d
}

// outcome is what one run of a statement produced.
type outcome struct {
	rows    []string // sorted
	err     string   // SQLSTATE, or "" on success
	timeout bool
	bAfter  string // tenant B's fingerprint after the statement
}

// run executes sql in a transaction that is rolled back. Without B, tenant
// B's rows are deleted first.
func (d *differential) run(t *testing.T, sql string, args []any, withB bool) (outcome, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tx, err := d.conn.Begin(ctx)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "set local statement_timeout = '300ms'; select set_config('tenancy.tenant_id', '"+tenantA.String()+"', true)"); err != nil {
		t.Fatalf("context: %v", err)
	}
	if !withB {
		if _, err := tx.Exec(ctx, deleteB); err != nil {
			t.Fatalf("deleting B: %v", err)
		}
	}
	var before string
	if err := tx.QueryRow(ctx, fingerprintB, tenantB).Scan(&before); err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
	var out outcome
	if _, err := tx.Exec(ctx, "savepoint s"); err != nil {
		t.Fatalf("savepoint: %v", err)
	}
	// ExecParams declares the type of each parameter the statement does
	// not use (text), so that one can be left out as it would be by an
	// application, and returns values in text form (canonical uuids).
	values := make([][]byte, len(args))
	oids := make([]uint32, len(args))
	for i, a := range args {
		values[i] = []byte(a.(string))
		if !usesParam(sql, i+1) {
			oids[i] = 25
		}
	}
	res := tx.Conn().PgConn().ExecParams(ctx, sql, values, oids, nil, nil).Read()
	err = res.Err
	if err == nil {
		for _, row := range res.Rows {
			var cells []string
			for i, fd := range res.FieldDescriptions {
				v := "NULL"
				if row[i] != nil {
					v = string(row[i])
				}
				cells = append(cells, fd.Name+"="+v)
			}
			out.rows = append(out.rows, strings.Join(cells, ","))
		}
	}
	if err != nil {
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe):
			out.err = pe.Code
			out.timeout = pe.Code == "57014"
		default:
			out.err = "client: " + err.Error()
		}
		if _, err := tx.Exec(ctx, "rollback to savepoint s"); err != nil {
			t.Fatalf("rollback to savepoint: %v", err)
		}
	}
	slices.Sort(out.rows)
	if err := tx.QueryRow(ctx, fingerprintB, tenantB).Scan(&out.bAfter); err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
	return out, before
}

// check runs an accepted statement with and without tenant B's rows and
// returns an error when B's data shows: in a result, in a changed result,
// or in a changed row of B. It also says whether the statement ran
// without error.
func (d *differential) check(t *testing.T, sql string, args []any) (ran bool, leak error) {
	t.Helper()
	with1, beforeB := d.run(t, sql, args, true)
	if with1.timeout {
		return false, nil
	}
	if with1.bAfter != beforeB {
		return false, fmt.Errorf("%q changed tenant B's rows:\nbefore %s\nafter  %s", sql, beforeB, with1.bAfter)
	}
	for _, row := range with1.rows {
		for _, m := range bMarkers {
			// A marker the statement spells out itself proves nothing.
			if strings.Contains(row, m) && !strings.Contains(strings.ToLower(sql), m) {
				return false, fmt.Errorf("%q returned tenant B's data: %s", sql, row)
			}
		}
	}
	with2, _ := d.run(t, sql, args, true)
	if with2.timeout || !slices.Equal(with1.rows, with2.rows) || with1.err != with2.err {
		return false, nil // not deterministic: the comparison below would mean nothing
	}
	without, _ := d.run(t, sql, args, false)
	if without.timeout {
		return false, nil
	}
	if !slices.Equal(with1.rows, without.rows) || with1.err != without.err {
		return false, fmt.Errorf("%q depends on tenant B's rows:\nwith B:    %q %s\nwithout B: %q %s",
			sql, with1.rows, with1.err, without.rows, without.err)
	}
	return with1.err == "", nil
}

// argsFor returns the test's parameters ($1 tenant A, $2 tenant B, $3
// 'x'), as many as sql uses, or ok false when it uses others.
func argsFor(sql string) ([]any, bool) {
	all := []any{tenantA.String(), tenantB.String(), "x"}
	max := 0
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, false
	}
	ok := true
	maxParam(tree, &max, &ok, nil)
	if !ok || max > len(all) {
		return nil, false
	}
	return all[:max], true
}

// FuzzGuardDifferential checks the guard against a real database: every
// statement it accepts for tenant A, run with tenant B's rows present and
// nothing but the guard in the way, returns and changes only what it
// would without them. Mutated statements are cheap to reject, so only
// accepted ones reach the database, each with a 300 ms statement_timeout.
func FuzzGuardDifferential(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	d := newDifferential(f)
	g := newGuard(f, sqlguard.Config{})
	f.Fuzz(func(t *testing.T, sql string) {
		args, ok := argsFor(sql)
		if !ok {
			return
		}
		if err := g.Check(sql, args, tenantA); err != nil {
			return
		}
		if _, leak := d.check(t, sql, args); leak != nil {
			t.Fatalf("accepted for tenant A: %v", leak)
		}
	})
}

// TestDifferential proves the differential check can fail: statements the
// guard refuses, run anyway, are caught leaking. And it proves that most
// accepted seeds are valid SQL that runs, so the fuzz target's property is
// not met by errors alone.
func TestDifferential(t *testing.T) {
	d := newDifferential(t)
	g := newGuard(t, sqlguard.Config{})
	for _, sql := range []string{
		"select * from patients",
		"select count(*) from appointments",
		"select name from patients where clinic_id = $1 or true",
		"update patients set name = 'x' where clinic_id = $2",
		"select p.name from patients p left join appointments a on a.clinic_id = $1 and a.patient_id = p.id",
		"select p.name from appointments a, patients p where a.clinic_id = $1",
		"insert into patients (clinic_id, id, name) values ($2, gen_random_uuid(), 'x')",
		`SELECT "p"."name" FROM "patients" AS "p" WHERE (p.clinic_id = '` + litB + `')`,
		`DELETE FROM "appointments" AS "a" WHERE (a.clinic_id = '` + litB + `'::uuid)`,
	} {
		args, _ := argsFor(sql)
		if err := g.Check(sql, args, tenantA); !errors.Is(err, sqlguard.ErrRefused) {
			t.Errorf("Check(%q) = %v, want a refusal", sql, err)
		}
		if _, leak := d.check(t, sql, args); leak == nil {
			t.Errorf("check(%q) found no leak; the differential test is blind to it", sql)
		}
	}
	accepted, ran := 0, 0
	for _, sql := range seeds(t) {
		args, ok := argsFor(sql)
		if !ok || g.Check(sql, args, tenantA) != nil {
			continue
		}
		accepted++
		ok, leak := d.check(t, sql, args)
		if leak != nil {
			t.Errorf("accepted for tenant A: %v", leak)
		}
		if ok {
			ran++
		} else {
			t.Logf("accepted but failed: %s", sql)
		}
	}
	t.Logf("%d seeds accepted, %d of them ran without error", accepted, ran)
	if accepted < 40 || ran < accepted*9/10 {
		t.Errorf("%d seeds accepted, %d ran without error; want at least 40, and 90%% running", accepted, ran)
	}
}
