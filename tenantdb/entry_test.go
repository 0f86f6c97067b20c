package tenantdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// recordingPool returns a Pool whose OnSystem hook writes each use into
// table system_uses, in the entry point's transaction, as audit.OnSystem
// does.
func recordingPool(t *testing.T, db *pgtest.DB) *tenantdb.Pool {
	t.Helper()
	db.Exec(t, pgtest.Owner, `create table public.system_uses (entry text not null, tenant uuid, reason text not null);
		grant insert, select on public.system_uses to `+pgx.Identifier{db.RoleName(pgtest.Platform)}.Sanitize()+`, `+pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize())
	pool, _ := appPool(t, db, 2, "")
	return newPool(t, pool, tenantdb.Config{
		System: db.Pool(t, pgtest.Platform),
		OnSystem: func(ctx context.Context, tx pgx.Tx, use tenantdb.SystemUse) error {
			var tenant any
			if !use.Tenant.IsZero() {
				tenant = use.Tenant.String()
			}
			_, err := tx.Exec(ctx, "insert into system_uses values ($1, $2, $3)", use.Entry, tenant, use.Reason)
			return err
		},
	})
}

// counts returns the recorded uses and the clinics, as the superuser.
func counts(t *testing.T, db *pgtest.DB) (uses, clinics int) {
	t.Helper()
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(),
		"select (select count(*) from system_uses), (select count(*) from clinics)").Scan(&uses, &clinics); err != nil {
		t.Fatal(err)
	}
	return uses, clinics
}

