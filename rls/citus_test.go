package rls_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

// checkBoth runs Check on m's database as the app role, with and without
// Config.Citus, and returns the findings of each, and whether each
// finding's message gives Citus's reason.
func checkBoth(t *testing.T, db *pgtest.DB, cfg rls.Config, tables []rls.Table) (plain, citus []found, plainSaysCitus, citusSaysCitus []bool) {
	t.Helper()
	run := func(c rls.Config) ([]found, []bool) {
		findings, err := rls.Check(context.Background(), db.Conn(t, pgtest.App), model(t, c, tables...))
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		var got []found
		var says []bool
		for _, f := range findings {
			if f.Message == "" || f.Fix == "" {
				t.Errorf("finding %v lacks a message or a fix", f)
			}
			got = append(got, found{f.Code, f.Severity, f.ObjectKind, f.Object})
			says = append(says, strings.Contains(f.Message, "Citus"))
		}
		return got, says
	}
	cfg.Citus = false
	plain, plainSaysCitus = run(cfg)
	cfg.Citus = true
	citus, citusSaysCitus = run(cfg)
	return plain, citus, plainSaysCitus, citusSaysCitus
}

// TestCheckCitus plants each schema that Citus would refuse to distribute,
// or route badly, in the migrated fixture, and shows its finding with
// Config.Citus, and that without it Check reports nothing new: the rules
// that plain PostgreSQL shares with Citus keep their code, and only add
// Citus's reason to the message.
func TestCheckCitus(t *testing.T) {
	tests := []struct {
		name      string
		sql       string // run as the superuser on the migrated database, after expand
		ownerSQL  string // run as the owner, then the migration again, for new tenant tables
		tables    func([]rls.Table) []rls.Table
		wantPlain []found // without Config.Citus
		wantCitus []found // with it
	}{
		{
			name: "the conventions' schema",
		},
		{
			name: "unique key that AllowUnique exempts",
			sql:  `ALTER TABLE public.patients ADD CONSTRAINT patients_email_key UNIQUE (email)`,
			tables: replacing(rls.Table{Name: "public.patients", SubjectColumn: "id",
				AllowUnique: []string{"patients_email_key"}}),
			wantCitus: []found{{rls.CodeCitusUniqueWithoutTenant, rls.SeverityError, rls.ObjectConstraint, "patients_email_key on public.patients"}},
		},
		{
			name: "unique index that AllowUnique exempts",
			sql:  `CREATE UNIQUE INDEX patients_email ON public.patients (email)`,
			tables: replacing(rls.Table{Name: "public.patients", SubjectColumn: "id",
				AllowUnique: []string{"patients_email"}}),
			wantCitus: []found{{rls.CodeCitusUniqueWithoutTenant, rls.SeverityError, rls.ObjectIndex, "public.patients_email"}},
		},
		{
			name:      "unique index without the tenant column",
			sql:       `CREATE UNIQUE INDEX patients_email ON public.patients (email)`,
			wantPlain: []found{{rls.CodeUniqueWithoutTenant, rls.SeverityError, rls.ObjectIndex, "public.patients_email"}},
			wantCitus: []found{{rls.CodeUniqueWithoutTenant, rls.SeverityError, rls.ObjectIndex, "public.patients_email"}},
		},
		{
			name: "foreign key between tenant tables off the tenant column",
			sql: `ALTER TABLE public.appointments ADD CONSTRAINT appointments_crossed
					FOREIGN KEY (patient_id, clinic_id) REFERENCES public.patients (clinic_id, id)`,
			wantPlain: []found{{rls.CodeForeignKeyWithoutTenant, rls.SeverityError, rls.ObjectConstraint, "appointments_crossed on public.appointments"}},
			wantCitus: []found{{rls.CodeForeignKeyWithoutTenant, rls.SeverityError, rls.ObjectConstraint, "appointments_crossed on public.appointments"}},
		},
		{
			name: "foreign key from a registry to a tenant table",
			sql: `CREATE TABLE public.plans (id uuid PRIMARY KEY, clinic uuid, patient uuid,
					CONSTRAINT plans_patient FOREIGN KEY (clinic, patient) REFERENCES public.patients (clinic_id, id));
				ALTER TABLE public.plans OWNER TO {owner}`,
			tables:    withTables(rls.Table{Name: "public.plans", Kind: rls.Registry}),
			wantPlain: []found{{rls.CodeTenantReferenceOutsideModel, rls.SeverityError, rls.ObjectConstraint, "plans_patient on public.plans"}},
			wantCitus: []found{{rls.CodeTenantReferenceOutsideModel, rls.SeverityError, rls.ObjectConstraint, "plans_patient on public.plans"}},
		},
		{
			name: "foreign key from a tenant table to a private table",
			sql: `CREATE TABLE public.secrets (id uuid PRIMARY KEY); ALTER TABLE public.secrets OWNER TO {owner};
				ALTER TABLE public.patients ADD COLUMN secret uuid CONSTRAINT patients_secret REFERENCES public.secrets (id)`,
			tables:    withTables(rls.Table{Name: "public.secrets", Kind: rls.Private}),
			wantCitus: []found{{rls.CodeCitusForeignKeyToLocal, rls.SeverityError, rls.ObjectConstraint, "patients_secret on public.patients"}},
		},
		{
			name: "foreign key from a tenant table to a table the model does not name",
			sql: `CREATE TABLE public.secrets (id uuid PRIMARY KEY); ALTER TABLE public.secrets OWNER TO {owner};
				ALTER TABLE public.patients ADD COLUMN secret uuid CONSTRAINT patients_secret REFERENCES public.secrets (id)`,
			wantCitus: []found{{rls.CodeCitusForeignKeyToLocal, rls.SeverityError, rls.ObjectConstraint, "patients_secret on public.patients"}},
		},
		{
			name: "foreign key from a tenant table to a registry",
			sql:  `ALTER TABLE public.appointments ADD COLUMN clinic uuid CONSTRAINT appointments_clinic REFERENCES public.clinics (id)`,
		},
		{
			name: "tenant table that inherits",
			ownerSQL: `CREATE TABLE public.old_appointments () INHERITS (public.appointments);
				CREATE INDEX ON public.old_appointments (clinic_id)`,
			wantCitus: []found{{rls.CodeCitusInheritance, rls.SeverityError, rls.ObjectTable, "public.old_appointments"}},
		},
		{
			name: "tenant table partitioned",
			ownerSQL: `CREATE TABLE public.visits (clinic_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (clinic_id, id)) PARTITION BY HASH (clinic_id);
				CREATE TABLE public.visits_0 PARTITION OF public.visits FOR VALUES WITH (MODULUS 1, REMAINDER 0)`,
			tables: withTables(rls.Table{Name: "public.visits"}),
		},
		{
			name:      "tenant column that allows NULL",
			ownerSQL:  `CREATE TABLE public.notes (clinic_id uuid, id uuid NOT NULL, UNIQUE (clinic_id, id))`,
			tables:    withTables(rls.Table{Name: "public.notes"}),
			wantCitus: []found{{rls.CodeCitusTenantColumnNullable, rls.SeverityWarning, rls.ObjectColumn, "public.notes.clinic_id"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := migrated(t)
			cfg := config(db)
			tables := slices.Clone(fixtureTables)
			if tt.tables != nil {
				tables = tt.tables(tables)
			}
			if plain, citus, _, _ := checkBoth(t, db, cfg, fixtureTables); len(plain) != 0 || len(citus) != 0 {
				t.Fatalf("before breaking it, Check found %v, and with Citus %v, want nothing", plain, citus)
			}
			expand := strings.NewReplacer("{owner}", db.RoleName(pgtest.Owner)).Replace
			if tt.sql != "" {
				db.Exec(t, pgtest.Admin, expand(tt.sql))
			}
			if tt.ownerSQL != "" {
				db.Exec(t, pgtest.Owner, tt.ownerSQL)
				sql, err := rls.Generate(cfg, tables...)
				if err != nil {
					t.Fatal(err)
				}
				db.Exec(t, pgtest.Owner, sql)
			}
			plain, citus, plainSays, citusSays := checkBoth(t, db, cfg, tables)
			if diff := cmp.Diff(tt.wantPlain, plain); diff != "" {
				t.Errorf("Check findings without Citus (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCitus, citus); diff != "" {
				t.Errorf("Check findings with Citus (-want +got):\n%s", diff)
			}
			if slices.Contains(plainSays, true) {
				t.Errorf("without Citus, a message mentions Citus: %v", plain)
			}
			for i, says := range citusSays {
				if !says {
					t.Errorf("with Citus, the message of %v does not give Citus's reason", citus[i])
				}
			}
		})
	}
}
