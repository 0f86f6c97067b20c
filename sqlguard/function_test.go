package sqlguard_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// dangerous are calls that reach outside the tenant's rows or the
// transaction, each as an application or an attacker would write it. None
// may be allowed by default.
var dangerous = []struct{ fn, sql string }{
	// SQL given as text, or whole relations by name.
	{"query_to_xml", "select query_to_xml('select * from patients', true, false, '')"},
	{"query_to_xmlschema", "select query_to_xmlschema('select * from patients', true, false, '')"},
	{"query_to_xml_and_xmlschema", "select query_to_xml_and_xmlschema('select * from patients', true, false, '')"},
	{"table_to_xml", "select table_to_xml('patients', true, false, '')"},
	{"cursor_to_xml", "select cursor_to_xml('c', 10, true, false, '')"},
	{"schema_to_xml", "select schema_to_xml('public', true, false, '')"},
	{"database_to_xml", "select database_to_xml(true, false, '')"},
	{"ts_rewrite", "select ts_rewrite('a'::tsquery, 'select name::tsquery, ''b''::tsquery from patients')"},
	{"ts_stat", "select * from ts_stat('select to_tsvector(name) from patients')"},
	{"dblink", "select * from dblink('dbname=x', 'select * from patients') as t(x text)"},
	{"dblink_exec", "select dblink_exec('dbname=x', 'delete from patients')"},
	{"public.dblink", "select * from public.dblink('dbname=x', 'select 1') as t(x int)"},
	// Other sessions.
	{"pg_stat_get_activity", "select query from pg_stat_get_activity(null)"},
	{"pg_stat_get_backend_activity", "select pg_stat_get_backend_activity(1)"},
	{"pg_stat_get_backend_idset", "select * from pg_stat_get_backend_idset()"},
	{"pg_blocking_pids", "select pg_blocking_pids(1)"},
	{"pg_safe_snapshot_blocking_pids", "select pg_safe_snapshot_blocking_pids(1)"},
	{"pg_lock_status", "select * from pg_lock_status()"},
	{"pg_backend_pid", "select pg_backend_pid()"},
	// The server's files.
	{"pg_read_file", "select pg_read_file('/etc/passwd')"},
	{"pg_catalog.pg_read_file", "select pg_catalog.pg_read_file('postgresql.conf')"},
	{"pg_read_binary_file", "select pg_read_binary_file('global/pg_control')"},
	{"pg_ls_dir", "select pg_ls_dir('.')"},
	{"pg_ls_logdir", "select * from pg_ls_logdir()"},
	{"pg_ls_waldir", "select * from pg_ls_waldir()"},
	{"pg_ls_tmpdir", "select * from pg_ls_tmpdir()"},
	{"pg_stat_file", "select pg_stat_file('postgresql.conf')"},
	// Large objects.
	{"lo_import", "select lo_import('/etc/passwd')"},
	{"lo_export", "select lo_export(1, '/tmp/x')"},
	{"lo_get", "select lo_get(16385)"},
	{"lo_open", "select lo_open(16385, 262144)"},
	{"loread", "select loread(0, 100)"},
	{"lo_from_bytea", "select lo_from_bytea(0, 'x')"},
	{"lo_unlink", "select lo_unlink(16385)"},
	// Cluster-wide statistics and sizes.
	{"pg_stat_get_numscans", "select pg_stat_get_numscans('patients'::regclass)"},
	{"pg_stat_get_live_tuples", "select pg_stat_get_live_tuples('patients'::regclass)"},
	{"pg_stat_get_db_xact_commit", "select pg_stat_get_db_xact_commit(1)"},
	{"pg_database_size", "select pg_database_size(current_database())"},
	{"pg_relation_size", "select pg_relation_size('patients')"},
	{"pg_table_size", "select pg_table_size('patients')"},
	{"pg_total_relation_size", "select pg_total_relation_size('patients')"},
	{"pg_indexes_size", "select pg_indexes_size('patients')"},
	{"pg_stat_reset", "select pg_stat_reset()"},
	{"pg_stat_statements_reset", "select pg_stat_statements_reset()"},
	// Sequences, by name.
	{"nextval", "select nextval('invoice_numbers')"},
	{"currval", "select currval('invoice_numbers')"},
	{"setval", "select setval('invoice_numbers', 1)"},
	{"lastval", "select lastval()"},
	// Settings and catalog reads.
	{"current_setting", "select current_setting('tenancy.tenant_id')"},
	{"pg_catalog.current_setting", "select pg_catalog.current_setting('data_directory')"},
	{"pg_get_viewdef", "select pg_get_viewdef('patients_view')"},
	{"has_table_privilege", "select has_table_privilege('patients', 'select')"},
	{"to_regclass", "select to_regclass('secrets')"},
	{"version", "select version()"},
	{"txid_current", "select txid_current()"},
	{"pg_current_xact_id", "select pg_current_xact_id()"},
	// State beyond the transaction, and other sessions.
	{"pg_advisory_lock", "select pg_advisory_lock(1)"},
	{"pg_advisory_lock_shared", "select pg_advisory_lock_shared(1)"},
	{"pg_try_advisory_lock", "select pg_try_advisory_lock(1)"},
	{"pg_advisory_unlock", "select pg_advisory_unlock(1)"},
	{"pg_advisory_unlock_all", "select pg_advisory_unlock_all()"},
	{"pg_sleep", "select pg_sleep(10)"},
	{"pg_sleep_for", "select pg_sleep_for('1 minute')"},
	{"pg_sleep_until", "select pg_sleep_until('tomorrow')"},
	{"pg_notify", "select pg_notify('c', 'x')"},
	{"setseed", "select setseed(0.5)"},
	{"pg_terminate_backend", "select pg_terminate_backend(1)"},
	{"pg_cancel_backend", "select pg_cancel_backend(1)"},
	{"pg_reload_conf", "select pg_reload_conf()"},
	{"pg_rotate_logfile", "select pg_rotate_logfile()"},
	{"pg_switch_wal", "select pg_switch_wal()"},
	{"pg_logical_emit_message", "select pg_logical_emit_message(true, 'x', 'y')"},
	{"pg_export_snapshot", "select pg_export_snapshot()"},
	// Functions the model does not declare.
	{"public.f", "select public.f()"},
	{"f", "select f()"},
	{"app.refresh", "select * from patients where clinic_id = $1 and app.refresh(id)"},
	{"LOWER", `select "LOWER"('x')`},
}

