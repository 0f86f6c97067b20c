//go:build cgo

package pgparse_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	pgquery "github.com/wasilibs/go-pgquery"
	wasmparser "github.com/wasilibs/go-pgquery/parser"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/mydentalpractice/tenancy/internal/pgparse"
)

// TestDifferential runs, in the cgo build, both parsers on every text of
// the corpus and on the checker's generated policy scripts, in one
// process: go-pgquery runs its WebAssembly build whatever cgo says, so the
// trees can be compared whole, not by digest.
func TestDifferential(t *testing.T) {
	for _, tx := range append(corpus(t), files(t, "../../rls/testdata/*.sql")...) {
		want, werr := pgparse.Parse(tx.sql)
		got, gerr := pgquery.Parse(tx.sql)
		if werr != nil || gerr != nil {
			var we *pgparse.Error
			var ge *wasmparser.Error
			switch {
			case errors.As(werr, &we) && errors.As(gerr, &ge):
				if we.Message != ge.Message || we.Cursorpos != ge.Cursorpos {
					t.Errorf("%s: cgo %q at %d, wasm %q at %d", tx.name, we.Message, we.Cursorpos, ge.Message, ge.Cursorpos)
				}
			case werr == nil || gerr == nil:
				t.Errorf("%s: cgo error %v, wasm error %v", tx.name, werr, gerr)
			}
			continue
		}
		canonical(want.ProtoReflect())
		canonical(got.ProtoReflect())
		// proto.Equal first: cmp.Diff is slow on trees thousands deep.
		if !proto.Equal(want, got) {
			diff := cmp.Diff(want, got, protocmp.Transform())
			t.Errorf("%s: the trees differ (-cgo +wasm):\n%s", tx.name, diff)
		}
	}
}
