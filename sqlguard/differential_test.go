package sqlguard_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy/internal/pgparse"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// schemaSQL is the differential test's schema (testTables): tenant tables
// scoped by clinic_id (one in another schema, one with a quoted mixed-case
// name) and by columns of their own (orgs.id, tasks."tenantId",
// attachments.organization_id, task_tags.tenant_id), registries, a
// private table, and the helper. There is no row-level security, so every statement the
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
create table orgs (id uuid primary key, name text not null);
create table tasks ("tenantId" uuid not null, id uuid not null, parent_id uuid, title text not null, primary key ("tenantId", id));
create table attachments (organization_id uuid not null, id uuid not null, task_id uuid, name text, primary key (organization_id, id));
create table task_tags (tenant_id uuid not null, id uuid not null, tag text, primary key (tenant_id, id));
create table plans (id text primary key, name text);
create table secrets (id int primary key, secret text);
insert into plans values ('basic', 'Basic');
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
		fmt.Fprintf(&b, "insert into tasks values (%s, %s, null, %s);\n", tenant, id(400+i), text(fmt.Sprint("task", i)))
		fmt.Fprintf(&b, "insert into attachments values (%s, %s, %s, %s);\n", tenant, id(500+i), id(400+i), text(fmt.Sprint("file", i)))
		fmt.Fprintf(&b, "insert into task_tags values (%s, %s, %s);\n", tenant, id(600+i), text(fmt.Sprint("tag", i)))
	}
	fmt.Fprintf(&b, "insert into orgs values (%s, %s);\n", tenant, text("org"))
	return b.String()
}

var bMarkers = []string{"-secret-b", "0190a8c0-0000-7000-8000-0000000b"}

const deleteB = `
delete from appointments where clinic_id = '0190a8c0-0000-7000-8000-00000000000b';
delete from patients where clinic_id = '0190a8c0-0000-7000-8000-00000000000b';
delete from clinic.invoices where clinic_id = '0190a8c0-0000-7000-8000-00000000000b';
delete from "Notes" where clinic_id = '0190a8c0-0000-7000-8000-00000000000b';
delete from tasks where "tenantId" = '0190a8c0-0000-7000-8000-00000000000b';
delete from attachments where organization_id = '0190a8c0-0000-7000-8000-00000000000b';
delete from task_tags where tenant_id = '0190a8c0-0000-7000-8000-00000000000b';
delete from orgs where id = '0190a8c0-0000-7000-8000-00000000000b'`

