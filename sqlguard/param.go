package sqlguard

import (
	"database/sql/driver"
	"reflect"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy"
)

// isTenant reports whether arg, bound to a parameter, is the tenant. It
// reads what the driver sends for arg: the 16 bytes of a tenancy.ID,
// [16]byte, pgtype.UUID or any other type whose underlying type is
// [16]byte; the text of a string, pgtype.Text or any type whose underlying
// type is string, which must be a canonical UUID; and what Value returns
// for any other [driver.Valuer] (a canonical UUID string or 16 bytes; an
// error or nil is not the tenant). A type with a Value method is read
// through it, as pgx and database/sql do, except those known to return
// the canonical text of their own 16 bytes (github.com/google/uuid and
// github.com/gofrs/uuid), which are read without calling it. Pointers are
// followed; nil is not the tenant. It fails closed: any other type is not
// the tenant. It allocates nothing for the types above except a
// driver.Valuer that it must call.
func isTenant(arg any, tenant tenancy.ID) bool {
	switch v := arg.(type) {
	case tenancy.ID:
		return v == tenant
	case *tenancy.ID:
		return v != nil && *v == tenant
	case [16]byte:
		return v == tenant
	case *[16]byte:
		return v != nil && *v == tenant
	case pgtype.UUID:
		return v.Valid && v.Bytes == tenant
	case *pgtype.UUID:
		return v != nil && v.Valid && v.Bytes == tenant
	case string:
		return stringIsTenant(v, tenant)
	case *string:
		return v != nil && stringIsTenant(*v, tenant)
	case pgtype.Text:
		return v.Valid && stringIsTenant(v.String, tenant)
	case *pgtype.Text:
		return v != nil && v.Valid && stringIsTenant(v.String, tenant)
	case nil:
		return false
	}
	return valueIsTenant(reflect.ValueOf(arg), tenant)
}

var (
	valuerType = reflect.TypeFor[driver.Valuer]()
	pgUUIDType = reflect.TypeFor[pgtype.UUID]()
	pgTextType = reflect.TypeFor[pgtype.Text]()
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
func valueIsTenant(v reflect.Value, tenant tenancy.ID) bool {
	for {
		if !v.IsValid() {
			return false
		}
		t := v.Type()
		if k := t.Kind(); k == reflect.Pointer || k == reflect.Interface {
			if v.IsNil() {
				return false
			}
			if k == reflect.Pointer && t.Implements(valuerType) && !t.Elem().Implements(valuerType) {
				return valuerIsTenant(v, tenant) // a Value method on the pointer only
			}
			// (*T).Value of a method on T is T.Value: read T.
			v = v.Elem()
			continue
		}
		switch {
		case t == pgUUIDType:
			return v.Field(1).Bool() && bytesAre(v.Field(0), tenant)
		case t == pgTextType:
			return v.Field(1).Bool() && stringIsTenant(v.Field(0).String(), tenant)
		case isBytes16(t) && (t.Name() == "" || knownUUID(t)):
			return bytesAre(v, tenant)
		case t.Implements(valuerType):
			return valuerIsTenant(v, tenant)
		case isBytes16(t):
			return bytesAre(v, tenant)
		case t.Kind() == reflect.String:
			return stringIsTenant(v.String(), tenant)
		}
		return false
	}
}

// bytesAre reports whether the [16]byte-kind value v holds tenant,
// without allocating.
func bytesAre(v reflect.Value, tenant tenancy.ID) bool {
	if v.CanAddr() {
		return string(v.Bytes()) == string(tenant[:])
	}
	for i := range 16 {
		if byte(v.Index(i).Uint()) != tenant[i] {
			return false
		}
	}
	return true
}

// valuerIsTenant calls Value as the driver would, and reads a canonical
// UUID string or 16 bytes from the result.
func valuerIsTenant(v reflect.Value, tenant tenancy.ID) bool {
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
		return stringIsTenant(x, tenant)
	case []byte:
		return len(x) == 16 && string(x) == string(tenant[:])
	}
	return false
}

// isTenantArray reports whether arg, bound to the array of tenant_id =
// ANY($n), is a non-empty slice or array whose every element is the
// tenant (see isTenant). A slice type with a Value method of its own is
// not read: the driver would send what it returns.
func isTenantArray(arg any, tenant tenancy.ID) bool {
	switch v := arg.(type) {
	case []tenancy.ID:
		for _, id := range v {
			if id != tenant {
				return false
			}
		}
		return len(v) > 0
	case []string:
		for _, s := range v {
			if !stringIsTenant(s, tenant) {
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
	for i := range v.Len() {
		if !valueIsTenant(v.Index(i), tenant) {
			return false
		}
	}
	return true
}

func stringIsTenant(s string, tenant tenancy.ID) bool {
	if len(s) != 36 {
		return false
	}
	id, err := tenancy.ParseID(s)
	return err == nil && id == tenant
}
