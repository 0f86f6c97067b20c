package sqlguard_test

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// Types an application may carry the tenant in.
type (
	// bareID is a named [16]byte without methods: the driver sends its bytes.
	bareID [16]byte
	// labelID is a named string: the driver sends its text.
	labelID string
	// lyingID is a named [16]byte whose Value says something else than its
	// bytes: the driver sends what Value returns.
	lyingID [16]byte
	// textValuer and bytesValuer return what they hold from Value.
	textValuer  struct{ s string }
	bytesValuer struct{ b []byte }
	// failingValuer fails.
	failingValuer struct{}
	// ptrValuer has Value on the pointer only.
	ptrValuer struct{ id tenancy.ID }
	// valuerSlice is a slice type with a Value method of its own.
	valuerSlice []tenancy.ID
)

func (l lyingID) Value() (driver.Value, error)     { return tenantB.String(), nil }
func (v textValuer) Value() (driver.Value, error)  { return v.s, nil }
func (v bytesValuer) Value() (driver.Value, error) { return v.b, nil }
func (failingValuer) Value() (driver.Value, error) { return nil, errors.New("no") }
func (p *ptrValuer) Value() (driver.Value, error)  { return p.id.String(), nil }
func (v valuerSlice) Value() (driver.Value, error) { return "{" + tenantA.String() + "}", nil }
func nullValuer(s string, ok bool) sql.NullString  { return sql.NullString{String: s, Valid: ok} }
func uuidOf(id tenancy.ID) uuid.UUID               { return uuid.UUID(raw(id)) }
func nullUUIDOf(id tenancy.ID, ok bool) uuid.NullUUID {
	return uuid.NullUUID{UUID: uuid.UUID(raw(id)), Valid: ok}
}

// paramCarriers are the values that carry tenant A, one per way the guard
// reads a parameter, and whether a check of an accepted statement with it
// allocates nothing.
func paramCarriers() []struct {
	name    string
	arg     any
	noAlloc bool
} {
	a := tenantA
	aBytes := raw(a)
	aStr := a.String()
	aUUID := uuidOf(a)
	aBare := bareID(raw(a))
	return []struct {
		name    string
		arg     any
		noAlloc bool
	}{
		{"tenancy.ID", a, true},
		{"*tenancy.ID", &a, true},
		{"[16]byte", aBytes, true},
		{"*[16]byte", &aBytes, true},
		{"string", aStr, true},
		{"upper-case string", strings.ToUpper(aStr), true},
		{"*string", &aStr, true},
		{"named string", labelID(aStr), true},
		{"google/uuid.UUID", aUUID, true},
		{"*google/uuid.UUID", &aUUID, true},
		{"named [16]byte", aBare, true},
		{"*named [16]byte", &aBare, true},
		{"pgtype.UUID", pgtype.UUID{Bytes: raw(a), Valid: true}, true},
		{"*pgtype.UUID", &pgtype.UUID{Bytes: raw(a), Valid: true}, true},
		{"pgtype.Text", pgtype.Text{String: aStr, Valid: true}, true},
		{"driver.Valuer of a string", textValuer{aStr}, false},
		{"driver.Valuer of 16 bytes", bytesValuer{aBytes[:]}, false},
		{"*driver.Valuer on the pointer", &ptrValuer{a}, false},
		{"sql.NullString", nullValuer(aStr, true), false},
		{"google/uuid.NullUUID", nullUUIDOf(a, true), false},
	}
}

