package tenancy_test

import (
	"errors"
	"testing"

	"github.com/mydentalpractice/tenancy"
)

func TestIDValueScan(t *testing.T) {
	id := tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f")
	v, err := id.Value()
	if err != nil || v != "0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f" {
		t.Fatalf("Value() = %v, %v", v, err)
	}
	if _, err := (tenancy.ID{}).Value(); !errors.Is(err, tenancy.ErrInvalidID) {
		t.Errorf("zero Value() error = %v, want ErrInvalidID", err)
	}
	for _, src := range []any{"0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f", []byte("0195F1C2-7B3A-7C4D-8E5F-6A7B8C9D0E1F"), id[:]} {
		var got tenancy.ID
		if err := got.Scan(src); err != nil || got != id {
			t.Errorf("Scan(%T) = %v, %v; want %v", src, got, err, id)
		}
	}
	for _, src := range []any{nil, 42, "nope", make([]byte, 16), []byte("0195f1c2")} {
		got := id
		if err := got.Scan(src); !errors.Is(err, tenancy.ErrInvalidID) {
			t.Errorf("Scan(%#v) error = %v, want ErrInvalidID", src, err)
		}
		if got != id {
			t.Errorf("Scan(%#v) changed the ID to %v despite failing", src, got)
		}
	}
}
