package pgparse_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy/internal/pgparse"
)

func TestParse(t *testing.T) {
	tree, err := pgparse.Parse("select id from patients where clinic_id = $1; commit")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(tree.Stmts), 2; got != want {
		t.Fatalf("%d statements, want %d", got, want)
	}
	if tree.Stmts[0].GetStmt().GetSelectStmt() == nil || tree.Stmts[1].GetStmt().GetTransactionStmt() == nil {
		t.Errorf("got %v, want a SELECT and a COMMIT", tree)
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		sql       string
		cursorpos int // characters, not bytes
	}{
		{sql: "select from where", cursorpos: 13},
		{sql: "select 'é' fromm t", cursorpos: 18},
		{sql: "select 1 +", cursorpos: 11},
	}
	for _, tt := range tests {
		_, err := pgparse.Parse(tt.sql)
		var pe *pgparse.Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a *pgparse.Error", tt.sql, err)
			continue
		}
		if pe.Cursorpos != tt.cursorpos || !strings.HasPrefix(pe.Message, "syntax error") {
			t.Errorf("Parse(%q): %q at %d, want a syntax error at %d", tt.sql, pe.Message, pe.Cursorpos, tt.cursorpos)
		}
	}
}

func TestParseToJSON(t *testing.T) {
	s, err := pgparse.ParseToJSON("select 1")
	if err != nil || !strings.Contains(s, `"SelectStmt"`) {
		t.Errorf("ParseToJSON = %q, %v; want a SelectStmt", s, err)
	}
	s, err = pgparse.ParsePlPgSQLToJSON("create function f() returns int language plpgsql as $$ begin return 1; end $$")
	if err != nil || !strings.Contains(s, `"PLpgSQL_stmt_return"`) {
		t.Errorf("ParsePlPgSQLToJSON = %q, %v; want a PLpgSQL_stmt_return", s, err)
	}
	if _, err := pgparse.ParseToJSON("select from where"); !errors.As(err, new(*pgparse.Error)) {
		t.Errorf("ParseToJSON of bad SQL: %v, want a *pgparse.Error", err)
	}
}

// deepSQL nests 4,000 additions: a tree deeper than the WebAssembly
// parser's call stack, yet shallower than pg_query_go's decoder limit.
var deepSQL = "select " + strings.Repeat("a+", 4000) + "1"

// TestDeepText checks, in a process of its own (a trap is for the rest of
// the process), that a tree too deep for the WebAssembly parser is an
// error, not a panic, and that the parser is not trusted after it.
func TestDeepText(t *testing.T) {
	if os.Getenv("PGPARSE_DEEP_CHILD") == "1" {
		deepChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDeepText$", "-test.v")
	cmd.Env = append(os.Environ(), "PGPARSE_DEEP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func deepChild(t *testing.T) {
	const later = "select a from t where x = 1"
	_, err := pgparse.Parse(deepSQL)
	switch pgparse.Parser {
	case "cgo":
		if err != nil {
			t.Fatalf("Parse(deep) = %v, want a tree", err)
		}
		if _, err := pgparse.Parse(later); err != nil {
			t.Fatalf("after the deep text, Parse(%q) = %v", later, err)
		}
	case "wasm":
		if !errors.Is(err, pgparse.ErrFault) {
			t.Fatalf("Parse(deep) = %v, want ErrFault", err)
		}
		if _, err := pgparse.Parse(later); !errors.Is(err, pgparse.ErrFault) {
			t.Fatalf("after a trap, Parse(%q) = %v, want ErrFault", later, err)
		}
		if _, err := pgparse.ParseToJSON(later); !errors.Is(err, pgparse.ErrFault) {
			t.Fatalf("after a trap, ParseToJSON(%q) = %v, want ErrFault", later, err)
		}
	default:
		t.Fatalf("Parser = %q", pgparse.Parser)
	}
}