// TestCheckFunctionsRefused: each dangerous function is refused by the
// function rule, which names it, wherever the call is.
func TestCheckFunctionsRefused(t *testing.T) {
	g := newGuard(t, sqlguard.Config{})
	var tests []guardTest
	for _, d := range dangerous {
		at := d.fn
		if strings.HasPrefix(d.fn, "public.") || strings.HasPrefix(d.fn, "pg_catalog.") || strings.HasPrefix(d.fn, "app.") {
			at = d.fn[:strings.Index(d.fn, ".")]
		}
		if d.fn == "LOWER" {
			at = `"LOWER"`
		}
		tests = append(tests, guardTest{name: d.fn, sql: d.sql, rule: sqlguard.RuleFunction, at: at, fn: d.fn})
	}
	runGuardTests(t, g, tests)
	runGuardTests(t, g, []guardTest{
		{name: "in a scoped query", sql: "select pg_sleep(1) from patients where clinic_id = $1", rule: sqlguard.RuleFunction, at: "pg_sleep", fn: "pg_sleep"},
		{name: "in where", sql: "select * from patients where clinic_id = $1 and pg_sleep(1) is not null", rule: sqlguard.RuleFunction, at: "pg_sleep", fn: "pg_sleep"},
		{name: "in a sub-query", sql: "select (select pg_read_file('x'))", rule: sqlguard.RuleFunction, at: "pg_read_file", fn: "pg_read_file"},
		{name: "in insert values", sql: "insert into patients (clinic_id, id, name) values ($1, $3, pg_read_file('x'))", rule: sqlguard.RuleFunction, at: "pg_read_file", fn: "pg_read_file"},
		{name: "in update set", sql: "update patients set name = current_setting('x') where clinic_id = $1", rule: sqlguard.RuleFunction, at: "current_setting", fn: "current_setting"},
		{name: "in returning", sql: "delete from patients where clinic_id = $1 returning pg_backend_pid()", rule: sqlguard.RuleFunction, at: "pg_backend_pid", fn: "pg_backend_pid"},
		{name: "in order by", sql: "select * from patients where clinic_id = $1 order by pg_sleep(1)", rule: sqlguard.RuleFunction, at: "pg_sleep", fn: "pg_sleep"},
		{name: "in a cte", sql: "with x as (select version()) select * from x", rule: sqlguard.RuleFunction, at: "version", fn: "version"},
		{name: "as an argument of an allowed one", sql: "select lower(pg_read_file('x'))", rule: sqlguard.RuleFunction, at: "pg_read_file", fn: "pg_read_file"},
		{name: "in a lateral function", sql: "select * from patients p, lateral pg_ls_dir(p.name) d where p.clinic_id = $1", rule: sqlguard.RuleFunction, at: "pg_ls_dir", fn: "pg_ls_dir"},
	})
}

