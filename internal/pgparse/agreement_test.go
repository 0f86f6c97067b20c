package pgparse_test

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/mydentalpractice/tenancy/internal/pgparse"
)

var update = flag.Bool("update", false, "rewrite testdata/agreement.golden")

// A text is one entry of the agreement corpus.
type text struct {
	name, sql string
}

// corpus is the guard's test SQL: sqlguard's fuzz seeds (one statement a
// line) and its corpus files, and texts that probe error positions and
// nesting.
func corpus(t *testing.T) []text {
	t.Helper()
	var out []text
	f, err := os.Open("../../sqlguard/testdata/seeds.sql")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, text{fmt.Sprintf("seeds.sql:%d", n), line})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	out = append(out, files(t, "../../sqlguard/testdata/corpus/*.sql")...)
	for i, sql := range []string{
		"",
		";;",
		"select from where",
		"select 'é' fromm t",
		"select 1 +",
		"begin; select 1; commit",
		"select " + strings.Repeat("a+", 3000) + "1",
		"select " + strings.Repeat("f(", 1000) + "1" + strings.Repeat(")", 1000),
		"select " + strings.Repeat("(", 10000) + "1" + strings.Repeat(")", 10000),
		"select 1" + strings.Repeat(" union select 1", 3000),
	} {
		out = append(out, text{fmt.Sprintf("probe:%d", i), sql})
	}
	return out
}

// files reads each file glob matches as one text (DO blocks, functions,
// policies: several statements).
func files(t *testing.T, glob string) []text {
	t.Helper()
	names, err := filepath.Glob(glob)
	if err != nil || len(names) == 0 {
		t.Fatalf("%s: %d files, %v", glob, len(names), err)
	}
	var out []text
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, text{strings.TrimPrefix(name, "../../"), string(b)})
	}
	return out
}

// TestAgreement parses the corpus and compares a digest of each tree, or
// the error, with testdata/agreement.golden. The golden file is the same
// for both builds, so CI, which runs the test with and without cgo, holds
// the two builds of this package to the same trees and the same error
// positions. (The checker's generated scripts, which its own -update
// rewrites, are compared live by TestDifferential instead.) To
// rewrite it: go test -run TestAgreement -update ./internal/pgparse (and
// check that the other build then passes unchanged).
func TestAgreement(t *testing.T) {
	var b strings.Builder
	for _, tx := range corpus(t) {
		fmt.Fprintf(&b, "%s %s\n", tx.name, digest(tx.sql))
	}
	got := b.String()
	const golden = "testdata/agreement.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("parser %s disagrees with %s (-want +got):\n%s\n"+
			"If sqlguard's seeds or corpus changed, rewrite it with -update in one build and check that the other passes unchanged.",
			pgparse.Parser, golden, diff)
	}
}

// digest is the statement count and a hash of the tree, or the error's
// message and position.
func digest(sql string) string {
	tree, err := pgparse.Parse(sql)
	if err != nil {
		var pe *pgparse.Error
		if errors.As(err, &pe) {
			return fmt.Sprintf("error at %d: %s", pe.Cursorpos, pe.Message)
		}
		return "error: " + err.Error()
	}
	canonical(tree.ProtoReflect())
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(tree)
	if err != nil {
		return "marshal: " + err.Error()
	}
	return fmt.Sprintf("%d statements %x", len(tree.Stmts), sha256.Sum256(b))
}

// newLocations are the fields libpg_query 17-6.2.5 (the cgo build) added
// and 17-6.2.2 (the WebAssembly build) leaves zero; see the package doc.
var newLocations = map[protoreflect.FullName]bool{
	"pg_query.DefElem.arg_location":                     true,
	"pg_query.NotifyStmt.payload_location":              true,
	"pg_query.CreateSubscriptionStmt.conninfo_location": true,
	"pg_query.AlterSubscriptionStmt.conninfo_location":  true,
}

// canonical clears newLocations throughout m.
func canonical(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case newLocations[fd.FullName()]:
			m.Clear(fd)
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := range l.Len() {
				canonical(l.Get(i).Message())
			}
		case fd.Message() != nil && !fd.IsMap():
			canonical(v.Message())
		}
		return true
	})
}

// TestNewLocations keeps newLocations honest: a misspelt name would clear
// nothing.
func TestNewLocations(t *testing.T) {
	for name := range newLocations {
		if _, err := protoregistry.GlobalFiles.FindDescriptorByName(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
