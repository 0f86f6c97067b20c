package tenantdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// countPatients counts clinic's patients as the superuser, past
// row-level security.
func countPatients(t *testing.T, db *pgtest.DB, clinic tenancy.ID) int64 {
	t.Helper()
	var n int64
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select count(*) from patients where clinic_id = $1`, clinic.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEraseTenant: the use is recorded once, before fn; the eraser's
// transactions are the app role's under row-level security (past a guard
// that lets everything through, an unscoped DELETE deletes only the
// tenant's rows), Read cannot write, System runs as the platform role;
// refused calls are not recorded, and the eraser is dead after fn.
func TestEraseTenant(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 4, "")
	var uses []tenantdb.SystemUse
	p := newPool(t, pool, tenantdb.Config{
		System: db.Pool(t, pgtest.Platform),
		OnSystem: func(ctx context.Context, tx pgx.Tx, use tenantdb.SystemUse) error {
			uses = append(uses, use)
			return nil
		},
	})
	ctx := staffCtx(clinicA, staffA)
	bBefore := countPatients(t, db, clinicB)
	if bBefore == 0 || countPatients(t, db, clinicA) == 0 {
		t.Fatalf("fixture: clinics A and B need patients")
	}
	var kept *tenantdb.TenantEraser
	err := p.EraseTenant(ctx, clinicA, "erase clinic A", func(ctx context.Context, e *tenantdb.TenantEraser) error {
		kept = e
		if len(uses) != 1 {
			t.Errorf("fn ran before the use was recorded")
		}
		if e.Tenant() != clinicA {
			t.Errorf("Tenant() = %v", e.Tenant())
		}
		if err := e.Read(ctx, func(ctx context.Context, tx *tenantdb.Tx) error {
			_, err := tx.Exec(ctx, `delete from patients`)
			return err
		}); err == nil {
			t.Errorf("a DELETE in Read's transaction succeeded")
		}
		var n int64
		if err := e.Tx(ctx, func(ctx context.Context, tx *tenantdb.Tx) error {
			tag, err := tx.Exec(ctx, `delete from patients`)
			n = tag.RowsAffected()
			return err
		}); err != nil {
			return err
		}
		if n == 0 {
			t.Errorf("the eraser deleted none of A's patients")
		}
		return e.System(ctx, func(ctx context.Context, tx *tenantdb.SystemTx) error {
			var role string
			if err := tx.QueryRow(ctx, `select current_user::text`).Scan(&role); err != nil {
				return err
			}
			if role != db.RoleName(pgtest.Platform) {
				t.Errorf("System runs as %s, want the platform role", role)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := countPatients(t, db, clinicA); got != 0 {
		t.Errorf("clinic A has %d patients left", got)
	}
	if got := countPatients(t, db, clinicB); got != bBefore {
		t.Errorf("clinic B has %d patients, had %d: the eraser reached another tenant", got, bBefore)
	}
	if len(uses) != 1 || uses[0].Entry != tenantdb.EntryEraseTenant || uses[0].Tenant != clinicA || uses[0].Reason != "erase clinic A" || !uses[0].HasPrincipal {
		t.Fatalf("recorded %+v, want one EraseTenant use in clinic A with its actor", uses)
	}
	if err := kept.Tx(ctx, func(context.Context, *tenantdb.Tx) error { return nil }); !errors.Is(err, tenantdb.ErrTxDone) {
		t.Errorf("the eraser after fn: %v, want ErrTxDone", err)
	}
	noop := func(context.Context, *tenantdb.TenantEraser) error { return nil }
	hand := tenancy.NewContext(context.Background(), tenancy.Principal{Kind: "staff", Tenant: clinicA, Subject: staffA})
	for name, tc := range map[string]struct {
		err  error
		want error
	}{
		"zero tenant":          {p.EraseTenant(ctx, tenancy.ID{}, "x", noop), tenancy.ErrNoTenant},
		"no reason":            {p.EraseTenant(ctx, clinicA, " ", noop), tenantdb.ErrNoReason},
		"unverified principal": {p.EraseTenant(hand, clinicA, "x", noop), tenantdb.ErrUnverifiedPrincipal},
		"no system pool": {newPool(t, pool, tenantdb.Config{OnSystem: func(context.Context, pgx.Tx, tenantdb.SystemUse) error { return nil }}).
			EraseTenant(ctx, clinicA, "x", noop), tenantdb.ErrNoSystem},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", name, tc.err, tc.want)
		}
	}
	if len(uses) != 1 {
		t.Errorf("refused calls were recorded: %+v", uses)
	}
}
