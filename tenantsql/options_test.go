package tenantsql_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/tenantdb"
)

// rewriter would replace the checked SQL with an unscoped statement, after
// the guard, if pgx were handed it.
type rewriter struct{}

func (rewriter) RewriteQuery(context.Context, *pgx.Conn, string, []any) (string, []any, error) {
	return `select name from patients`, nil, nil
}

// TestPgxOptionsRefused: pgx's per-query options (a rewriter, named
// arguments, an exec mode, result formats) are refused in any position,
// in and outside a transaction, before anything is sent: pgx would apply
// them after the guard's check.
func TestPgxOptionsRefused(t *testing.T) {
	db, m := schema(t)
	sdb := open(t, db, m, nil)
	ctx := staffCtx(clinicA, staffA)
	const scoped = `select name from patients where clinic_id = $2`
	for name, args := range map[string][]any{
		"a rewriter first":    {rewriter{}, clinicA},
		"a rewriter second":   {clinicA, rewriter{}},
		"named arguments":     {pgx.NamedArgs{"c": clinicA}, clinicA},
		"an exec mode":        {pgx.QueryExecModeSimpleProtocol, clinicA},
		"result formats":      {pgx.QueryResultFormats{pgx.TextFormatCode}, clinicA},
		"formats by type OID": {pgx.QueryResultFormatsByOID{}, clinicA},
	} {
		if rows, err := sdb.QueryContext(ctx, scoped, args...); !errors.Is(err, tenantdb.ErrUnsupportedArg) {
			if err == nil {
				n := len(readNames(t, rows, nil))
				t.Errorf("%s, outside a transaction: %d rows, want ErrUnsupportedArg", name, n)
			} else {
				t.Errorf("%s, outside a transaction: %v, want ErrUnsupportedArg", name, err)
			}
		}
		if _, err := sdb.ExecContext(ctx, `update patients set name = name where clinic_id = $2`, args...); !errors.Is(err, tenantdb.ErrUnsupportedArg) {
			t.Errorf("%s, a statement: %v, want ErrUnsupportedArg", name, err)
		}
		tx, err := sdb.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `update patients set name = name where clinic_id = $2`, args...); !errors.Is(err, tenantdb.ErrUnsupportedArg) {
			t.Errorf("%s, in a transaction: %v, want ErrUnsupportedArg", name, err)
		}
		tx.Rollback()
	}
	if a, b := counts(t, db); a != 5 || b != 7 {
		t.Errorf("after the attempts: %d and %d patients, want 5 and 7", a, b)
	}
}
