package tenantdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestDefaultGuard: with no Guard configured, New guards the tenant tables
// it finds, so unscoped SQL is refused before it is sent and scoped SQL
// runs.
func TestDefaultGuard(t *testing.T) {
	db := schema(t)
	pool, rt := appPool(t, db, 1, "")
	p, err := tenantdb.New(context.Background(), pool, tenantdb.Config{Model: testModel(t, db), Sources: []tenancy.Source{tenancytest.Source()}, ContextMode: contextMode})
	if err != nil {
		t.Fatal(err)
	}
	ctx := staffCtx(clinicA, staffA)

	rt.reset()
	var refusal *sqlguard.RefusalError
	if _, err := p.Exec(ctx, "delete from patients"); !errors.As(err, &refusal) {
		t.Fatalf("unscoped delete = %v, want a *sqlguard.RefusalError", err)
	}
	if refusal.Table != "patients" {
		t.Errorf("refusal names table %q, want patients", refusal.Table)
	}
	if _, err := p.Exec(ctx, "delete from patients where clinic_id = $1", clinicB); !errors.Is(err, sqlguard.ErrRefused) {
		t.Errorf("delete scoped to another tenant = %v, want a refusal", err)
	}
	if n := rt.count(); n != 0 {
		t.Errorf("%d round trips for refused statements", n)
	}

	got, err := scanPatients(p.Query(ctx, "select clinic_id, name from patients where clinic_id = $1", clinicA))
	if err != nil {
		t.Fatal(err)
	}
	checkOnly(t, got, clinicA, 5)
	var n int
	if err := p.QueryRow(ctx, "select count(*) from patients where clinic_id = (select tenancy.current_tenant_id())").Scan(&n); err != nil || n != 5 {
		t.Errorf("count scoped by the helper = %d, %v; want 5", n, err)
	}
	if err := p.QueryRow(ctx, "select 1").Scan(&n); err != nil {
		t.Errorf("select 1 (no tenant table) = %v", err)
	}
}

func TestDefaultGuardNeedsTenantTables(t *testing.T) {
	if _, err := tenantdb.DefaultGuard(nil); !errors.Is(err, tenantdb.ErrInvalidConfig) {
		t.Errorf("DefaultGuard(nil) = %v, want ErrInvalidConfig", err)
	}
	registries, err := rls.NewModel(rls.Config{TenantColumn: "clinic_id"}, rls.Table{Name: "public.plans", Kind: rls.Registry})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tenantdb.DefaultGuard(registries); !errors.Is(err, tenantdb.ErrInvalidConfig) {
		t.Errorf("DefaultGuard(no tenant relations) = %v, want ErrInvalidConfig", err)
	}
}

// TestNewNeedsModel: the zero Config is refused, rather than guessing the
// tenant tables from a column name.
func TestNewNeedsModel(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	if _, err := tenantdb.New(context.Background(), pool, tenantdb.Config{}); !errors.Is(err, tenantdb.ErrInvalidConfig) {
		t.Errorf("New(Config{}) = %v, want ErrInvalidConfig", err)
	}
}
