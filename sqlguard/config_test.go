package sqlguard_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy/sqlguard"
)

func TestNewInvalidConfig(t *testing.T) {
	report := func(*sqlguard.RefusalError) {}
	tests := []struct {
		name string
		cfg  sqlguard.Config
	}{
		{"no tenant tables", sqlguard.Config{}},
		{"empty table name", sqlguard.Config{TenantTables: []string{""}}},
		{"three-part table name", sqlguard.Config{TenantTables: []string{"db.public.patients"}}},
		{"quoted table name", sqlguard.Config{TenantTables: []string{`"patients"`}}},
		{"bad column", sqlguard.Config{TenantTables: []string{"patients"}, TenantColumn: "clinic id"}},
		{"unqualified helper", sqlguard.Config{TenantTables: []string{"patients"}, TenantFunc: "current_tenant_id"}},
		{"report without OnReport", sqlguard.Config{TenantTables: []string{"patients"}, Mode: sqlguard.Report}},
		{"unknown mode", sqlguard.Config{TenantTables: []string{"patients"}, Mode: 7, OnReport: report}},
		{"negative cache size", sqlguard.Config{TenantTables: []string{"patients"}, CacheSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if g, err := sqlguard.New(tt.cfg); !errors.Is(err, sqlguard.ErrInvalidConfig) {
				t.Errorf("New = %v, %v; want ErrInvalidConfig", g, err)
			}
		})
	}
}

func TestConfigNames(t *testing.T) {
	g := newGuard(t, sqlguard.Config{
		TenantTables: []string{"app.visits"},
		TenantColumn: "practice_id",
		TenantFunc:   "ctx.practice",
	})
	runGuardTests(t, g, []guardTest{
		{name: "custom column and helper", sql: "select * from app.visits where practice_id = ctx.practice()"},
		{name: "default column is not special", sql: "select * from visits where clinic_id = $1",
			rule: sqlguard.RuleUnscoped, table: "visits", at: "visits"},
		{name: "default helper is not special", sql: "select * from visits where practice_id = tenancy.current_tenant_id()",
			rule: sqlguard.RuleUnscoped, table: "visits", at: "visits"},
		{name: "other schema", sql: "select * from public.visits"},
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