// TestCheckParameterCarriers: every type that carries the tenant is read,
// and the same types carrying another tenant, or nothing, are refused.
func TestCheckParameterCarriers(t *testing.T) {
	g := newGuard(t, sqlguard.Config{})
	const q = "select * from patients where clinic_id = $1"
	for _, c := range paramCarriers() {
		t.Run(c.name, func(t *testing.T) {
			if err := g.Check(q, []any{c.arg}, tenantA); err != nil {
				t.Errorf("Check with %T for A: %v, want nil", c.arg, err)
			}
			var re *sqlguard.RefusalError
			if err := g.Check(q, []any{c.arg}, tenantB); !errors.As(err, &re) || re.Rule != sqlguard.RuleParamTenant || re.Param != 1 {
				t.Errorf("Check with %T (tenant A) for B: %v, want param-tenant for $1", c.arg, err)
			}
			if c.noAlloc {
				args := []any{c.arg}
				if n := testing.AllocsPerRun(100, func() { _ = g.Check(q, args, tenantA) }); n != 0 {
					t.Errorf("Check with %T allocates %v times, want 0", c.arg, n)
				}
			}
		})
	}
	var (
		nilUUID *uuid.UUID
		nilPtr  *ptrValuer
		nilText *pgtype.Text
	)
	b := tenantB
	for _, tt := range []struct {
		name string
		arg  any
	}{
		{"google/uuid.UUID of B", uuidOf(b)},
		{"nil *google/uuid.UUID", nilUUID},
		{"google/uuid.Nil", uuid.Nil},
		{"invalid google/uuid.NullUUID", nullUUIDOf(tenantA, false)},
		{"named [16]byte of B", bareID(raw(b))},
		{"named [16]byte whose Value is B", lyingID(raw(tenantA))},
		{"named string of B", labelID(b.String())},
		{"named string, not canonical", labelID("{" + tenantA.String() + "}")},
		{"invalid pgtype.Text", pgtype.Text{String: tenantA.String()}},
		{"nil *pgtype.Text", nilText},
		{"driver.Valuer of B", textValuer{b.String()}},
		{"driver.Valuer of a non-canonical string", textValuer{strings.ReplaceAll(tenantA.String(), "-", "")}},
		{"driver.Valuer of 15 bytes", bytesValuer{rawBytes(tenantA)[:15]}},
		{"driver.Valuer of 36 bytes", bytesValuer{[]byte(tenantA.String())}},
		{"driver.Valuer failing", failingValuer{}},
		{"nil pointer with Value", nilPtr},
		{"invalid sql.NullString", nullValuer(tenantA.String(), false)},
		{"sql.NullString of B", nullValuer(b.String(), true)},
		{"[]byte", rawBytes(tenantA)},
		{"slice", []tenancy.ID{tenantA}},
		{"struct holding the tenant", struct{ ID tenancy.ID }{tenantA}},
		{"int", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var re *sqlguard.RefusalError
			if err := g.Check(q, []any{tt.arg}, tenantA); !errors.As(err, &re) || re.Rule != sqlguard.RuleParamTenant || re.Param != 1 {
				t.Errorf("Check with %#v: %v, want param-tenant for $1", tt.arg, err)
			}
		})
	}
}

