package rls_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy/rls"
)

func trackerModel(t *testing.T) *rls.Model {
	t.Helper()
	m, err := rls.NewModel(rls.Config{TenantColumn: "org_id", Functions: []string{"app.task_score"}, PreAuth: []string{"auth.lookup"}},
		rls.Table{Name: "app.orgs", TenantColumn: "id"},
		rls.Table{Name: "app.tasks"},
		rls.Table{Name: "app.attachments", TenantColumn: "organization_id"},
		rls.Table{Name: "public.tasks", Kind: rls.Registry},
		rls.Table{Name: "app.plans", Kind: rls.Registry},
		rls.Table{Name: "auth.secrets", Kind: rls.Private},
	)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestModelClassifies(t *testing.T) {
	m := trackerModel(t)
	for _, tt := range []struct {
		schema, name string
		class        rls.Class
		column       string
	}{
		{"app", "orgs", rls.ClassTenant, "id"},
		{"app", "tasks", rls.ClassTenant, "org_id"},
		{"app", "attachments", rls.ClassTenant, "organization_id"},
		{"app", "plans", rls.ClassRegistry, ""},
		{"public", "tasks", rls.ClassRegistry, ""},
		{"auth", "secrets", rls.ClassPrivate, ""},
		{"app", "comments", rls.ClassUnknown, ""},
		{"App", "tasks", rls.ClassUnknown, ""}, // names compare as the catalog stores them
	} {
		got := m.Relation(tt.schema, tt.name)
		if got.Class != tt.class || got.TenantColumn != tt.column || got.Schema != tt.schema || got.Name != tt.name {
			t.Errorf("Relation(%q, %q) = %v %q %s.%s, want %v %q", tt.schema, tt.name, got.Class, got.TenantColumn, got.Schema, got.Name, tt.class, tt.column)
		}
	}
	var named []string
	for _, r := range m.Named("tasks") {
		named = append(named, fmt.Sprintf("%s:%s", r.Qualified(), r.Class))
	}
	if diff := cmp.Diff([]string{"app.tasks:tenant", "public.tasks:registry"}, named); diff != "" {
		t.Errorf("Named(tasks) (-want +got):\n%s", diff)
	}
	if got := m.Named("comments"); got != nil {
		t.Errorf("Named(comments) = %v, want nil", got)
	}
	var tenants []string
	for _, r := range m.TenantRelations() {
		tenants = append(tenants, r.Qualified()+"."+r.TenantColumn)
	}
	if diff := cmp.Diff([]string{"app.attachments.organization_id", "app.orgs.id", "app.tasks.org_id"}, tenants); diff != "" {
		t.Errorf("TenantRelations (-want +got):\n%s", diff)
	}
	if !m.AllowsFunction("app", "task_score") || m.AllowsFunction("public", "task_score") || m.AllowsFunction("auth", "lookup") {
		t.Error("AllowsFunction does not follow Config.Functions")
	}
	if !m.PreAuth("auth", "lookup") || m.PreAuth("app", "task_score") {
		t.Error("PreAuth does not follow Config.PreAuth")
	}
	if got, want := m.TenantFunc(), "tenancy.current_tenant_id"; got != want {
		t.Errorf("TenantFunc() = %q, want %q", got, want)
	}
}

func TestModelRefuses(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cfg    rls.Config
		tables []rls.Table
		want   error
	}{
		{"twice", rls.Config{}, []rls.Table{{Name: "a.t"}, {Name: "a.t", Kind: rls.Registry}}, rls.ErrInvalidTable},
		{"private with options", rls.Config{}, []rls.Table{{Name: "a.t", Kind: rls.Private, Privileges: []string{"SELECT"}}}, rls.ErrInvalidTable},
		{"unqualified", rls.Config{}, []rls.Table{{Name: "t"}}, rls.ErrInvalidTable},
		{"function without schema", rls.Config{Functions: []string{"lower"}}, nil, rls.ErrInvalidConfig},
		{"function with arguments", rls.Config{Functions: []string{"app.f(int)"}}, nil, rls.ErrInvalidConfig},
		{"pre-auth three parts", rls.Config{PreAuth: []string{"a.b.c"}}, nil, rls.ErrInvalidConfig},
		{"two lists of tenants", rls.Config{}, []rls.Table{{Name: "a.t", Kind: rls.Registry, ListsTenants: "id"}, {Name: "a.u", Kind: rls.Registry, ListsTenants: "id"}}, rls.ErrInvalidTable},
		{"tenant table lists tenants", rls.Config{}, []rls.Table{{Name: "a.t", ListsTenants: "id"}}, rls.ErrInvalidTable},
		{"private table lists tenants", rls.Config{}, []rls.Table{{Name: "a.t", Kind: rls.Private, ListsTenants: "id"}}, rls.ErrInvalidTable},
		{"catalog lists tenants", rls.Config{}, []rls.Table{{Name: "pg_catalog.pg_roles", Kind: rls.Registry, ListsTenants: "oid"}}, rls.ErrInvalidTable},
		{"list column malformed", rls.Config{}, []rls.Table{{Name: "a.t", Kind: rls.Registry, ListsTenants: ""}, {Name: "a.u", Kind: rls.Registry, ListsTenants: "a\x00b"}}, rls.ErrInvalidTable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rls.NewModel(tt.cfg, tt.tables...)
			if !errors.Is(err, tt.want) {
				t.Errorf("NewModel: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestModelSpecRoundTrip: the JSON the CLI reads gives back the same model.
func TestModelSpecRoundTrip(t *testing.T) {
	m := trackerModel(t)
	data, err := json.Marshal(m.Spec())
	if err != nil {
		t.Fatal(err)
	}
	spec, err := rls.ParseSpec(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := spec.Model()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m.Relations(), m2.Relations()); diff != "" {
		t.Errorf("relations after a JSON round trip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(m.Config(), m2.Config()); diff != "" {
		t.Errorf("config after a JSON round trip (-want +got):\n%s", diff)
	}
	sql1, err := m.Generate()
	if err != nil {
		t.Fatal(err)
	}
	sql2, err := rls.Generate(m.Config(), m.Tables()...)
	if err != nil {
		t.Fatal(err)
	}
	if sql1 != sql2 {
		t.Error("Model.Generate and Generate of the same specs differ")
	}
}

// TestModelSystemSchemas: PostgreSQL's own relations may be registries the
// app's SQL reads, which Generate leaves alone; nothing else.
func TestModelSystemSchemas(t *testing.T) {
	for _, tt := range []rls.Table{
		{Name: "pg_catalog.pg_class"},
		{Name: "information_schema.tables", Kind: rls.Private},
		{Name: "pg_toast.pg_toast_1"},
	} {
		if _, err := rls.NewModel(rls.Config{}, tt); !errors.Is(err, rls.ErrInvalidTable) {
			t.Errorf("NewModel(%s, %s) = %v, want ErrInvalidTable", tt.Name, tt.Kind, err)
		}
	}
	m, err := rls.NewModel(rls.Config{Citus: true},
		rls.Table{Name: "pg_catalog.pg_timezone_names", Kind: rls.Registry},
		rls.Table{Name: "app.tasks"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Relation("pg_catalog", "pg_timezone_names").Class; got != rls.ClassRegistry {
		t.Errorf("pg_catalog.pg_timezone_names is %v, want registry", got)
	}
	sql, err := m.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(sql, "\n") {
		if strings.Contains(line, "pg_catalog.pg_timezone_names") && !strings.HasPrefix(line, "--") {
			t.Errorf("Generate touches PostgreSQL's own relation: %s", line)
		}
		if strings.Contains(line, "SCHEMA pg_catalog") {
			t.Errorf("Generate grants on pg_catalog: %s", line)
		}
	}
}

// TestModelTenantList: the registry marked ListsTenants is where the
// tenants are listed, quoted for SQL; a model without one has none.
func TestModelTenantList(t *testing.T) {
	if _, _, ok := trackerModel(t).TenantList(); ok {
		t.Error("a model without ListsTenants has a tenant list")
	}
	m, err := rls.NewModel(rls.Config{}, rls.Table{Name: "app.Orgs", Kind: rls.Registry, ListsTenants: "org id"}, rls.Table{Name: "app.tasks"})
	if err != nil {
		t.Fatal(err)
	}
	table, column, ok := m.TenantList()
	if !ok || table != `app."Orgs"` || column != `"org id"` {
		t.Errorf("TenantList = %s, %s, %v", table, column, ok)
	}
}