// TestCheckFunctionsAllowed: the safe built-ins, the helpers and the
// functions the model declares are allowed; SQL inside a string argument
// of an allowed function is data, not a statement.
func TestCheckFunctionsAllowed(t *testing.T) {
	m := testModel(t, rls.Config{Functions: []string{"app.slugify", "public.unaccent"}})
	runGuardTests(t, newGuard(t, sqlguard.Config{Model: m}), []guardTest{
		{name: "string", sql: "select lower(name), upper(name), concat_ws(' ', name, 'x'), format('%s', name), left(name, 3) from patients where clinic_id = $1"},
		{name: "sql-syntax functions", sql: "select trim(both from name), substring(name from 2 for 3), position('a' in name), overlay(name placing 'x' from 1), extract(year from now()) from patients where clinic_id = $1"},
		{name: "qualified built-in", sql: "select pg_catalog.lower(name) from patients where clinic_id = $1"},
		{name: "aggregates and windows", sql: "select count(*), max(name), string_agg(name, ','), row_number() over (order by name) from patients where clinic_id = $1 group by name"},
		{name: "json", sql: "select jsonb_build_object('n', name), to_jsonb(p), jsonb_path_query_array(to_jsonb(p), '$.name') from patients p where clinic_id = $1"},
		{name: "dates", sql: "select date_trunc('day', now()), age(now(), now() - interval '1 day'), make_date(2024, 1, 1), to_char(now(), 'YYYY')"},
		{name: "arrays and ranges", sql: "select array_length(array[1, 2], 1), unnest(array[1]), tstzrange(now(), now() + interval '1 hour'), generate_series(1, 3)"},
		{name: "uuid", sql: "insert into patients (clinic_id, id, name) values ($1, gen_random_uuid(), 'x')"},
		{name: "text search", sql: "select ts_rank(to_tsvector('simple', name), websearch_to_tsquery('simple', $3)) from patients where clinic_id = $1"},
		{name: "transaction advisory lock on a hashed key", sql: "select pg_advisory_xact_lock(hashtextextended('x' || $3, 0))"},
		{name: "transaction advisory locks", sql: "select pg_advisory_xact_lock(1), pg_try_advisory_xact_lock(1, 2), pg_advisory_xact_lock_shared(3)"},
		{name: "helpers", sql: "select tenancy.current_tenant_id(), tenancy.current_subject_id(), tenancy.current_roles()"},
		{name: "declared, qualified", sql: "select app.slugify(name) from patients where clinic_id = $1"},
		{name: "declared, unqualified", sql: "select slugify(name), unaccent(name) from patients where clinic_id = $1"},
		{name: "declared in another schema", sql: "select public.slugify(name) from patients where clinic_id = $1",
			rule: sqlguard.RuleFunction, at: "public", fn: "public.slugify"},
		{name: "sql in a string", sql: "select lower('select * from patients; select pg_read_file(''x'')')"},
		{name: "sql in a dollar-quoted string", sql: "select length($$delete from patients$$), $q$ select query_to_xml('x', true, true, '') $q$"},
		{name: "casts of any type", sql: "select '1'::int, now()::date, name::text, 'patients'::regclass, '{}'::jsonb from patients where clinic_id = $1"},
		{name: "coalesce and friends are not functions", sql: "select coalesce(name, 'x'), nullif(name, ''), greatest(1, 2), least(1, 2), current_date, current_user from patients where clinic_id = $1"},
	})
}