// TestCheckArrayParameters: tenant_col = ANY($n) is scoped when the bound
// array is non-empty and holds only the tenant, in any of the carriers.
func TestCheckArrayParameters(t *testing.T) {
	g := newGuard(t, sqlguard.Config{})
	a, b := tenantA, tenantB
	aStr := a.String()
	for _, sql := range []string{
		"select * from patients where clinic_id = any($1)",
		"select * from patients where clinic_id = any($1::uuid[])",
		`select * from tasks where "tenantId" = any($1) and id = $2`,
		"delete from attachments where organization_id = any($1)",
	} {
		ok := []struct {
			name string
			arg  any
		}{
			{"[]tenancy.ID", []tenancy.ID{a}},
			{"[]tenancy.ID, twice", []tenancy.ID{a, a}},
			{"[1]tenancy.ID", [1]tenancy.ID{a}},
			{"*[]tenancy.ID", &[]tenancy.ID{a}},
			{"[]google/uuid.UUID", []uuid.UUID{uuidOf(a)}},
			{"uuid.UUIDs", uuid.UUIDs{uuidOf(a)}},
			{"[]string", []string{aStr}},
			{"[][16]byte", [][16]byte{raw(a)}},
			{"[]pgtype.UUID", []pgtype.UUID{{Bytes: raw(a), Valid: true}}},
			{"pgtype.FlatArray", pgtype.FlatArray[tenancy.ID]{a}},
			{"[]*tenancy.ID", []*tenancy.ID{&a}},
			{"[]any", []any{a, aStr, uuidOf(a)}},
			{"[]driver.Valuer", []driver.Valuer{textValuer{aStr}}},
		}
		for _, tt := range ok {
			args := []any{tt.arg, b}
			if err := g.Check(sql, args, tenantA); err != nil {
				t.Errorf("Check(%q) with %s: %v, want nil", sql, tt.name, err)
			}
		}
		refused := []struct {
			name string
			arg  any
		}{
			{"another tenant", []tenancy.ID{b}},
			{"the tenant and another", []tenancy.ID{a, b}},
			{"empty", []tenancy.ID{}},
			{"nil slice", []tenancy.ID(nil)},
			{"nil", nil},
			{"a value, not an array", a},
			{"a string, not an array", "{" + aStr + "}"},
			{"nil element", []*tenancy.ID{nil}},
			{"[]any with another tenant", []any{a, b.String()}},
			{"[]byte", rawBytes(a)},
			{"slice type with a Value method", valuerSlice{a}},
			{"[]google/uuid.UUID of another tenant", []uuid.UUID{uuidOf(a), uuidOf(b)}},
			{"pgtype.Array", pgtype.Array[tenancy.ID]{Elements: []tenancy.ID{a}, Dims: []pgtype.ArrayDimension{{Length: 1, LowerBound: 1}}, Valid: true}},
		}
		for _, tt := range refused {
			var re *sqlguard.RefusalError
			if err := g.Check(sql, []any{tt.arg, b}, tenantA); !errors.As(err, &re) || re.Rule != sqlguard.RuleParamTenant || re.Param != 1 {
				t.Errorf("Check(%q) with %s: %v, want param-tenant for $1", sql, tt.name, err)
			}
		}
	}
	arrayArgs := []any{[]uuid.UUID{uuidOf(a)}}
	if n := testing.AllocsPerRun(100, func() {
		_ = g.Check("select * from patients where clinic_id = any($1)", arrayArgs, tenantA)
	}); n != 0 {
		t.Errorf("Check with []uuid.UUID allocates %v times, want 0", n)
	}
	// An array of the tenant does not make a scalar comparison pass, nor
	// the reverse: the same $1 used both ways cannot satisfy both.
	runGuardTests(t, g, []guardTest{
		{name: "array for a scalar", sql: "select * from patients where clinic_id = $1", args: []any{[]tenancy.ID{a}},
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$1", param: 1},
		{name: "any of an array literal", sql: "select * from patients where clinic_id = any(array[$1, $1::uuid])", args: []any{a}},
		{name: "any of an array literal with another tenant", sql: "select * from patients where clinic_id = any(array[$1, $2])", args: []any{a, b},
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
		{name: "any under or", sql: "select * from patients where clinic_id = any($1) or true", args: []any{[]tenancy.ID{a}},
			rule: orBranch, table: "patients", at: "patients"},
		{name: "all", sql: "select * from patients where clinic_id <> all($1)", args: []any{[]tenancy.ID{b}},
			rule: unscoped, table: "patients", at: "patients"},
		{name: "any of a text array", sql: "select * from patients where clinic_id::text = any($1::text[])", args: []any{[]string{a.String()}},
			rule: unscoped, table: "patients", at: "patients"},
		{name: "any of a column", sql: "select * from patients p, appointments a where a.clinic_id = $1 and p.clinic_id = any(array[a.patient_id])", args: []any{a},
			rule: unscoped, table: "patients", at: "patients"},
	})
}
