package tenantdb

import (
	"database/sql/driver"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy"
)

// flipper is a driver.Valuer that answers the tenant the first time and
// another value after: read twice (once by the guard, once by pgx), it
// would send what the guard never saw.
type flipper struct{ n *int }

func (f flipper) Value() (driver.Value, error) {
	*f.n++
	if *f.n == 1 {
		return "0195f1c2-0000-7000-8000-00000000000a", nil
	}
	return "0195f1c2-0000-7000-8000-00000000000b", nil
}

type failing struct{}

func (failing) Value() (driver.Value, error) { return nil, errors.New("no value") }

func TestReadArgs(t *testing.T) {
	id := tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	var nilID *tenancy.ID
	plain := []any{1, "x", pgtype.Text{String: "t", Valid: true}}
	got, err := ReadArgs(plain)
	if err != nil || &got[0] != &plain[0] {
		t.Errorf("args without an ID or Valuer were copied (%v)", err)
	}
	n := 0
	var nilUUID *uuid.UUID
	in := []any{"x", id, &id, nilID, tenancy.ID{}, uuid.UUID(raw(id)), flipper{&n}, nilUUID, pgtype.UUID{Bytes: raw(id), Valid: true}}
	got, err = ReadArgs(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"x", id.String(), id.String(), nil, tenancy.ID{}, id.String(), id.String(), nilUUID, pgtype.UUID{Bytes: raw(id), Valid: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("readArgs (-want +got):\n%s", diff)
	}
	if n != 1 {
		t.Errorf("the Valuer was read %d times, want once", n)
	}
	if in[1] != any(id) {
		t.Error("readArgs changed the caller's slice")
	}
	if _, err := ReadArgs([]any{"x", failing{}}); err == nil {
		t.Error("readArgs hid the error of a Valuer")
	}
}

func BenchmarkReadArgs(b *testing.B) {
	id := tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	for name, args := range map[string][]any{"no ids": {1, "x"}, "one id": {id, "x"}} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = ReadArgs(args)
			}
		})
	}
}

// raw returns the 16 bytes of the UUID id.
func raw(id tenancy.ID) [16]byte {
	b, ok := id.UUID()
	if !ok {
		panic("raw: " + id.String() + " is not a UUID")
	}
	return b
}

// TestReadArgsRefusesOptions: pgx's options are refused wherever they are
// among the arguments, before and after a value that must be read.
func TestReadArgsRefusesOptions(t *testing.T) {
	for _, args := range [][]any{
		{pgx.NamedArgs{"a": 1}},
		{1, pgx.QueryExecModeExec},
		{tenancy.NewID(), pgx.QueryResultFormats{pgx.TextFormatCode}},
		{"x", tenancy.NewID(), pgx.StrictNamedArgs{}},
	} {
		if _, err := ReadArgs(args); !errors.Is(err, ErrUnsupportedArg) {
			t.Errorf("ReadArgs(%v) = %v, want ErrUnsupportedArg", args, err)
		}
	}
}
