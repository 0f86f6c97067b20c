package sqlguard

import (
	"database/sql/driver"
	"reflect"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy"
)

// tenantKey is the tenant of one check: its canonical text and the type of
// the model's tenant keys, which says how a bound value is read.
type tenantKey struct {
	t tenancy.KeyType
	s string
}

// isTenant reports whether arg, bound to a parameter, is the tenant, read
// as the driver sends it and compared by value of the model's key type:
//
//   - uuid: a tenancy.ID; the 16 bytes of a [16]byte, pgtype.UUID or any
//     other type whose underlying type is [16]byte; the text of a string,
//     pgtype.Text or any type whose underlying type is string, which must be
//     a canonical UUID (either case);
//   - bigint: a tenancy.ID; any Go integer; pgtype.Int8, Int4 and Int2;
//     a string (or pgtype.Text, or string type) in canonical decimal;
//   - text: a tenancy.ID; a string, pgtype.Text or string type, byte for
//     byte.
//
// For any other [driver.Valuer] it reads what Value returns (a string; 16
// bytes for uuid; an int64 for bigint); an error or nil is not the tenant.
// A type with a Value method is read through it, as pgx and database/sql
// do, except those known to return the canonical text of their own 16
// bytes (github.com/google/uuid and github.com/gofrs/uuid), which are read
// without calling it. Pointers are followed; nil is not the tenant. It
// fails closed: any other type is not the tenant. It allocates nothing for
// the types above except a driver.Valuer that it must call.
func isTenant(arg any, k tenantKey) bool {
	switch v := arg.(type) {
	case tenancy.ID:
		return v.String() == k.s
	case *tenancy.ID:
		return v != nil && v.String() == k.s
	case string:
		return k.text(v)
	case *string:
		return v != nil && k.text(*v)
	case pgtype.Text:
		return v.Valid && k.text(v.String)
	case *pgtype.Text:
		return v != nil && v.Valid && k.text(v.String)
	case [16]byte:
		return k.bytes16(v)
	case *[16]byte:
		return v != nil && k.bytes16(*v)
	case pgtype.UUID:
		return v.Valid && k.bytes16(v.Bytes)
	case *pgtype.UUID:
		return v != nil && v.Valid && k.bytes16(v.Bytes)
	case int64:
		return k.int(v)
	case int:
		return k.int(int64(v))
	case int32:
		return k.int(int64(v))
	case pgtype.Int8:
		return v.Valid && k.int(v.Int64)
	case *pgtype.Int8:
		return v != nil && v.Valid && k.int(v.Int64)
	case nil:
		return false
	}
	return valueIsTenant(reflect.ValueOf(arg), k)
}

// text reports whether s, sent as text, is the tenant: for uuid keys a
// canonical UUID in either case, for bigint the canonical decimal, for
// text the same bytes.
func (k tenantKey) text(s string) bool {
	if k.t != tenancy.KeyUUID {
		return s == k.s
	}
	if len(s) != len(k.s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'F' {
			c += 'a' - 'A'
		}
		if c != k.s[i] {
			return false
		}
	}
	return true
}

// bytes16 reports whether the 16 bytes of a uuid are the tenant.
func (k tenantKey) bytes16(b [16]byte) bool {
	if k.t != tenancy.KeyUUID || len(k.s) != 36 {
		return false
	}
	const hexDigits = "0123456789abcdef"
	j := 0
	for i, c := range b {
		switch i {
		case 4, 6, 8, 10:
			j++ // the tenant's hyphen
		}
		if k.s[j] != hexDigits[c>>4] || k.s[j+1] != hexDigits[c&0x0f] {
			return false
		}
		j += 2
	}
	return true
}

// int reports whether the integer n is the tenant: only for bigint keys.
func (k tenantKey) int(n int64) bool {
	if k.t != tenancy.KeyBigint {
		return false
	}
	var buf [20]byte
	return string(strconv.AppendInt(buf[:0], n, 10)) == k.s
}

var (
	// pgx prefers these encoder interfaces to both a type's underlying
	// kind and its driver.Valuer: a type outside pgtype that implements
	// one is sent as its method says, not as the guard would read it.
	pgxEncoderTypes = []reflect.Type{
		reflect.TypeFor[pgtype.TextValuer](), reflect.TypeFor[pgtype.Int64Valuer](),
		reflect.TypeFor[pgtype.UUIDValuer](), reflect.TypeFor[pgtype.NumericValuer](),
		reflect.TypeFor[pgtype.Float64Valuer](), reflect.TypeFor[pgtype.Uint64Valuer](),
		reflect.TypeFor[pgtype.Uint32Valuer](), reflect.TypeFor[pgtype.BytesValuer](),
	}
	valuerType = reflect.TypeFor[driver.Valuer]()
	pgUUIDType = reflect.TypeFor[pgtype.UUID]()
	pgTextType = reflect.TypeFor[pgtype.Text]()
	pgInt8Type = reflect.TypeFor[pgtype.Int8]()
	pgInt4Type = reflect.TypeFor[pgtype.Int4]()
	pgInt2Type = reflect.TypeFor[pgtype.Int2]()
)

// knownUUID reports whether t is a [16]byte type whose Value method is
// known to return the canonical text of its bytes.
func knownUUID(t reflect.Type) bool {
	if t.Name() != "UUID" {
		return false
	}
	switch t.PkgPath() {
	case "github.com/google/uuid", "github.com/gofrs/uuid", "github.com/gofrs/uuid/v5":
		return true
	}
	return false
}