// TestCheckOperators: OPERATOR(schema.op) is allowed for pg_catalog only,
// wherever an operator may be named.
func TestCheckOperators(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		{name: "pg_catalog", sql: "select * from patients where clinic_id = $1 and name operator(pg_catalog.=) $3"},
		{name: "other schema", sql: "select * from patients where clinic_id = $1 and name operator(public.=) $3",
			rule: sqlguard.RuleOperator, at: "operator", fn: "public.="},
		{name: "other schema, prefix operator", sql: "select operator(public.-) 1",
			rule: sqlguard.RuleOperator, at: "operator", fn: "public.-"},
		{name: "in any", sql: "select * from patients where clinic_id = $1 and name operator(app.~~) any (select 'x')",
			rule: sqlguard.RuleOperator, at: "operator", fn: "app.~~"},
		{name: "in order by using", sql: "select * from patients where clinic_id = $1 order by name using operator(public.<)",
			rule: sqlguard.RuleOperator, at: "operator", fn: "public.<"},
		{name: "unqualified", sql: "select * from patients where clinic_id = $1 and name ~~ $3 and name || 'x' <> 'y'"},
	})
}

// TestSafeFunctionsExist: every function of the default allowed set
// exists in pg_catalog of the server the tests run on (PostgreSQL 15 in
// CI), so the list cannot hold a name that means nothing, or one that a
// later release gives to something else without anyone looking again.
func TestSafeFunctionsExist(t *testing.T) {
	db := pgtest.New(t)
	conn := db.Conn(t, pgtest.App)
	var version int
	if err := conn.QueryRow(context.Background(), "select current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 150000 {
		t.Fatalf("server version %d: the allowed set is checked against PostgreSQL 15 or later", version)
	}
	t.Logf("server version %d", version)
	rows, err := conn.Query(context.Background(), `select distinct proname from pg_catalog.pg_proc where pronamespace = 'pg_catalog'::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	have, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	safe := sqlguard.SafeFunctions()
	if len(safe) < 200 {
		t.Fatalf("SafeFunctions() has %d names, want the whole set", len(safe))
	}
	for _, f := range safe {
		if !slices.Contains(have, f) {
			t.Errorf("SafeFunctions() has %q, which pg_catalog of this server does not", f)
		}
	}
	for _, d := range dangerous {
		if slices.Contains(safe, d.fn) {
			t.Errorf("SafeFunctions() has %q", d.fn)
		}
	}
}

// TestCheckHelperSchemaIsNotAllowList: the helpers that rls.Generate makes
// are allowed, not every function someone adds to their schema.
func TestCheckHelperSchemaIsNotAllowList(t *testing.T) {
	g := newGuard(t, sqlguard.Config{})
	args := []any{tenantA}
	if err := g.Check("select name from patients where clinic_id = (select tenancy.current_tenant_id()) and id = $1", []any{"x"}, tenantA); err != nil {
		t.Errorf("the tenant helper: %v", err)
	}
	err := g.Check("select tenancy.run_as_owner($1)", args, tenantA)
	var r *sqlguard.RefusalError
	if !errors.As(err, &r) || r.Rule != sqlguard.RuleFunction || r.Func != "tenancy.run_as_owner" {
		t.Errorf("a function added to the helper schema: %v, want a function refusal naming tenancy.run_as_owner", err)
	}
}
