package tenancytest_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
)

// The probe reads the isolation model: every tenant relation is probed by
// its own tenant column, subject column and read roles (the audit tables'
// tenant_id beside the application's org_id), registries are left out,
// and the options that some tables need are set by name.
func ExampleSQLConfig() {
	model, err := rls.NewModel(rls.Config{TenantColumn: "org_id"}, append([]rls.Table{
		{Name: "public.orgs", Kind: rls.Registry},
		{Name: "public.projects"},
		{Name: "public.tasks", SubjectColumn: "assignee_id"},
		{Name: "public.invites", ReadRoles: []string{"admin"}},
	}, audit.Tables(audit.Config{})...)...)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := tenancytest.SQLConfig{
		Model: model,
		Tables: []tenancytest.SQLTable{
			{Name: "public.invites", AllowEmpty: "the fixture invites no one at the second tenant"},
			// A chain head starts at zero: a trigger refuses any other.
			{Name: "audit.chain_heads", Values: map[string]string{"seq": "0", "hash": "decode(repeat('00', 32), 'hex')"}},
		},
	}
	for _, r := range cfg.Model.TenantRelations() {
		fmt.Printf("%s tenant=%s subject=%q read_roles=%v\n", r.Qualified(), r.TenantColumn, r.SubjectColumn, r.Table.ReadRoles)
	}
	// Output:
	// audit.chain_heads tenant=tenant_id subject="" read_roles=[]
	// audit.events tenant=tenant_id subject="" read_roles=[owner]
	// audit.impersonation_grants tenant=tenant_id subject="" read_roles=[owner]
	// public.invites tenant=org_id subject="" read_roles=[admin]
	// public.projects tenant=org_id subject="" read_roles=[]
	// public.tasks tenant=org_id subject="assignee_id" read_roles=[]
}

// A test in the application's own package probes every tenant relation of
// its isolation model as the app role. It needs a database, so this
// example is only compiled.
func ExampleProbeSQL() {
	testNoSQLLeaks := func(t *testing.T, model *rls.Model) {
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
			Model:      model, // the one the application gives tenantdb
			TenantA:    tenancy.MustParseID("0195f1c2-0000-7000-8000-000000000101"),
			TenantB:    tenancy.MustParseID("0195f1c2-0000-7000-8000-000000000102"),
		})
	}
	_ = testNoSQLLeaks
}
