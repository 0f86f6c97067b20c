package apptest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Querier is what a Snapshot reads through: a superuser's *pgx.Conn or
// *pgxpool.Pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Snapshot hashes every table of the app's schemas, as the superuser: row
// counts and contents, so that a test can show a refused request changed
// nothing. Audit events with the outcome "denied" are left out: recording
// a refused request is the audit log doing its job, not a change the
// request made. So are the audit chain's heads (they move with every
// event, which are compared) and River's own bookkeeping (its leader
// renews it on its own clock; River's jobs are compared).
type Snapshot struct {
	q   Querier
	sql string
}

// NewSnapshot lists the database's tables through q (a superuser's
// connection) and returns a Snapshot of them; fewer than ten tables fails
// the test.
func NewSnapshot(t testing.TB, q Querier) *Snapshot {
	t.Helper()
	return newSnapshot(t, q, "x.outcome <> 'denied'")
}

// NewPageSnapshot is NewSnapshot for the web UI's forms, which show the
// record again with a refusal: the audit log's record of that viewing (an
// action ending in ".view") is left out as well.
func NewPageSnapshot(t testing.TB, q Querier) *Snapshot {
	t.Helper()
	return newSnapshot(t, q, "x.outcome <> 'denied' and x.action not like '%.view'")
}

func newSnapshot(t testing.TB, q Querier, auditWhere string) *Snapshot {
	t.Helper()
	rows, err := q.Query(context.Background(), `select format('%I.%I', schemaname, tablename) from pg_tables
		where schemaname not in ('pg_catalog', 'information_schema') order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 10 {
		t.Fatalf("tables: %v %v", tables, err)
	}
	var parts []string
	for _, tb := range tables {
		where := ""
		switch tb {
		case "audit.chain_heads", "audit.platform_head":
			continue
		case "public.river_leader", "public.river_queue", "public.river_notification":
			continue
		case "audit.events":
			where = " where " + auditWhere
		}
		parts = append(parts, fmt.Sprintf(`select '%s', count(*), coalesce(md5(string_agg(md5(x::text), '' order by md5(x::text))), '') from %s x%s`, tb, tb, where))
	}
	return &Snapshot{q: q, sql: strings.Join(parts, " union all ")}
}

// Take returns each table's row count and content hash, by table name.
func (s *Snapshot) Take(t testing.TB) map[string]string {
	t.Helper()
	rows, err := s.q.Query(context.Background(), s.sql)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var name, hash string
		var n int64
		if err := rows.Scan(&name, &n, &hash); err != nil {
			t.Fatal(err)
		}
		out[name] = fmt.Sprintf("%d rows %s", n, hash)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// DiffTables names the tables whose count or content differ between two
// results of Take, with their row counts before and after.
func DiffTables(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if before[k] != v {
			out = append(out, fmt.Sprintf("%s (%s -> %s)", k, strings.SplitN(before[k], " ", 3)[0]+" rows", strings.SplitN(v, " ", 3)[0]+" rows"))
		}
	}
	sort.Strings(out)
	return out
}
