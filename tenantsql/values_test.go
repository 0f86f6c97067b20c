package tenantsql_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/mydentalpractice/tenancy/pgtest"
)

// TestValuesAsStdlib: a query outside a transaction, which tenantsql sends
// with its context in one round trip and decodes itself, gives
// database/sql the same values as pgx's stdlib driver does, type for
// type, NULLs included.
func TestValuesAsStdlib(t *testing.T) {
	db, m := schema(t)
	scoped := open(t, db, m, nil)
	plain, err := sql.Open("pgx", db.ConnString(pgtest.App))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	const query = `select true, false, 7::int2, 70000::int4, 9000000000::int8, 1.5::float4, 2.25::float8,
		12.345::numeric, 'a text', 'x'::char(3), '\xdeadbeef'::bytea, '{"a": [1, 2]}'::jsonb, '{"b":1}'::json,
		'0195f1c2-0000-7000-8000-00000000000a'::uuid, '2026-12-02 10:11:12.345678+00'::timestamptz,
		'2026-12-02 10:11:12'::timestamp, '2026-12-02'::date, '12:30'::time, '23:59:58.25'::time,
		interval '1 day 2 hours', array[1, 2, 3]::int4[], array['a', 'b c']::text[], '10.0.0.1'::inet,
		'10.0.0.0/8'::inet, '::1'::inet, '10.0.0.0/8'::cidr, 'infinity'::timestamptz, '(1,2)'::point,
		null::int4, null::text, null::uuid, 42::oid`
	read := func(db *sql.DB, ctx context.Context) []any {
		t.Helper()
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatalf("no row: %v", rows.Err())
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		return vals
	}
	want := read(plain, context.Background())
	got := read(scoped, staffCtx(clinicA, staffA))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-stdlib +tenantsql):\n%s", diff)
	}
}