// TestSystemCannotEndItsTransaction: work inside System that runs ROLLBACK
// (which would discard the record while later work committed on its own)
// is refused before the statement is sent; returning the refusal commits
// nothing, and work that carries on commits only with its record.
func TestSystemCannotEndItsTransaction(t *testing.T) {
	db := schema(t)
	p := recordingPool(t, db)
	ctx := context.Background()

	// The hole, on a bare pgx transaction: the record is rolled back and
	// the work after ROLLBACK commits on its own.
	raw := db.Pool(t, pgtest.Platform)
	tx, err := raw.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "insert into system_uses values ('bare', null, 'x')"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "rollback"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "insert into clinics values (gen_random_uuid(), 'unrecorded')"); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)
	if uses, clinics := counts(t, db); uses != 0 || clinics != 3 {
		t.Fatalf("fixture: the bare ROLLBACK left %d records and %d clinics, want 0 and 3", uses, clinics)
	}
	db.Exec(t, pgtest.Admin, "delete from clinics where name = 'unrecorded'")

	for _, stmt := range []string{"rollback", "ROLLBACK", "commit", "end", "abort", "begin", "prepare transaction 'x'", "select 1; rollback"} {
		t.Run(stmt, func(t *testing.T) {
			uses0, clinics0 := counts(t, db)
			err := p.System(ctx, "add a clinic", func(tx *tenantdb.SystemTx) error {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, "insert into clinics values (gen_random_uuid(), 'after "+strings.ReplaceAll(stmt, "'", "")+"')")
				return err
			})
			if !errors.Is(err, tenantdb.ErrTxControl) {
				t.Fatalf("System running %q = %v, want ErrTxControl", stmt, err)
			}
			if uses, clinics := counts(t, db); uses != uses0 || clinics != clinics0 {
				t.Fatalf("after the refused %q: %d records and %d clinics, want %d and %d", stmt, uses, clinics, uses0, clinics0)
			}
		})
	}

	// Work that ignores the refusal and carries on commits with its record.
	uses0, clinics0 := counts(t, db)
	err = p.System(ctx, "add a clinic", func(tx *tenantdb.SystemTx) error {
		_, refused := tx.Exec(ctx, "rollback")
		b := &pgx.Batch{}
		b.Queue("select 1")
		b.Queue("rollback")
		batchRefused := tx.SendBatch(ctx, b).Close()
		_, q := tx.Query(ctx, "commit")
		if !errors.Is(refused, tenantdb.ErrTxControl) || !errors.Is(batchRefused, tenantdb.ErrTxControl) || !errors.Is(q, tenantdb.ErrTxControl) {
			t.Errorf("Exec, SendBatch and Query of ROLLBACK/COMMIT = %v, %v, %v; want ErrTxControl", refused, batchRefused, q)
		}
		// Savepoints are not control.
		for _, s := range []string{"savepoint a", "insert into clinics values (gen_random_uuid(), 'rolled back to a')", "rollback to savepoint a", "release savepoint a"} {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "insert into clinics values (gen_random_uuid(), 'kept')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if uses, clinics := counts(t, db); uses != uses0+1 || clinics != clinics0+1 {
		t.Fatalf("the work that carried on: %d records and %d clinics, want %d and %d", uses, clinics, uses0+1, clinics0+1)
	}

	// A SystemTx kept past its function does nothing.
	var kept *tenantdb.SystemTx
	if err := p.System(ctx, "keep the tx", func(tx *tenantdb.SystemTx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Exec(ctx, "insert into clinics values (gen_random_uuid(), 'late')"); !errors.Is(err, tenantdb.ErrTxDone) {
		t.Errorf("a kept SystemTx = %v, want ErrTxDone", err)
	}

	// Tenant transactions refuse control statements too, whatever the guard.
	sctx := staffCtx(clinicA, staffA)
	err = p.Tx(sctx, func(tx *tenantdb.Tx) error {
		_, err := tx.Exec(sctx, "rollback")
		return err
	})
	if !errors.Is(err, tenantdb.ErrTxControl) {
		t.Errorf("Tx running ROLLBACK (under a guard that allows all) = %v, want ErrTxControl", err)
	}
}

// TestEntryPointReasons: System and InTenant refuse a reason without
// visible text, before any network use.
func TestEntryPointReasons(t *testing.T) {
	db := schema(t)
	p := recordingPool(t, db)
	for _, reason := range []string{"", "  ", "\u200b", "\u2060", "\u00ad", "\u200b \u2060\u00ad"} {
		ran := false
		err := p.System(context.Background(), reason, func(*tenantdb.SystemTx) error { ran = true; return nil })
		if !errors.Is(err, tenantdb.ErrNoReason) || ran {
			t.Errorf("System(%q) = %v (ran %v), want ErrNoReason", reason, err, ran)
		}
		err = p.InTenant(context.Background(), clinicA, reason, func(context.Context, *tenantdb.Tx) error { ran = true; return nil })
		if !errors.Is(err, tenantdb.ErrNoReason) || ran {
			t.Errorf("InTenant(%q) = %v (ran %v), want ErrNoReason", reason, err, ran)
		}
	}
	if uses, _ := counts(t, db); uses != 0 {
		t.Errorf("%d uses recorded for refused reasons", uses)
	}
}

// TestInTenant: work in one named tenant without a verified principal is
// recorded in the same transaction, sees only that tenant, and its context
// works only through its Tx.
func TestInTenant(t *testing.T) {
	db := schema(t)
	p := recordingPool(t, db)
	ctx := context.Background()

	var got []patient
	var leaked context.Context
	err := p.InTenant(ctx, clinicB, "count B's patients", func(ctx context.Context, tx *tenantdb.Tx) error {
		src, ok := tenancy.SourceFromContext(ctx)
		pr, _ := tenancy.FromContext(ctx)
		if !ok || src.Name() != tenantdb.EntryInTenant || pr.Kind != tenancy.KindSystem || pr.Tenant != clinicB {
			t.Errorf("InTenant's context: %+v from %v (%v)", pr, src, ok)
		}
		leaked = ctx
		var err error
		got, err = scanPatients(tx.Query(ctx, "select clinic_id, name from patients"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	checkOnly(t, got, clinicB, 7) // A's 5 exist (schema proves it) and stay out
	var entry, tenant, reason string
	if err := db.Conn(t, pgtest.Admin).QueryRow(ctx, "select entry, tenant::text, reason from system_uses").Scan(&entry, &tenant, &reason); err != nil {
		t.Fatal(err)
	}
	if entry != tenantdb.EntryInTenant || tenant != clinicB.String() || reason != "count B's patients" {
		t.Errorf("recorded %q %q %q", entry, tenant, reason)
	}

	// The context outlives nothing: the Pool refuses its principal.
	if _, err := p.Query(leaked, "select clinic_id, name from patients"); !errors.Is(err, tenantdb.ErrUnverifiedPrincipal) {
		t.Errorf("Query with InTenant's context after the call = %v, want ErrUnverifiedPrincipal", err)
	}

	// Nor can another Pool be told to accept it.
	src, _ := tenancy.SourceFromContext(leaked)
	pool, _ := appPool(t, db, 1, "")
	if _, err := tenantdb.New(ctx, pool, tenantdb.Config{Model: testModel(t, db), Sources: []tenancy.Source{src}}); !errors.Is(err, tenantdb.ErrInvalidConfig) {
		t.Errorf("New accepting InTenant's source = %v, want ErrInvalidConfig", err)
	}

	// A failing record aborts the work; a failing work rolls the record back.
	if err := p.InTenant(ctx, clinicB, "fail", func(ctx context.Context, tx *tenantdb.Tx) error {
		_, err := tx.Exec(ctx, "update patients set name = 'gone' where clinic_id = $1", clinicB)
		if err != nil {
			return err
		}
		return errors.New("work failed")
	}); err == nil || err.Error() != "work failed" {
		t.Errorf("failing work = %v", err)
	}
	if uses, _ := counts(t, db); uses != 1 {
		t.Errorf("%d uses recorded, want 1: the failed work's record must roll back with it", uses)
	}

	for name, tc := range map[string]struct {
		p      *tenantdb.Pool
		ctx    context.Context
		tenant tenancy.ID
		want   error
	}{
		"zero tenant":                   {p, ctx, tenancy.ID{}, tenancy.ErrNoTenant},
		"hand-built caller":             {p, tenancy.NewContext(ctx, tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Subject: staffA}), clinicB, tenantdb.ErrUnverifiedPrincipal},
		"no recorder":                   {newPool(t, db.Pool(t, pgtest.App), tenantdb.Config{}), ctx, clinicB, tenantdb.ErrNoRecorder},
		"verified caller, other tenant": {p, tenancytest.Context(ctx, tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staffA}), clinicB, nil},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.p.InTenant(tc.ctx, tc.tenant, "test", func(ctx context.Context, tx *tenantdb.Tx) error {
				pr, _ := tenancy.FromContext(ctx)
				if pr.Subject != staffA {
					t.Errorf("the caller's actor is not the subject: %+v", pr)
				}
				return nil
			})
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("InTenant = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestPreAuth: the pre-auth handle calls only the model's pre-auth
// functions, with quoted names and bound arguments, and sets no tenant
// context.
func TestPreAuth(t *testing.T) {
	db := schema(t)
	pool, rt := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	pa := p.PreAuth()
	ctx := context.Background()

	rows, err := pa.Query(ctx, "public.clinic_names")
	if err != nil {
		t.Fatal(err)
	}
	type named struct{ Name, Tenant string }
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[named])
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0] != (named{"A", ""}) || list[1] != (named{"B", ""}) {
		t.Errorf("clinic_names = %v, want A and B with an empty tenant setting", list)
	}
	var id tenancy.ID
	var name string
	if err := pa.QueryRow(ctx, "public.clinic_by_name", "B", true).Scan(&id, &name); err != nil || id != clinicB || name != "B" {
		t.Errorf("clinic_by_name = %v %q %v", id, name, err)
	}
	if err := pa.QueryRow(ctx, "public.clinic_by_name", "B'; select 1 --", false).Scan(&id, &name); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("clinic_by_name with SQL in the argument = %v, want no rows", err)
	}

	rt.reset()
	for _, fn := range []string{
		"public.patients", "patients", "clinic_names", "public.clinic_names(); select 1", `public.clinic_names"`,
		"pg_catalog.pg_read_file", "public.clinic_names.x", "PUBLIC.clinic_names", "",
	} {
		if _, err := pa.Query(ctx, fn); !errors.Is(err, tenantdb.ErrNotPreAuth) {
			t.Errorf("PreAuth.Query(%q) = %v, want ErrNotPreAuth", fn, err)
		}
		if _, err := pa.Exec(ctx, fn); !errors.Is(err, tenantdb.ErrNotPreAuth) {
			t.Errorf("PreAuth.Exec(%q) = %v, want ErrNotPreAuth", fn, err)
		}
	}
	if _, err := pa.Query(ctx, "public.clinic_names", pgx.QueryExecModeSimpleProtocol); !errors.Is(err, tenantdb.ErrUnsupportedArg) {
		t.Errorf("PreAuth with a pgx option = %v, want ErrUnsupportedArg", err)
	}
	if n := rt.count(); n != 0 {
		t.Errorf("%d round trips for refused pre-auth calls", n)
	}
}
