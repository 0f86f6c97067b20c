package sqlguard_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// keyGuard returns a guard over a model whose tenants are keyed by typ,
// with one tenant table, public.tasks, tenant column org_id.
func keyGuard(t testing.TB, typ tenancy.KeyType) *sqlguard.Guard {
	t.Helper()
	m, err := rls.NewModel(rls.Config{TenantColumn: "org_id", TenantKey: typ}, rls.Table{Name: "public.tasks"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := sqlguard.New(sqlguard.Config{Model: m})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The guard compares bound values and constants with the tenant as keys of
// the model's key type: the same key in any Go type the driver sends as
// that key passes; another tenant's, or a value of another shape, does
// not.
func TestCheckKeyTypes(t *testing.T) {
	acme, _ := tenancy.TextID("acme")
	type bound struct {
		name string
		arg  any
		ok   bool
	}
	tests := []struct {
		typ    tenancy.KeyType
		tenant tenancy.ID
		params []bound
		// literal statements, and whether each passes
		literals map[string]bool
	}{
		{
			typ: tenancy.KeyBigint, tenant: tenancy.IntID(42),
			params: []bound{
				{"ID", tenancy.IntID(42), true}, {"int64", int64(42), true}, {"int", 42, true}, {"int32", int32(42), true},
				{"uint16", uint16(42), true}, {"named int", orgID(42), true}, {"string", "42", true},
				{"pgtype.Int8", pgtype.Int8{Int64: 42, Valid: true}, true}, {"pgtype.Int4", pgtype.Int4{Int32: 42, Valid: true}, true},
				{"*int64", ptr(int64(42)), true},
				{"other tenant", int64(43), false}, {"other ID", tenancy.IntID(43), false},
				{"leading zero", "042", false}, {"plus sign", "+42", false}, {"space", " 42", false},
				{"invalid pgtype.Int8", pgtype.Int8{Int64: 42}, false}, {"float", 42.0, false},
				{"uint64 overflow", uint64(1 << 63), false}, {"nil", nil, false}, {"a UUID", tenancy.NewID(), false},
			},
			literals: map[string]bool{
				"select * from tasks where org_id = 42":              true,
				"select * from tasks where org_id = '42'":            true,
				"select * from tasks where org_id = 42::bigint":      true,
				"select * from tasks where org_id = 43":              false,
				"select * from tasks where org_id = '042'":           false,
				"select * from tasks where org_id = 42::int4":        false,
				"select * from tasks where org_id = 9999999999":      false, // another (large) tenant
				"select * from tasks where org_id = $1::int8":        true,  // with 42 bound
				"select * from tasks where org_id = any($1::int8[])": true,
			},
		},
		{
			typ: tenancy.KeyText, tenant: acme,
			params: []bound{
				{"ID", acme, true}, {"string", "acme", true}, {"named string", label("acme"), true},
				{"pgtype.Text", pgtype.Text{String: "acme", Valid: true}, true}, {"*string", ptr("acme"), true},
				{"other tenant", "globex", false}, {"upper case", "ACME", false}, {"padded", "acme ", false},
				{"[]byte", []byte("acme"), false}, {"int", 42, false}, {"nil", nil, false},
			},
			literals: map[string]bool{
				"select * from tasks where org_id = 'acme'":       true,
				"select * from tasks where org_id = 'acme'::text": true,
				"select * from tasks where org_id = 'globex'":     false,
				"select * from tasks where org_id = 42":           false,
				"select * from tasks where org_id = $1::text":     true,
				"select * from tasks where org_id = 'acme'::uuid": false,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			g := keyGuard(t, tt.typ)
			for _, b := range tt.params {
				err := g.Check("select * from tasks where org_id = $1", []any{b.arg}, tt.tenant)
				if b.ok && err != nil {
					t.Errorf("%s: %v, want nil", b.name, err)
				}
				if !b.ok && !errors.Is(err, sqlguard.ErrRefused) {
					t.Errorf("%s: %v, want ErrRefused", b.name, err)
				}
			}
			for sql, ok := range tt.literals {
				arg := any(tt.tenant)
				if tt.typ == tenancy.KeyBigint && sql == "select * from tasks where org_id = any($1::int8[])" {
					arg = []int64{42, 42}
				}
				err := g.Check(sql, []any{arg}, tt.tenant)
				if ok && err != nil {
					t.Errorf("%s: %v, want nil", sql, err)
				}
				if !ok && !errors.Is(err, sqlguard.ErrRefused) {
					t.Errorf("%s: %v, want ErrRefused", sql, err)
				}
			}
		})
	}
}

type orgID int64

type label string

func ptr[T any](v T) *T { return &v }

// Types that implement pgx's own encoder interfaces are sent as their
// methods say, whatever their underlying value; the guard refuses them as
// the tenant rather than read a value pgx would not send.
type (
	sneakyText string
	sneakyInt  int64
	sneakyUUID [16]byte
)

func (sneakyText) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: "globex", Valid: true}, nil
}
func (sneakyInt) Int64Value() (pgtype.Int8, error) { return pgtype.Int8{Int64: 43, Valid: true}, nil }
func (sneakyUUID) UUIDValue() (pgtype.UUID, error) { return pgtype.UUID{Valid: true}, nil }

func TestCheckRefusesPgxEncoders(t *testing.T) {
	acme, _ := tenancy.TextID("acme")
	for _, c := range []struct {
		typ    tenancy.KeyType
		tenant tenancy.ID
		arg    any
	}{
		{tenancy.KeyText, acme, sneakyText("acme")},
		{tenancy.KeyText, acme, ptr(sneakyText("acme"))},
		{tenancy.KeyBigint, tenancy.IntID(42), sneakyInt(42)},
		{tenancy.KeyUUID, tenantA, sneakyUUID(raw(tenantA))},
	} {
		err := keyGuard(t, c.typ).Check("select * from tasks where org_id = $1", []any{c.arg}, c.tenant)
		if !errors.Is(err, sqlguard.ErrRefused) {
			t.Errorf("%s key bound as %T: %v, want ErrRefused", c.typ, c.arg, err)
		}
	}
}
