package rls

import "testing"

// TestIsAlwaysTrue: expressions as pg_get_expr prints them.
func TestIsAlwaysTrue(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{"true", true},
		{"(1 = 1)", true},
		{"('a'::text = 'a'::text)", true},
		{"(NOT false)", true},
		{"(true OR (clinic_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id)))", true},
		{"((clinic_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id)) OR (2 > 1))", true},
		{"('t'::text)::boolean", true},
		{"'yes'::boolean", true},
		{"(1 OPERATOR(pg_catalog.=) 1)", true},
		{"((1 = 1) AND (2 <> 3))", true},
		{"('1'::integer = 1)", true},

		{"false", false},
		{"(1 = 2)", false},
		{"NULL::boolean", false},
		{"(true AND (clinic_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id)))", false},
		{"(NULL::integer = 1)", false},
		{"(NOT (1 = 1))", false},
		{"(clinic_id = ( SELECT tenancy.current_tenant_id() AS current_tenant_id))", false},
		{"(( SELECT tenancy.principal_kind() AS principal_kind) = 'staff'::text)", false},
		{"('a'::text < 'b'::text)", false},  // collation-dependent: not folded
		{"(1 OPERATOR(public.=) 1)", false}, // someone's own operator: not folded
		{"(1 === 1)", false},
		{"f()", false},
		{"not valid sql (", false},
	}
	for _, tt := range tests {
		if got := isAlwaysTrue(tt.expr); got != tt.want {
			t.Errorf("isAlwaysTrue(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}
