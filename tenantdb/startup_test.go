package tenantdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestStartupCheck: New refuses to start, as the app role, when a tenant
// relation of the model is not isolated, or when the model and the
// catalog disagree, and names the problem. Each case first shows, as the
// app role, the leak or the mismatch it refuses.
func TestStartupCheck(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		sql    string                                       // run as the superuser on schema's database
		model  func(t *testing.T, db *pgtest.DB) *rls.Model // nil: testModel
		prove  func(t *testing.T, db *pgtest.DB)            // shows the hole, as the app role
		cfg    func(*tenantdb.Config)
		want   []error  // nil: New succeeds
		saying []string // substrings of the error
	}{
		{
			name: "the generated schema",
		},
		{
			name:   "RLS disabled",
			sql:    `alter table public.patients disable row level security`,
			prove:  seesOtherClinic,
			want:   []error{tenantdb.ErrUnsafeSchema},
			saying: []string{"[rls-disabled]", "public.patients"},
		},
		{
			name:   "RLS not forced",
			sql:    `alter table public.patients no force row level security`,
			want:   []error{tenantdb.ErrUnsafeSchema},
			saying: []string{"[rls-not-forced]", "public.patients"},
		},
		{
			name:   "no tenant policy",
			sql:    `drop policy tenancy_tenant on public.patients; create policy wide on public.patients as permissive for all to {app} using (true) with check (true)`,
			prove:  seesOtherClinic,
			want:   []error{tenantdb.ErrUnsafeSchema},
			saying: []string{"[no-tenant-policy]", "public.patients"},
		},
		{
			name:   "no tenant policy, with UncheckedPolicies",
			sql:    `drop policy tenancy_tenant on public.patients; create policy wide on public.patients as permissive for all to {app} using (true) with check (true)`,
			cfg:    func(c *tenantdb.Config) { c.UncheckedPolicies = true },
			want:   nil,
			saying: nil,
		},
		{
			name:   "RLS disabled, with UncheckedPolicies",
			sql:    `alter table public.patients disable row level security`,
			cfg:    func(c *tenantdb.Config) { c.UncheckedPolicies = true },
			want:   []error{tenantdb.ErrUnsafeSchema},
			saying: []string{"[rls-disabled]"},
		},
		{
			name: "a partition without RLS",
			sql: `create table public.visits (clinic_id uuid not null, id uuid not null, primary key (clinic_id, id)) partition by list (clinic_id);
				alter table public.visits owner to {owner};
				create table public.visits_a partition of public.visits for values in ('` + clinicA.String() + `');
				alter table public.visits_a owner to {owner}`,
			model: func(t *testing.T, db *pgtest.DB) *rls.Model {
				return modelWith(t, db, rls.Table{Name: "public.visits"})
			},
			want:   []error{tenantdb.ErrUnsafeSchema},
			saying: []string{"public.visits_a"},
		},
		{
			name: "a model relation the database lacks",
			model: func(t *testing.T, db *pgtest.DB) *rls.Model {
				return modelWith(t, db, rls.Table{Name: "public.attachments"})
			},
			want:   []error{tenantdb.ErrModelMismatch},
			saying: []string{"[model-relation-missing]", "public.attachments"},
		},
		{
			name: "a tenant column the table lacks",
			sql: `create table public.attachments (organization_id uuid not null, id uuid not null, primary key (organization_id, id));
				alter table public.attachments owner to {owner}`,
			model: func(t *testing.T, db *pgtest.DB) *rls.Model {
				return modelWith(t, db, rls.Table{Name: "public.attachments"}) // the model's tenant column, clinic_id
			},
			// The table is not isolated either: both are named.
			want:   []error{tenantdb.ErrModelMismatch, tenantdb.ErrUnsafeSchema},
			saying: []string{"[tenant-column-missing]", "[rls-disabled]", "public.attachments"},
		},
		{
			name: "a key type the database does not have",
			model: func(t *testing.T, db *pgtest.DB) *rls.Model {
				base := testModel(t, db)
				cfg := base.Config()
				cfg.TenantKey = tenancy.KeyText
				m, err := rls.NewModel(cfg, base.Tables()...)
				if err != nil {
					t.Fatal(err)
				}
				return m
			},
			want:   []error{tenantdb.ErrModelMismatch},
			saying: []string{"[helper-key-type]", "current_tenant_id", "text"},
		},
		{
			name: "another role than the model's app role",
			model: func(t *testing.T, db *pgtest.DB) *rls.Model {
				m, err := rls.NewModel(rls.Config{OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.Platform), PlatformRole: "somebody", TenantColumn: "clinic_id", Kinds: testKinds},
					rls.Table{Name: "public.patients"})
				if err != nil {
					t.Fatal(err)
				}
				return m
			},
			want:   []error{tenantdb.ErrModelMismatch},
			saying: []string{"_app", "_platform"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := schema(t)
			expand := strings.NewReplacer("{app}", pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize(),
				"{owner}", pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()).Replace
			m := testModel(t, db)
			if tt.model != nil {
				m = tt.model(t, db)
			}
			if tt.sql != "" {
				db.Exec(t, pgtest.Admin, expand(tt.sql))
			}
			if tt.prove != nil {
				tt.prove(t, db)
			}
			cfg := tenantdb.Config{Model: m, Guard: allowAll{}, ContextMode: contextMode}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			pool := db.Pool(t, pgtest.App)
			_, err := tenantdb.New(ctx, pool, cfg)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("New = %v, want a Pool", err)
				}
				return
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("New = %v, want an error wrapping %v", err, w)
				}
			}
			for _, w := range tt.saying {
				if err != nil && !strings.Contains(err.Error(), w) {
					t.Errorf("New = %v, want it to say %q", err, w)
				}
			}
			if !errors.Is(err, tenantdb.ErrUnsafeSchema) && !errors.Is(err, tenantdb.ErrModelMismatch) {
				return
			}
			if err2 := tenantdb.CheckSchema(ctx, pool, m); tt.cfg == nil && (err2 == nil || err2.Error() != err.Error()) {
				t.Errorf("CheckSchema = %v, want New's error %v", err2, err)
			}
		})
	}
}

// modelWith returns testModel's tables and extra.
func modelWith(t *testing.T, db *pgtest.DB, extra ...rls.Table) *rls.Model {
	t.Helper()
	base := testModel(t, db)
	m, err := rls.NewModel(base.Config(), append(base.Tables(), extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// seesOtherClinic fails t unless the app role, in clinic A's context,
// reads clinic B's patients: the hole the start-up check refuses.
func seesOtherClinic(t *testing.T, db *pgtest.DB) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Conn(t, pgtest.App).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	sql, args, err := tenantdb.ContextSQL(ctx, tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staffA})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx, `select count(*) from public.patients where clinic_id = $1`, clinicB.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the hole is not there: the app role in clinic A sees none of B's patients")
	}
}
