package rls_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

func TestParseSpec(t *testing.T) {
	in := `{
		"schema": "tn",
		"app_role": "app",
		"citus": true,
		"allow_cross_tenant": ["audit.events.audit_platform"],
		"tables": [
			{"name": "public.clinics", "kind": "registry"},
			{"name": "public.appointments", "subject_column": "patient_id", "read_only": ["patient"]},
			{"name": "audit.events", "kind": "tenant", "read_roles": ["owner"], "privileges": ["SELECT", "INSERT"]},
			{"name": "public.river_job", "tenant_column": "tenancy_tenant_id", "privileges": ["SELECT", "INSERT"],
			 "update_columns": ["kind"], "allow_unique": ["river_job_pkey"]}
		]
	}`
	got, err := rls.ParseSpec(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := rls.Spec{
		Config: rls.Config{Schema: "tn", AppRole: "app", Citus: true, AllowCrossTenant: []string{"audit.events.audit_platform"}},
		Tables: []rls.Table{
			{Name: "public.clinics", Kind: rls.Registry},
			{Name: "public.appointments", SubjectColumn: "patient_id", ReadOnly: []tenancy.Kind{tenancy.Kind("patient")}},
			{Name: "audit.events", ReadRoles: []string{"owner"}, Privileges: []string{"SELECT", "INSERT"}},
			{Name: "public.river_job", TenantColumn: "tenancy_tenant_id", Privileges: []string{"SELECT", "INSERT"},
				UpdateColumns: []string{"kind"}, AllowUnique: []string{"river_job_pkey"}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseSpec (-want +got):\n%s", diff)
	}
}

func TestParseSpecInvalid(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"unknown field", `{"tables": [{"name": "public.a", "subjet_column": "p"}]}`, rls.ErrInvalidSpec},
		{"unknown top-level field", `{"app": "x"}`, rls.ErrInvalidSpec},
		{"bad kind", `{"tables": [{"name": "public.a", "kind": "shared"}]}`, rls.ErrInvalidTable},
		{"malformed principal kind", `{"tables": [{"name": "public.a", "read_only": ["Robot"]}]}`, tenancy.ErrInvalidKind},
		{"unknown access", `{"kinds": [{"name": "robot", "access": "root"}]}`, tenancy.ErrInvalidKind},
		{"unknown key type", `{"tenant_key": "int4"}`, tenancy.ErrInvalidKeyType},
		{"trailing data", `{} {}`, rls.ErrInvalidSpec},
		{"not JSON", `tables:`, rls.ErrInvalidSpec},
		{"empty", ``, rls.ErrInvalidSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rls.ParseSpec(strings.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Errorf("ParseSpec error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  rls.Config
		want error
	}{
		{"zero means defaults", rls.Config{}, nil},
		{"quoted names", rls.Config{Schema: "Tenancy", AppRole: `app "x"`, AllowDefiner: []string{"auth.sign_in"}}, nil},
		{"NUL in schema", rls.Config{Schema: "a\x00"}, rls.ErrInvalidConfig},
		{"long column", rls.Config{TenantColumn: strings.Repeat("c", 64)}, rls.ErrInvalidConfig},
		{"unqualified definer", rls.Config{AllowDefiner: []string{"sign_in"}}, rls.ErrInvalidConfig},
		{"cross-tenant policy", rls.Config{AllowCrossTenant: []string{"audit.events.audit_platform", `Odd.order.Platform "Reads"`}}, nil},
		{"cross-tenant policy without a table", rls.Config{AllowCrossTenant: []string{"audit.audit_platform"}}, rls.ErrInvalidConfig},
		{"cross-tenant policy name alone", rls.Config{AllowCrossTenant: []string{"audit_platform"}}, rls.ErrInvalidConfig},
		{"cross-tenant policy with a fourth part", rls.Config{AllowCrossTenant: []string{"db.audit.events.audit_platform"}}, rls.ErrInvalidConfig},
		{"cross-tenant policy with an empty part", rls.Config{AllowCrossTenant: []string{"audit..audit_platform"}}, rls.ErrInvalidConfig},
		{"cross-tenant policy as SQL", rls.Config{AllowCrossTenant: []string{"audit_platform on audit.events"}}, rls.ErrInvalidConfig},
		{"cross-tenant policy with a newline", rls.Config{AllowCrossTenant: []string{"audit.events.audit\nplatform"}}, rls.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); !errors.Is(err, tt.want) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
}
