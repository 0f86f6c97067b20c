package sqlguard_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

func TestNewInvalidConfig(t *testing.T) {
	report := func(*sqlguard.RefusalError) {}
	m := testModel(t, rls.Config{})
	tests := []struct {
		name string
		cfg  sqlguard.Config
	}{
		{"no model", sqlguard.Config{}},
		{"no model, report mode", sqlguard.Config{Mode: sqlguard.Report, OnReport: report}},
		{"report without OnReport", sqlguard.Config{Model: m, Mode: sqlguard.Report}},
		{"unknown mode", sqlguard.Config{Model: m, Mode: 7, OnReport: report}},
		{"negative cache size", sqlguard.Config{Model: m, CacheSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if g, err := sqlguard.New(tt.cfg); !errors.Is(err, sqlguard.ErrInvalidConfig) {
				t.Errorf("New = %v, %v; want ErrInvalidConfig", g, err)
			}
		})
	}
}

// TestConfigNames: the helper schema and the default tenant column come
// from the model, and nothing else is special.
func TestConfigNames(t *testing.T) {
	m, err := rls.NewModel(rls.Config{Schema: "ctx", TenantColumn: "practice_id"},
		rls.Table{Name: "app.visits"}, rls.Table{Name: "public.visits", Kind: rls.Registry})
	if err != nil {
		t.Fatal(err)
	}
	g := newGuard(t, sqlguard.Config{Model: m})
	runGuardTests(t, g, []guardTest{
		{name: "custom column and helper", sql: "select * from app.visits where practice_id = ctx.current_tenant_id()"},
		{name: "default column is not special", sql: "select * from app.visits where clinic_id = $1",
			rule: sqlguard.RuleUnscoped, table: "app.visits", at: "app"},
		{name: "default helper is not special", sql: "select * from app.visits where practice_id = tenancy.current_tenant_id()",
			rule: sqlguard.RuleUnscoped, table: "app.visits", at: "app"},
		{name: "default helper is not allowed either", sql: "select tenancy.current_tenant_id()",
			rule: sqlguard.RuleFunction, at: "tenancy", fn: "tenancy.current_tenant_id"},
		{name: "unqualified name, one candidate a tenant table", sql: "select * from visits",
			rule: sqlguard.RuleUnscoped, table: "visits", at: "visits"},
		{name: "registry", sql: "select * from public.visits"},
	})
}

func TestModeString(t *testing.T) {
	for m, want := range map[sqlguard.Mode]string{sqlguard.Enforce: "enforce", sqlguard.Report: "report", 9: "Mode(9)"} {
		if got := m.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", int(m), got, want)
		}
	}
}

func TestReportMode(t *testing.T) {
	var got []sqlguard.Rule
	g := newGuard(t, sqlguard.Config{Mode: sqlguard.Report, OnReport: func(e *sqlguard.RefusalError) { got = append(got, e.Rule) }})
	for _, sql := range []string{"select * from patients", "truncate patients", "select 1"} {
		if err := g.Check(sql, nil, tenantA); err != nil {
			t.Errorf("Check(%q) in Report mode = %v, want nil", sql, err)
		}
	}
	if err := g.Check("select * from patients where clinic_id = $1", []any{tenantB}, tenantA); err != nil {
		t.Errorf("Check with another tenant's parameter in Report mode = %v, want nil", err)
	}
	want := []sqlguard.Rule{sqlguard.RuleUnscoped, sqlguard.RuleTruncate, sqlguard.RuleParamTenant}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reported rules (-want +got):\n%s", diff)
	}
}
