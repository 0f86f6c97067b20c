package tenantdb

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy"
)

func TestEncodeArgs(t *testing.T) {
	id := tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	var nilID *tenancy.ID
	plain := []any{1, "x"}
	if got := encodeArgs(plain); &got[0] != &plain[0] {
		t.Error("args without an ID were copied")
	}
	in := []any{"x", id, &id, nilID, tenancy.ID{}}
	got := encodeArgs(in)
	want := []any{"x", id.String(), id.String(), nil, tenancy.ID{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("encodeArgs (-want +got):\n%s", diff)
	}
	if in[1] != any(id) {
		t.Error("encodeArgs changed the caller's slice")
	}
}

func BenchmarkEncodeArgs(b *testing.B) {
	id := tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	for name, args := range map[string][]any{"no ids": {1, "x"}, "one id": {id, "x"}} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = encodeArgs(args)
			}
		})
	}
}
