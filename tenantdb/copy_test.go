package tenantdb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// patientRows returns n rows (clinic_id, id, name) of tenant, named
// prefix-1 … prefix-n.
func patientRows(tenant tenancy.ID, prefix string, n int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{tenant, uuid.New(), fmt.Sprintf("%s-%d", prefix, i+1)}
	}
	return rows
}

var patientColumns = []string{"clinic_id", "id", "name"}

// TestCopyIsRefusedUnderRLS: PostgreSQL refuses COPY FROM into a tenant
// table for the app role, which is why CopyFrom inserts instead.
func TestCopyIsRefusedUnderRLS(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(patientRows(clinicA, "copy", 1)))
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || !strings.Contains(pgErr.Message, "row-level security") {
		t.Fatalf("pgx CopyFrom into a tenant table as the app role = %v, want PostgreSQL's refusal under row-level security", err)
	}
}

// TestCopyFrom: the bulk insert writes every row, in the tenant, all or
// nothing, and refuses before sending what it must not send.
func TestCopyFrom(t *testing.T) {
	db := schema(t)
	pool, rt := appPool(t, db, 1, "")
	open := newPool(t, pool, tenantdb.Config{}) // RLS alone behind it
	guard, err := tenantdb.DefaultGuard(open.Model())
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, pool, tenantdb.Config{Guard: guard})
	ctx, cancel := context.WithTimeout(staffCtx(clinicA, staffA), time.Minute)
	defer cancel()
	admin := db.Conn(t, pgtest.Admin)
	count := func(tenant tenancy.ID, prefix string) int {
		t.Helper()
		var n int
		if err := admin.QueryRow(context.Background(), "select count(*) from patients where clinic_id = $1 and name like $2 || '-%'", tenant.String(), prefix).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var bTotal int
	if err := admin.QueryRow(context.Background(), "select count(*) from patients where clinic_id = $1", clinicB.String()).Scan(&bTotal); err != nil || bTotal != 7 {
		t.Fatalf("B has %d patients (%v), want 7", bTotal, err)
	}

	// 1,300 rows: two full statements of 512 and 276 more as 256 + 16 + 4.
	for _, c := range []struct {
		name string
		rows int
	}{{"one", 1}, {"small", 37}, {"chunk", 512}, {"many", 1300}} {
		n, err := p.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(patientRows(clinicA, c.name, c.rows)))
		if err != nil || n != int64(c.rows) {
			t.Fatalf("Pool.CopyFrom of %d rows = %d, %v", c.rows, n, err)
		}
		if got := count(clinicA, c.name); got != c.rows {
			t.Errorf("%s: %d rows of A in the table, want %d", c.name, got, c.rows)
		}
	}
	// Round trips, with pgx's statement cache warm: BEGIN and the
	// context, two full statements, the rest, COMMIT.
	rt.reset()
	if _, err := p.CopyFrom(ctx, pgx.Identifier{"public", "patients"}, patientColumns, pgx.CopyFromRows(patientRows(clinicA, "again", 1300))); err != nil {
		t.Fatal(err)
	}
	// The qualified name is another statement text: warm it, then count.
	rt.reset()
	if _, err := p.CopyFrom(ctx, pgx.Identifier{"public", "patients"}, patientColumns, pgx.CopyFromRows(patientRows(clinicA, "counted", 1300))); err != nil {
		t.Fatal(err)
	}
	if got := rt.count(); got != 5 {
		t.Errorf("Pool.CopyFrom of 1,300 rows took %d round trips, want 5", got)
	}

	// Inside a Tx, with a sub-select seeing only A's rows, B's unchanged.
	err = p.Tx(ctx, func(tx *tenantdb.Tx) error {
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"patients"}, []string{"name", "id", "clinic_id"}, pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == 600 {
					return nil, nil
				}
				i++
				return []any{fmt.Sprintf("func-%d", i), uuid.New(), clinicA}, nil
			}
		}()))
		if err != nil || n != 600 {
			return fmt.Errorf("Tx.CopyFrom = %d, %v", n, err)
		}
		var seen int
		if err := tx.QueryRow(ctx, "select count(*) from patients where clinic_id = $1 and name like 'func-%'", clinicA).Scan(&seen); err != nil || seen != 600 {
			return fmt.Errorf("in the Tx: %d rows (%v), want 600", seen, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := count(clinicB, "func"); got != 0 {
		t.Errorf("%d of the Tx's rows went to B", got)
	}

	// Refused before anything is sent.
	ok := pgx.CopyFromRows(patientRows(clinicA, "refused", 3))
	for _, c := range []struct {
		name    string
		table   pgx.Identifier
		columns []string
		rows    pgx.CopyFromSource
		want    error
	}{
		{"registry", pgx.Identifier{"clinics"}, []string{"id", "name"}, pgx.CopyFromRows([][]any{{clinicA, "x"}}), tenantdb.ErrCopyFrom},
		{"unknown table", pgx.Identifier{"patients_plain"}, patientColumns, ok, tenantdb.ErrCopyFrom},
		{"other schema", pgx.Identifier{"elsewhere", "patients"}, patientColumns, ok, tenantdb.ErrCopyFrom},
		{"three parts", pgx.Identifier{"db", "public", "patients"}, patientColumns, ok, tenantdb.ErrCopyFrom},
		{"no tenant column", pgx.Identifier{"patients"}, []string{"id", "name"}, pgx.CopyFromRows([][]any{{uuid.New(), "refused-1"}}), tenantdb.ErrCopyFrom},
		{"tenant column twice", pgx.Identifier{"patients"}, []string{"clinic_id", "id", "name", "clinic_id"}, pgx.CopyFromRows([][]any{{clinicA, uuid.New(), "refused-1", clinicB}}), tenantdb.ErrCopyFrom},
		{"no columns", pgx.Identifier{"patients"}, nil, ok, tenantdb.ErrCopyFrom},
		{"short row", pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows([][]any{{clinicA, uuid.New()}}), tenantdb.ErrCopyFrom},
		{"another tenant's row", pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(append(patientRows(clinicA, "refused", 2), patientRows(clinicB, "refused", 1)...)), sqlguard.ErrRefused},
		{"a NULL tenant", pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows([][]any{{nil, uuid.New(), "refused-1"}}), sqlguard.ErrRefused},
		{"the tenant as a bare string of B", pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows([][]any{{clinicB.String(), uuid.New(), "refused-1"}}), sqlguard.ErrRefused},
		{"no principal", pgx.Identifier{"patients"}, patientColumns, ok, tenancy.ErrNoTenant},
	} {
		cctx := ctx
		if c.name == "no principal" {
			cctx = context.Background()
		}
		rt.reset()
		n, err := p.CopyFrom(cctx, c.table, c.columns, c.rows)
		if !errors.Is(err, c.want) || n != 0 {
			t.Errorf("%s: CopyFrom = %d, %v; want 0, %v", c.name, n, err, c.want)
		}
		// Pool.CopyFrom checks the table before BEGIN; rows are checked
		// in the transaction, before their statement.
		if got := rt.count(); got > 2 || (errors.Is(c.want, tenantdb.ErrCopyFrom) && c.name != "short row" && got != 0) {
			t.Errorf("%s: %d round trips", c.name, got)
		}
	}
	if got := count(clinicA, "refused") + count(clinicB, "refused"); got != 0 {
		t.Errorf("%d rows of refused bulk inserts are in the table", got)
	}

	// All or nothing, the transaction usable after: a refusal in the third
	// statement, a duplicate key there, an error of the source.
	late := append(patientRows(clinicA, "late", 1100), patientRows(clinicB, "late", 1)...)
	dup := patientRows(clinicA, "dup", 1100)
	dup = append(dup, dup[1050])
	failing := func() pgx.CopyFromSource {
		rows := patientRows(clinicA, "srcerr", 1100)
		i := 0
		return pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(rows) {
				return nil, errSource
			}
			i++
			return rows[i-1], nil
		})
	}
	for i, c := range []struct {
		name, prefix string
		p            *tenantdb.Pool
		src          pgx.CopyFromSource
		want         func(error) bool
	}{
		{"refused late", "late", p, pgx.CopyFromRows(late), func(err error) bool { return errors.Is(err, sqlguard.ErrRefused) }},
		{"rls late", "late", open, pgx.CopyFromRows(late), func(err error) bool { return pgCode(err) == "42501" }},
		{"duplicate key", "dup", p, pgx.CopyFromRows(dup), func(err error) bool { return pgCode(err) == "23505" }},
		{"source error", "srcerr", p, failing(), func(err error) bool { return errors.Is(err, errSource) }},
	} {
		err := c.p.Tx(ctx, func(tx *tenantdb.Tx) error {
			n, err := tx.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, c.src)
			if !c.want(err) || n != 0 {
				t.Errorf("%s: CopyFrom = %d, %v", c.name, n, err)
			}
			var seen int
			if err := tx.QueryRow(ctx, "select count(*) from patients where clinic_id = $1 and name like $2", clinicA, c.prefix+"-%").Scan(&seen); err != nil {
				return fmt.Errorf("the transaction after the failed CopyFrom: %w", err)
			}
			if seen != 0 {
				t.Errorf("%s: %d rows of the failed CopyFrom stayed in the transaction", c.name, seen)
			}
			_, err = tx.Exec(ctx, "insert into patients (clinic_id, id, name) values ($1, $2, $3)", clinicA, uuid.New(), "after-"+c.prefix)
			return err
		})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if got, after := count(clinicA, c.prefix)+count(clinicB, c.prefix), count(clinicA, "after"); got != 0 || after != i+1 {
			t.Errorf("%s: %d rows of the failed CopyFrom and %d inserted after it committed, want 0 and %d", c.name, got, after, i+1)
		}
	}
	if err := admin.QueryRow(context.Background(), "select count(*) from patients where clinic_id = $1", clinicB.String()).Scan(&bTotal); err != nil || bTotal != 7 {
		t.Errorf("B has %d patients after A's bulk inserts (%v), want 7", bTotal, err)
	}

	// After its function returned, a Tx's CopyFrom is refused.
	var kept *tenantdb.Tx
	if err := p.Tx(ctx, func(tx *tenantdb.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(patientRows(clinicA, "kept", 1))); !errors.Is(err, tenantdb.ErrTxDone) {
		t.Errorf("CopyFrom on a finished Tx = %v, want ErrTxDone", err)
	}
}

var errSource = errors.New("the source failed")

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// TestCopyFromExecMode: the bulk insert works in pgx's exec mode (the mode
// for pgbouncer), where parameters are sent as text and typed by the
// server from their columns.
func TestCopyFromExecMode(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, " default_query_exec_mode=exec")
	guard, err := tenantdb.DefaultGuard(testModel(t, db))
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, pool, tenantdb.Config{Guard: guard})
	ctx := staffCtx(clinicA, staffA)
	n, err := p.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(patientRows(clinicA, "exec", 600)))
	if err != nil || n != 600 {
		t.Fatalf("CopyFrom in exec mode = %d, %v; want 600", n, err)
	}
	var seen int
	if err := p.QueryRow(ctx, "select count(*) from patients where clinic_id = $1 and name like 'exec-%'", clinicA).Scan(&seen); err != nil || seen != 600 {
		t.Errorf("%d rows (%v), want 600", seen, err)
	}
	if _, err := p.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(patientRows(clinicB, "exec-b", 1))); !errors.Is(err, sqlguard.ErrRefused) {
		t.Errorf("CopyFrom of B's row in exec mode = %v, want the guard's refusal", err)
	}
}