func isBytes16(t reflect.Type) bool {
	return t.Kind() == reflect.Array && t.Len() == 16 && t.Elem().Kind() == reflect.Uint8
}

// valueIsTenant is isTenant for the types that need reflection.
func valueIsTenant(v reflect.Value, k tenantKey) bool {
	for {
		if !v.IsValid() {
			return false
		}
		t := v.Type()
		if kind := t.Kind(); kind == reflect.Pointer || kind == reflect.Interface {
			if v.IsNil() {
				return false
			}
			if kind == reflect.Pointer && t.Implements(valuerType) && !t.Elem().Implements(valuerType) {
				return valuerIsTenant(v, k) // a Value method on the pointer only
			}
			// (*T).Value of a method on T is T.Value: read T.
			v = v.Elem()
			continue
		}
		if pgxEncoded(t) {
			return false // pgx would send what the method returns: refused, not guessed
		}
		switch {
		case t == pgUUIDType:
			return v.Field(1).Bool() && bytesAre(v.Field(0), k)
		case t == pgTextType:
			return v.Field(1).Bool() && k.text(v.Field(0).String())
		case t == pgInt8Type, t == pgInt4Type, t == pgInt2Type:
			return v.Field(1).Bool() && k.int(v.Field(0).Int())
		case isBytes16(t) && (t.Name() == "" || knownUUID(t)):
			return bytesAre(v, k)
		case t.Implements(valuerType):
			return valuerIsTenant(v, k)
		case isBytes16(t):
			return bytesAre(v, k)
		case t.Kind() == reflect.String:
			return k.text(v.String())
		}
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return k.int(v.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			u := v.Uint()
			return u <= 1<<63-1 && k.int(int64(u))
		}
		return false
	}
}

// pgxEncoded reports whether t, or *t, is a type outside pgx's own
// packages that implements one of the encoder interfaces pgx prefers
// (pgtype.TextValuer, Int64Valuer, UUIDValuer and their kin).
func pgxEncoded(t reflect.Type) bool {
	if t.PkgPath() == pgtypePath || t.PkgPath() == "" {
		return false // pgx's own, or unnamed (no methods)
	}
	if v, ok := encodedTypes.Load(t); ok {
		return v.(bool)
	}
	pt := reflect.PointerTo(t)
	encoded := false
	for _, e := range pgxEncoderTypes {
		if t.Implements(e) || pt.Implements(e) {
			encoded = true
			break
		}
	}
	encodedTypes.Store(t, encoded)
	return encoded
}

// encodedTypes caches pgxEncoded by type: a program binds few types.
var encodedTypes sync.Map // reflect.Type -> bool

// pgtypePath is the package of pgx's own value types, which the guard reads
// by their fields.
const pgtypePath = "github.com/jackc/pgx/v5/pgtype"

// bytesAre reports whether the [16]byte-kind value v holds the tenant,
// without allocating.
func bytesAre(v reflect.Value, k tenantKey) bool {
	var b [16]byte
	if v.CanAddr() {
		copy(b[:], v.Bytes())
	} else {
		for i := range 16 {
			b[i] = byte(v.Index(i).Uint())
		}
	}
	return k.bytes16(b)
}

// valuerIsTenant calls Value as the driver would, and reads the result: a
// string, 16 bytes for uuid keys, an int64 for bigint keys.
func valuerIsTenant(v reflect.Value, k tenantKey) bool {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return false // database/sql sends NULL, and Value could panic
	}
	if !v.CanInterface() {
		return false
	}
	vr, ok := v.Interface().(driver.Valuer)
	if !ok {
		return false
	}
	dv, err := vr.Value()
	if err != nil {
		return false
	}
	switch x := dv.(type) {
	case string:
		return k.text(x)
	case []byte:
		return len(x) == 16 && k.bytes16([16]byte(x))
	case int64:
		return k.int(x)
	}
	return false
}

// isTenantArray reports whether arg, bound to the array of tenant_id =
// ANY($n), is a non-empty slice or array whose every element is the
// tenant (see isTenant). A slice type with a Value method of its own is
// not read: the driver would send what it returns.
func isTenantArray(arg any, k tenantKey) bool {
	switch v := arg.(type) {
	case []tenancy.ID:
		for _, id := range v {
			if id.String() != k.s {
				return false
			}
		}
		return len(v) > 0
	case []string:
		for _, s := range v {
			if !k.text(s) {
				return false
			}
		}
		return len(v) > 0
	case []int64:
		for _, n := range v {
			if !k.int(n) {
				return false
			}
		}
		return len(v) > 0
	case nil:
		return false
	}
	v := reflect.ValueOf(arg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() || v.Type().Implements(valuerType) {
			return false
		}
		v = v.Elem()
	}
	t := v.Type()
	if (t.Kind() != reflect.Slice && t.Kind() != reflect.Array) || t.Implements(valuerType) || v.Len() == 0 {
		return false
	}
	if t.Elem().Kind() == reflect.Uint8 && k.t != tenancy.KeyUUID {
		return false // a []byte is bytea, not an array of keys
	}
	for i := range v.Len() {
		if !valueIsTenant(v.Index(i), k) {
			return false
		}
	}
	return true
}
