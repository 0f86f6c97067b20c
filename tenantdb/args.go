package tenantdb

import (
	"database/sql/driver"
	"fmt"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
)

// pgtypePath is the package of pgx's own value types, which pgx encodes
// itself (they implement driver.Valuer for database/sql only).
const pgtypePath = "github.com/jackc/pgx/v5/pgtype"

// ReadArgs returns args as they will be sent, read once, so that a guard
// judges exactly the values that go to the server. The Pool and Tx call it
// on every statement; a driver of another kind (package tenantbun's
// database/sql connector) calls it before its guard, and sends what it
// returns:
//   - every non-zero tenancy.ID (and *tenancy.ID) is replaced by its
//     canonical text, which pgx encodes as a uuid in every exec mode with one
//     allocation (an ID passed as is takes pgx's driver.Valuer path, about
//     18 allocations per argument); zero IDs are left alone, so their Value
//     method refuses them;
//   - every other driver.Valuer (google/uuid's UUID, an application's own
//     key types), except pgx's own pgtype values, is replaced by the result
//     of one call of its Value method: pgx would call it again when it
//     encodes, and a Value that answered differently the second time would
//     send a value the guard never saw. An error of Value is returned.
//
// A pgx option among the arguments, in any position (a pgx.QueryRewriter,
// such as pgx.NamedArgs, a pgx.QueryExecMode, pgx.QueryResultFormats or
// pgx.QueryResultFormatsByOID), is refused with [ErrUnsupportedArg]: pgx
// applies options after the guard's check, and a rewriter would replace
// the checked SQL and be handed the connection.
//
// args is returned unchanged, without copying, when it holds neither: the
// common case costs one pass over the arguments. It is safe for concurrent
// use.
func ReadArgs(args []any) ([]any, error) {
	i := 0
	for ; i < len(args); i++ {
		if isOption(args[i]) {
			return nil, fmt.Errorf("%w: argument $%d is a %T", ErrUnsupportedArg, i+1, args[i])
		}
		if mustRead(args[i]) {
			break
		}
	}
	if i == len(args) {
		return args, nil
	}
	for j := i + 1; j < len(args); j++ {
		if isOption(args[j]) {
			return nil, fmt.Errorf("%w: argument $%d is a %T", ErrUnsupportedArg, j+1, args[j])
		}
	}
	out := make([]any, len(args))
	copy(out, args)
	for ; i < len(out); i++ {
		switch v := out[i].(type) {
		case tenancy.ID:
			if !v.IsZero() {
				out[i] = v.String()
			}
		case *tenancy.ID:
			if v == nil {
				out[i] = nil
			} else if !v.IsZero() {
				out[i] = v.String()
			}
		case driver.Valuer:
			if !mustRead(v) {
				continue
			}
			val, err := v.Value()
			if err != nil {
				return nil, fmt.Errorf("tenantdb: argument $%d: %w", i+1, err)
			}
			out[i] = val
		}
	}
	return out, nil
}

// isOption reports whether a is one of pgx's per-query options, which pgx
// reads out of the arguments instead of sending them.
func isOption(a any) bool {
	switch a.(type) {
	case pgx.QueryRewriter, pgx.QueryExecMode, pgx.QueryResultFormats, pgx.QueryResultFormatsByOID:
		return true
	}
	return false
}

// mustRead reports whether readArgs replaces a.
func mustRead(a any) bool {
	switch v := a.(type) {
	case tenancy.ID, *tenancy.ID:
		return true
	case driver.Valuer:
		t := reflect.TypeOf(v)
		if t.Kind() == reflect.Pointer {
			if reflect.ValueOf(v).IsNil() {
				return false // pgx sends NULL for a nil pointer
			}
			t = t.Elem()
		}
		return t.PkgPath() != pgtypePath
	}
	return false
}

// timeType is time.Time's type: a value whose location pointer is never
// written through.
var timeType = reflect.TypeFor[time.Time]()

// freezeArgs returns a copy of args that later changes to the caller's
// memory cannot reach: the slice is copied, []byte and slices of values
// are copied, pointers are replaced by the values they point to (nil
// pointers stay, pgx sends NULL for them). A value that could still change
// (a map, a channel, a func, a struct or slice holding pointers) is refused
// with [ErrUnsupportedArg]. [Tx.QueueAtCommit] freezes what the guard
// judged, so that what is sent at COMMIT is what was judged.
func freezeArgs(args []any) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		v, err := freeze(reflect.ValueOf(a), 0)
		if err != nil {
			return nil, fmt.Errorf("%w: argument $%d (%T) %v; pass values", ErrUnsupportedArg, i+1, a, err)
		}
		out[i] = v
	}
	return out, nil
}

// freeze returns v's value as one that cannot change later.
func freeze(v reflect.Value, depth int) (any, error) {
	if !v.IsValid() {
		return nil, nil
	}
	if depth > 4 {
		return nil, fmt.Errorf("is nested too deeply")
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v.Interface(), nil
		}
		return freeze(v.Elem(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			return v.Interface(), nil
		}
		if !frozen(v.Type().Elem()) {
			return nil, fmt.Errorf("holds values that could change")
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		return c.Interface(), nil
	}
	if !frozen(v.Type()) {
		return nil, fmt.Errorf("could change after it is queued")
	}
	return v.Interface(), nil // boxed: a copy
}

// frozen reports whether a value of type t, copied, shares no memory that
// can be changed afterwards.
func frozen(t reflect.Type) bool {
	if t == timeType {
		return true
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return frozen(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !frozen(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
