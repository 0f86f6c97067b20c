package rls

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The inputs are written as pg_get_expr prints policy expressions.
func TestIsTenantPredicate(t *testing.T) {
	const fn = "tenancy.current_tenant_id"
	tests := []struct {
		expr string
		want bool
	}{
		{"(clinic_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id))", true},
		{"(clinic_id = tenancy.current_tenant_id())", true},
		{"((clinic_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id)) AND (deleted_at IS NULL))", true},
		{"((clinic_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id)) OR is_public)", false},
		{"(clinic_id <> ( SELECT tenancy.current_tenant_id() AS current_tenant_id))", false},
		{"(other_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id))", false},
		{"(clinic_id = ( SELECT public.current_tenant_id() AS current_tenant_id))", false},
		{"(clinic_id = (current_setting('tenancy.tenant_id'::text))::uuid)", false},
		{"true", false},
	}
	for _, tt := range tests {
		if got := isTenantPredicate(tt.expr, "clinic_id", fn); got != tt.want {
			t.Errorf("isTenantPredicate(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestHasNullEscape(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{"((current_setting('tenancy.tenant_id'::text, true) IS NULL) OR (clinic_id = (current_setting('tenancy.tenant_id'::text))::uuid))", true},
		{"((clinic_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id)) OR (( SELECT tenancy.current_tenant_id() AS current_tenant_id) IS NULL))", true},
		{"((clinic_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id)) AND (deleted_at IS NULL))", false},
		{"((( SELECT tenancy.principal_kind() AS principal_kind) <> 'patient'::text) OR (patient_id = ( SELECT tenancy.current_subject_id() AS current_subject_id)))", false},
		{"(note = 'x IS NULL OR y'::text)", false},
	}
	for _, tt := range tests {
		if got := hasNullEscape(tt.expr); got != tt.want {
			t.Errorf("hasNullEscape(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestUnwrappedCalls(t *testing.T) {
	helpers := []string{"current_tenant_id", "principal_kind"}
	tests := []struct {
		expr string
		want []string
	}{
		{"(clinic_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id))", nil},
		{"(clinic_id = ( SELECT (current_setting('tenancy.tenant_id'::text))::uuid AS current_setting))", nil},
		{"(clinic_id = tenancy.current_tenant_id())", []string{"current_tenant_id"}},
		{"(clinic_id = (current_setting('tenancy.tenant_id'::text))::uuid)", []string{"current_setting"}},
		{"((tenancy.principal_kind() = 'staff'::text) AND (clinic_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id)))", []string{"principal_kind"}},
		{"(note = 'current_setting('::text)", nil},
		{"(my_current_setting(x) = 1)", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, unwrappedCalls(tt.expr, helpers)); diff != "" {
			t.Errorf("unwrappedCalls(%q) (-want +got):\n%s", tt.expr, diff)
		}
	}
}
