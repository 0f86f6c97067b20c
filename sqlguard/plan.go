package sqlguard

import (
	"errors"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/internal/pgparse"
)

// plan is what the analysis of one SQL text leaves for each execution:
// either a fixed refusal, or the parameters whose values must be the
// tenant and the literal values that must be the tenant. Plans are shared
// through the cache and never changed.
type plan struct {
	refusal  *RefusalError
	params   []paramUse
	literals []literalUse
}

// paramUse is a parameter $n that stands for the tenant, or, for array,
// for an array that holds only the tenant (tenant_id = ANY($n)).
type paramUse struct {
	n     int
	array bool
	table string
	pos   int
}

// literalUse is a string constant that stands for the tenant, parsed
// once, so that a check compares 16 bytes.
type literalUse struct {
	id    tenancy.ID
	table string
	pos   int
}

// compile parses sql and analyses it into a plan.
func compile(cfg *config, sql string) *plan {
	tree, err := pgparse.Parse(sql)
	if err != nil {
		pos := 0
		var pe *pgparse.Error
		if errors.As(err, &pe) && pe.Cursorpos > 0 {
			pos = byteOffset(sql, pe.Cursorpos-1)
		}
		return &plan{refusal: &RefusalError{Rule: RuleSyntax, Pos: pos}}
	}
	a := &analyzer{cfg: cfg, levels: make(map[*pg_query.SelectStmt]*level), probes: make(map[*pg_query.SubLink]*output)}
	switch len(tree.Stmts) {
	case 0:
		// Only white space, comments or semicolons: nothing is run.
	case 1:
		a.statement(tree.Stmts[0])
	default:
		a.refuse(RuleMultipleStatements, "", tree.Stmts[1].StmtLocation)
	}
	if a.refusal != nil {
		return &plan{refusal: a.refusal}
	}
	return &plan{params: dedupe(a.params), literals: dedupeLiterals(a.literals)}
}

// byteOffset converts a character offset, as PostgreSQL reports error
// positions, to a byte offset in s.
func byteOffset(s string, chars int) int {
	i := 0
	for n := 0; n < chars && i < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

// dedupe keeps the first use of each parameter number, as a value and as
// an array.
func dedupe(uses []paramUse) []paramUse {
	var out []paramUse
	for _, u := range uses {
		seen := false
		for _, o := range out {
			if o.n == u.n && o.array == u.array {
				seen = true
				break
			}
		}
		if !seen {
			out = append(out, u)
		}
	}
	return out
}

// dedupeLiterals keeps the first use of each literal value: the others
// pass or fail with it.
func dedupeLiterals(uses []literalUse) []literalUse {
	var out []literalUse
	for _, u := range uses {
		seen := false
		for _, o := range out {
			if o.id == u.id {
				seen = true
				break
			}
		}
		if !seen {
			out = append(out, u)
		}
	}
	return out
}
