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
	raw, ok := id.UUID()
	if !ok {
		t.Fatal("UUID() of a UUID is not ok")
	}
	for _, src := range []any{"0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f", []byte("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f")} {
		var got tenancy.ID
		if err := got.Scan(src); err != nil || got != id {
			t.Errorf("Scan(%T) = %v, %v; want %v", src, got, err, id)
		}
	}
	// A bigint column gives int64, a text column its text, kept as it is.
	acme, _ := tenancy.TextID("acme")
	for _, tt := range []struct {
		src  any
		want tenancy.ID
	}{{int64(42), tenancy.IntID(42)}, {"42", tenancy.IntID(42)}, {"acme", acme}, {[]byte("acme"), acme}} {
		var got tenancy.ID
		if err := got.Scan(tt.src); err != nil || got != tt.want {
			t.Errorf("Scan(%#v) = %v, %v; want %v", tt.src, got, err, tt.want)
		}
	}
	// 16 raw bytes are text, never a UUID: these are not a valid text key
	// (they hold control characters).
	for _, src := range []any{nil, 42, int64(0), "", "a|b", " padded", "00000000-0000-0000-0000-000000000000", make([]byte, 16), raw[:]} {
		got := id
		if err := got.Scan(src); !errors.Is(err, tenancy.ErrInvalidID) {
			t.Errorf("Scan(%#v) error = %v, want ErrInvalidID", src, err)
		}
		if got != id {
			t.Errorf("Scan(%#v) changed the ID to %v despite failing", src, got)
		}
	}
}
