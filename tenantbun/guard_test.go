package tenantbun_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantbun"
)

// TestDefaultGuard opens with only a model, so every query passes
// sqlguard over the model's tenant tables. bun writes the tenant into
// the text as a literal: queries scoped by Where("clinic_id = ?", tenant),
// and inserts of models with the tenant column, run; an unscoped delete
// and a query scoped to another tenant are refused and change nothing.
func TestDefaultGuard(t *testing.T) {
	db := schema(t)
	bdb, err := tenantbun.Open(context.Background(), db.ConnString(pgtest.App), tenantbun.Config{Model: testModel(t, db), Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bdb.Close() })
	ctx := staffCtx(clinicA, staffA)
	patients := func() *bun.SelectQuery {
		return bdb.NewSelect().Model((*Patient)(nil)).Where("clinic_id = ?", clinicA)
	}

	t.Run("select", func(t *testing.T) {
		var got []Patient
		if err := bdb.NewSelect().Model(&got).Where("clinic_id = ?", clinicA).Order("name").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		checkOnly(t, got, clinicA, 5)
		var one Patient
		if err := bdb.NewSelect().Model(&one).Where("p.clinic_id = ?", clinicA).Where("name = ?", "a1").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if one.Name != "a1" || one.ClinicID != clinicA {
			t.Errorf("got %+v, want patient a1 of A", one)
		}
		if n, err := patients().Count(ctx); err != nil || n != 5 {
			t.Errorf("Count = %d, %v; want 5", n, err)
		}
	})

	t.Run("insert", func(t *testing.T) {
		p := &Patient{ClinicID: clinicA, ID: tenancy.NewID(), Name: "bun one"}
		if _, err := bdb.NewInsert().Model(p).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		rows := []Patient{
			{ClinicID: clinicA, ID: tenancy.NewID(), Name: "bun two"},
			{ClinicID: clinicA, ID: tenancy.NewID(), Name: "bun three"},
		}
		if _, err := bdb.NewInsert().Model(&rows).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		p.Name = "bun one upserted"
		if _, err := bdb.NewInsert().Model(p).On("CONFLICT (clinic_id, id) DO UPDATE").Set("name = EXCLUDED.name").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := patients().Where("name like 'bun %'").Count(ctx); err != nil || n != 3 {
			t.Errorf("Count of inserted = %d, %v; want 3", n, err)
		}
	})

	t.Run("update", func(t *testing.T) {
		res, err := bdb.NewUpdate().Model((*Patient)(nil)).Set("name = ?", "a1 renamed").
			Where("clinic_id = ?", clinicA).Where("name = ?", "a1").Exec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Errorf("update changed %d rows, want 1", n)
		}
		var p Patient
		if err := bdb.NewSelect().Model(&p).Where("clinic_id = ?", clinicA).Where("name = ?", "a2").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		p.Name = "a2 renamed"
		// WherePK scopes by the tenant column too: it leads the key.
		if _, err := bdb.NewUpdate().Model(&p).Column("name").WherePK().Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := patients().Where("name like '% renamed'").Count(ctx); err != nil || n != 2 {
			t.Errorf("Count of renamed = %d, %v; want 2", n, err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		res, err := bdb.NewDelete().Model((*Patient)(nil)).Where("clinic_id = ?", clinicA).Where("name = ?", "a3").Exec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Errorf("delete removed %d rows, want 1", n)
		}
	})

	t.Run("in transaction", func(t *testing.T) {
		err := bdb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			var got []Patient
			if err := tx.NewSelect().Model(&got).Where("clinic_id = ?", clinicA).Scan(ctx); err != nil {
				return err
			}
			_, err := tx.NewDelete().Model((*Patient)(nil)).Where("clinic_id = ?", clinicA).Where("name = ?", "a4").Exec(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	// Refused, and nothing sent: the rows they aim at exist (schema proved
	// B's 7; a5 is A's).
	refused := []struct {
		name string
		run  func() error
		rule sqlguard.Rule
	}{
		{"unscoped delete", func() error {
			_, err := bdb.NewDelete().Model((*Patient)(nil)).Where("name = ?", "a5").Exec(ctx)
			return err
		}, sqlguard.RuleUnscoped},
		{"delete of another tenant", func() error {
			_, err := bdb.NewDelete().Model((*Patient)(nil)).Where("clinic_id = ?", clinicB).Exec(ctx)
			return err
		}, sqlguard.RuleLiteralTenant},
		{"select of another tenant", func() error {
			var got []Patient
			return bdb.NewSelect().Model(&got).Where("clinic_id = ?", clinicB).Scan(ctx)
		}, sqlguard.RuleLiteralTenant},
		{"insert for another tenant", func() error {
			_, err := bdb.NewInsert().Model(&Patient{ClinicID: clinicB, ID: tenancy.NewID(), Name: "smuggled"}).Exec(ctx)
			return err
		}, sqlguard.RuleLiteralTenant},
		{"unscoped delete in transaction", func() error {
			return bdb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.NewDelete().Model((*Patient)(nil)).Where("true").Exec(ctx)
				return err
			})
		}, sqlguard.RuleUnscoped},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			var re *sqlguard.RefusalError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a *sqlguard.RefusalError", err)
			}
			if re.Rule != tt.rule || re.Table != "patients" {
				t.Errorf("refusal %s of %q, want %s of patients", re.Rule, re.Table, tt.rule)
			}
		})
	}

	// What the database holds, seen as Admin (no row-level security).
	var a, b int
	var names []string
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select
		count(*) filter (where clinic_id = $1), count(*) filter (where clinic_id = $2),
		array_agg(name order by name) filter (where clinic_id = $1) from patients`,
		clinicA, clinicB).Scan(&a, &b, &names); err != nil {
		t.Fatal(err)
	}
	want := []string{"a1 renamed", "a2 renamed", "a5", "bun one upserted", "bun three", "bun two"}
	if diff := cmp.Diff(want, names); diff != "" || a != len(want) {
		t.Errorf("A's patients (-want +got):\n%s", diff)
	}
	if b != 7 {
		t.Errorf("B has %d patients, want 7", b)
	}
}
