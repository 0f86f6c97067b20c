package tenantdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestReadTenant: the use is recorded once, before the read; the app
// role's and the platform role's transactions read one snapshot, taken
// after the record, which a later commit does not change; the guard
// checks the app role's queries; nothing is written.
func TestReadTenant(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 4, "")
	var (
		mu   sync.Mutex
		uses []tenantdb.SystemUse
	)
	guard, err := tenantdb.DefaultGuard(testModel(t, db))
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, pool, tenantdb.Config{
		Guard:  guard,
		System: db.Pool(t, pgtest.Platform),
		OnSystem: func(ctx context.Context, tx pgx.Tx, use tenantdb.SystemUse) error {
			mu.Lock()
			defer mu.Unlock()
			uses = append(uses, use)
			// The record's own write, which the view must show.
			_, err := tx.Exec(ctx, `insert into patients (clinic_id, id, name) values ($1, gen_random_uuid(), 'recorded')`, use.Tenant.String())
			return err
		},
	})
	ctx := staffCtx(clinicA, staffA)
	const patients = "select clinic_id, name from patients where clinic_id = (select tenancy.current_tenant_id()) order by name"
	err = p.ReadTenant(ctx, clinicA, "export clinic A", func(ctx context.Context, r *tenantdb.TenantReader) error {
		if r.Tenant() != clinicA {
			t.Errorf("Tenant() = %v", r.Tenant())
		}
		// A patient committed after the view was taken: in neither transaction.
		db.Exec(t, pgtest.Admin, `insert into patients values ($1, gen_random_uuid(), 'late')`, clinicA.String())
		var app bytes.Buffer
		n, err := r.Copy(ctx, &app, patients)
		if err != nil {
			return err
		}
		if n != 6 || !strings.Contains(app.String(), "recorded") || strings.Contains(app.String(), "late") {
			t.Errorf("app role's copy: %d rows\n%s\nwant A's 5 patients and the record's, not the late one", n, app.String())
		}
		if !strings.HasPrefix(app.String(), "clinic_id,name\n") {
			t.Errorf("copy has no header line: %q", app.String())
		}
		var sys bytes.Buffer
		if _, err := r.SystemCopy(ctx, &sys, "select count(*) from pg_catalog.pg_class where relname = 'patients'"); err != nil {
			return err
		}
		rows, err := r.SystemQuery(ctx, "select count(*) from pg_catalog.pg_class where false")
		if err != nil {
			return err
		}
		rows.Close()
		late, err := pgx.CollectExactlyOneRow(mustQuery(t, r, "select count(*) from patients where clinic_id = $1 and name = 'late'", clinicA), pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if late != 0 {
			t.Errorf("the late patient is in the view")
		}
		// The guard: another tenant's rows, and no scope at all.
		for _, q := range []string{"select name from patients", fmt.Sprintf("select name from patients where clinic_id = '%s'", clinicB)} {
			if _, err := r.Copy(ctx, &app, q); !errors.Is(err, sqlguard.ErrRefused) {
				t.Errorf("Copy(%q) = %v, want a refusal", q, err)
			}
		}
		// Nothing writes.
		for _, q := range []string{"select 1; commit", "select 1) to stdout; commit; select (1"} {
			if _, err := r.SystemCopy(ctx, &sys, q); err == nil {
				t.Errorf("SystemCopy(%q) was sent", q)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) != 1 || uses[0].Entry != tenantdb.EntryReadTenant || uses[0].Tenant != clinicA || uses[0].Reason != "export clinic A" {
		t.Fatalf("recorded %+v, want one ReadTenant use in clinic A", uses)
	}

	for name, call := range map[string]func() error{
		"zero tenant": func() error {
			return p.ReadTenant(ctx, tenancy.ID{}, "x", func(context.Context, *tenantdb.TenantReader) error { return nil })
		},
		"no reason": func() error {
			return p.ReadTenant(ctx, clinicA, " ", func(context.Context, *tenantdb.TenantReader) error { return nil })
		},
		"unverified principal": func() error {
			hand := tenancy.NewContext(context.Background(), tenancy.Principal{Kind: "staff", Tenant: clinicA, Subject: staffA})
			return p.ReadTenant(hand, clinicA, "x", func(context.Context, *tenantdb.TenantReader) error { return nil })
		},
	} {
		err := call()
		want := map[string]error{"zero tenant": tenancy.ErrNoTenant, "no reason": tenantdb.ErrNoReason, "unverified principal": tenantdb.ErrUnverifiedPrincipal}[name]
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	if len(uses) != 1 {
		t.Errorf("refused calls were recorded: %+v", uses)
	}
	// Past a guard that lets all through, row-level security alone keeps
	// B's patients (proved present by schema) out of the view.
	open := newPool(t, pool, tenantdb.Config{System: db.Pool(t, pgtest.Platform),
		OnSystem: func(context.Context, pgx.Tx, tenantdb.SystemUse) error { return nil }})
	err = open.ReadTenant(ctx, clinicA, "export clinic A", func(ctx context.Context, r *tenantdb.TenantReader) error {
		var all bytes.Buffer
		n, err := r.Copy(ctx, &all, "select clinic_id from patients")
		if err == nil && (n != 7 || strings.Contains(all.String(), clinicB.String())) {
			t.Errorf("unscoped copy under RLS: %d rows\n%s\nwant A's 7 only", n, all.String())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	noSystem := newPool(t, pool, tenantdb.Config{OnSystem: func(context.Context, pgx.Tx, tenantdb.SystemUse) error { return nil }})
	if err := noSystem.ReadTenant(ctx, clinicA, "x", func(context.Context, *tenantdb.TenantReader) error { return nil }); !errors.Is(err, tenantdb.ErrNoSystem) {
		t.Errorf("without a system pool: %v", err)
	}
}

func mustQuery(t *testing.T, r *tenantdb.TenantReader, sql string, args ...any) pgx.Rows {
	t.Helper()
	rows, err := r.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
