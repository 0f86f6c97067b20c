package tenancytest_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
)

// The tables to probe come from the same specs that rls.Generate isolates:
// registries are left out, and per-table options are set by name.
func ExampleSQLTables() {
	specs := []rls.Table{
		{Name: "public.clinics", Kind: rls.Registry},
		{Name: "public.patients", SubjectColumn: "id"},
		{Name: "public.invoices", SubjectColumn: "patient_id", ReadRoles: []string{"owner", "billing"}},
		{Name: "public.portal_invites"},
	}
	tables := tenancytest.SQLTables(specs...)
	for i := range tables {
		if tables[i].Name == "public.portal_invites" {
			tables[i].AllowEmpty = "the fixture issues no invites at the second clinic"
		}
	}
	for _, t := range tables {
		fmt.Printf("%s subject=%q read_roles=%v allow_empty=%t\n", t.Name, t.SubjectColumn, t.ReadRoles, t.AllowEmpty != "")
	}
	// Output:
	// public.patients subject="id" read_roles=[] allow_empty=false
	// public.invoices subject="patient_id" read_roles=[owner billing] allow_empty=false
	// public.portal_invites subject="" read_roles=[] allow_empty=true
}

// A test in the application's own package probes every tenant table as
// the app role. It needs a database, so this example is only compiled.
func ExampleProbeSQL() {
	testNoSQLLeaks := func(t *testing.T) {
		ctx := context.Background()
		app, err := pgxpool.New(ctx, os.Getenv("APP_DATABASE_URL")) // the application's role
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		admin, err := pgx.Connect(ctx, os.Getenv("ADMIN_DATABASE_URL")) // a superuser, or the owner with BYPASSRLS
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)

		tenancytest.ProbeSQL(t, tenancytest.SQLConfig{
			App:        app,
			Privileged: admin,
			Tables: tenancytest.SQLTables(
				rls.Table{Name: "public.patients", SubjectColumn: "id"},
				rls.Table{Name: "public.appointments", SubjectColumn: "patient_id"},
			),
			TenantA: tenancy.MustParseID("0195f1c2-0000-7000-8000-000000000101"),
			TenantB: tenancy.MustParseID("0195f1c2-0000-7000-8000-000000000102"),
		})
	}
	_ = testNoSQLLeaks
}