// fingerprintB summarises tenant B's rows, to see any write to them.
const fingerprintB = `select concat_ws('|',
  (select string_agg(t::text, ',' order by t::text) from patients t where clinic_id = $1),
  (select string_agg(t::text, ',' order by t::text) from appointments t where clinic_id = $1),
  (select string_agg(t::text, ',' order by t::text) from clinic.invoices t where clinic_id = $1),
  (select string_agg(t::text, ',' order by t::text) from "Notes" t where clinic_id = $1),
  (select string_agg(t::text, ',' order by t::text) from tasks t where "tenantId" = $1),
  (select string_agg(t::text, ',' order by t::text) from attachments t where organization_id = $1),
  (select string_agg(t::text, ',' order by t::text) from task_tags t where tenant_id = $1),
  (select string_agg(t::text, ',' order by t::text) from orgs t where id = $1))`

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
	if _, err := tx.Exec(ctx, "select set_config('tenancy.tenant_id', '"+tenantA.String()+"', true)"); err != nil {
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
	// Only the statement under test is bounded: the fixture's statements
	// (deleting B, the fingerprints) may take longer on a loaded machine.
	if _, err := tx.Exec(ctx, "set local statement_timeout = '300ms'; savepoint s"); err != nil {
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
	if _, err := tx.Exec(ctx, "set local statement_timeout = 0"); err != nil {
		t.Fatalf("statement_timeout: %v", err)
	}
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
// 'x', $4 an array holding tenant A), as many as sql uses, as the guard
// sees them and in the text form sent to the database; ok is false when
// sql uses others.
func argsFor(sql string) (guard, db []any, ok bool) {
	guard = []any{tenantA.String(), tenantB.String(), "x", []string{tenantA.String()}}
	db = []any{tenantA.String(), tenantB.String(), "x", "{" + tenantA.String() + "}"}
	max := 0
	tree, err := pgparse.Parse(sql)
	if err != nil {
		return nil, nil, false
	}
	ok = true
	maxParam(tree, &max, &ok, nil)
	if !ok || max > len(guard) {
		return nil, nil, false
	}
	return guard[:max], db[:max], true
}

// A signature is one function of pg_catalog that the guard allows, with
// its argument types, as the server knows it.
type signature struct {
	name   string
	kind   string // f, a (aggregate) or w (window)
	params []string
}

// allowedSignatures returns every overload of every function of
// SafeFunctions that SQL can call with arguments written as constants.
func allowedSignatures(t testing.TB, conn *pgx.Conn) []signature {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
		select p.proname, p.prokind::text,
		       array(select pg_catalog.format_type(a, null) from unnest(p.proargtypes::oid[]) with ordinality u(a, i) order by i)
		from pg_catalog.pg_proc p
		where p.pronamespace = 'pg_catalog'::regnamespace and p.proname = any($1) and p.prokind in ('f', 'a', 'w')
		order by 1, 3`, sqlguard.SafeFunctions())
	if err != nil {
		t.Fatal(err)
	}
	var out []signature
	for rows.Next() {
		var s signature
		if err := rows.Scan(&s.name, &s.kind, &s.params); err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(s.params, func(p string) bool {
			return p == "internal" || p == "cstring" || p == "trigger" || p == "\"char\""
		}) {
			out = append(out, s)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 300 {
		t.Fatalf("%d signatures of allowed functions, want all of them", len(out))
	}
	return out
}

// call writes a call of s with every argument the constant arg, cast to
// the parameter's type (text for the polymorphic ones).
func (s signature) call(arg string) string {
	args := make([]string, len(s.params))
	for i, p := range s.params {
		if strings.HasPrefix(p, "any") || p == `"any"` || p == "record" {
			p = "text"
		}
		args[i] = arg + "::" + p
	}
	// Qualified and quoted: some names (time, position) are keywords.
	c := `pg_catalog."` + s.name + `"(` + strings.Join(args, ", ") + ")"
	if s.kind == "w" {
		c += " over ()"
	}
	return "select " + c
}

// quoteText writes text as a string constant: dollar-quoted when dollar
// is set and it can be, else in single quotes. It reports false for text
// that no constant can hold (NUL, invalid UTF-8).
func quoteText(text string, dollar bool) (string, bool) {
	if strings.ContainsRune(text, 0) || !utf8.ValidString(text) {
		return "", false
	}
	if dollar && !strings.Contains(text, "$q") && !strings.HasSuffix(text, "$") {
		return "$q$" + text + "$q$", true
	}
	return "'" + strings.ReplaceAll(text, "'", "''") + "'", true
}

// sqlInText are statements that read or change tenant B's rows, for the
// fuzzers to hide inside string arguments.
var sqlInText = []string{
	"select * from patients",
	"select name from patients where clinic_id = '" + litB + "'",
	"select 'x'::tsquery, quote_literal(name)::tsquery from patients order by name desc",
	"select string_agg(name, ',') from patients",
	"delete from patients",
	"update appointments set note = 'x'",
	"select query_to_xml('select * from patients', true, false, '')",
	"select * from tasks; select * from attachments",
	"$$select title from tasks$$",
	litB,
	`{"a": "select * from patients"}`,
	"a & b",
	"1",
}

// fuzzStatement is the statement one fuzz input stands for: sql itself,
// a call of one allowed function (chosen by pick) with text as every
// argument, or a scoped read that compares a column with text.
func fuzzStatement(sql string, pick uint16, text string, dollar bool, calls []signature) (string, bool) {
	switch pick % 3 {
	case 0:
		return sql, true
	case 1:
		q, ok := quoteText(text, dollar)
		return calls[int(pick/3)%len(calls)].call(q), ok
	}
	q, ok := quoteText(text, dollar)
	return "select name from patients where clinic_id = $1 and name <> " + q, ok
}

// FuzzGuardDifferential checks the guard against a real database: every
// statement it accepts for tenant A, run with tenant B's rows present and
// nothing but the guard in the way, returns and changes only what it
// would without them. Besides the seed statements and their mutations,
// it generates calls of every pg_catalog function the guard allows (each
// overload, as the server lists it) with SQL inside string and
// dollar-quoted arguments, and scoped reads that compare a column with
// such a string. Mutated statements are cheap to reject, so only accepted
// ones reach the database, each with a 300 ms statement_timeout.
func FuzzGuardDifferential(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s, uint16(0), "", false)
	}
	for i, s := range sqlInText {
		f.Add("", uint16(3*i*37+1), s, i%2 == 0)
		f.Add("", uint16(3*i+2), s, i%2 == 1)
	}
	d := newDifferential(f)
	calls := allowedSignatures(f, d.conn)
	for i, c := range calls {
		if c.name == "format" || c.name == "concat" || c.name == "to_tsquery" || c.name == "jsonb_path_query" {
			f.Add("", uint16(3*i+1), sqlInText[i%len(sqlInText)], i%2 == 0)
		}
	}
	g := newGuard(f, sqlguard.Config{})
	f.Fuzz(func(t *testing.T, sql string, pick uint16, text string, dollar bool) {
		sql, ok := fuzzStatement(sql, pick, text, dollar, calls)
		if !ok {
			return
		}
		args, dbArgs, ok := argsFor(sql)
		if !ok {
			return
		}
		if err := g.Check(sql, args, tenantA); err != nil {
			return
		}
		if _, leak := d.check(t, sql, dbArgs); leak != nil {
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
		"select t.title from tasks t, attachments a where a.organization_id = $1",
		`select name from attachments where organization_id <> $1`,
		// Functions that run the SQL in their text argument.
		"select ts_rewrite('x'::tsquery, 'select ''x''::tsquery, quote_literal(name)::tsquery from patients order by name desc')",
		"select query_to_xml('select name from patients', true, false, '')",
	} {
		args, dbArgs, _ := argsFor(sql)
		if err := g.Check(sql, args, tenantA); !errors.Is(err, sqlguard.ErrRefused) {
			t.Errorf("Check(%q) = %v, want a refusal", sql, err)
		}
		if _, leak := d.check(t, sql, dbArgs); leak == nil {
			t.Errorf("check(%q) found no leak; the differential test is blind to it", sql)
		}
	}
	accepted, ran := 0, 0
	for _, sql := range seeds(t) {
		args, dbArgs, ok := argsFor(sql)
		if !ok || g.Check(sql, args, tenantA) != nil {
			continue
		}
		accepted++
		ok, leak := d.check(t, sql, dbArgs)
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

	// Every overload of every allowed function, with SQL that reads tenant
	// B's rows as its text arguments: accepted, and reading nothing of B.
	calls := allowedSignatures(t, d.conn)
	ran = 0
	for i, c := range calls {
		q, _ := quoteText(sqlInText[i%len(sqlInText)], i%2 == 0)
		sql := c.call(q)
		if err := g.Check(sql, nil, tenantA); err != nil {
			t.Errorf("Check(%q) = %v, want nil: the function is allowed", sql, err)
			continue
		}
		ok, leak := d.check(t, sql, nil)
		if leak != nil {
			t.Errorf("allowed function: %v", leak)
		}
		if ok {
			ran++
		}
	}
	t.Logf("%d calls of allowed functions with SQL in their arguments, %d ran without error", len(calls), ran)
	if ran < 100 {
		t.Errorf("%d of %d calls ran without error; want at least 100, or the check proves little", ran, len(calls))
	}
}
