package rls

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/mydentalpractice/tenancy/internal/pgparse"
)

// isAlwaysTrue reports whether a policy expression, as pg_get_expr prints
// it, is true for every row whatever the session: the literal true, but
// also 1 = 1, 'a'::text = 'a'::text, NOT false, true OR <anything>, and
// casts of such constants. It parses the expression with PostgreSQL's own
// parser and folds only constants and the built-in comparison and boolean
// operators; anything else (a column, a function, a sub-select, another
// operator) is unknown, so the answer errs on "not always true". It never
// runs the expression.
func isAlwaysTrue(expr string) bool {
	tree, err := pgparse.Parse("SELECT " + expr)
	if err != nil || len(tree.Stmts) != 1 {
		return false
	}
	sel := tree.Stmts[0].GetStmt().GetSelectStmt()
	if sel == nil || len(sel.TargetList) != 1 {
		return false
	}
	v := fold(sel.TargetList[0].GetResTarget().GetVal())
	return v.kind == constBool && v.b
}

type constKind int

const (
	constUnknown constKind = iota
	constNull
	constBool
	constInt
	constText
)

// constant is a folded value; constUnknown is anything not folded.
type constant struct {
	kind constKind
	b    bool
	i    int64
	s    string
}

func fold(n *pg_query.Node) constant {
	switch {
	case n == nil:
		return constant{}
	case n.GetAConst() != nil:
		c := n.GetAConst()
		switch {
		case c.Isnull:
			return constant{kind: constNull}
		case c.GetBoolval() != nil:
			return constant{kind: constBool, b: c.GetBoolval().Boolval}
		case c.GetIval() != nil:
			return constant{kind: constInt, i: int64(c.GetIval().Ival)}
		case c.GetSval() != nil:
			return constant{kind: constText, s: c.GetSval().Sval}
		}
		return constant{}
	case n.GetTypeCast() != nil:
		return cast(fold(n.GetTypeCast().Arg), n.GetTypeCast().TypeName)
	case n.GetBoolExpr() != nil:
		return foldBool(n.GetBoolExpr())
	case n.GetAExpr() != nil:
		return foldCompare(n.GetAExpr())
	}
	return constant{}
}

// cast folds a cast to boolean, an integer type or text; other types are
// unknown.
func cast(v constant, t *pg_query.TypeName) constant {
	if v.kind == constUnknown || v.kind == constNull || t == nil || len(t.ArrayBounds) > 0 {
		return constant{kind: v.kind}
	}
	var name string
	if names := t.Names; len(names) > 0 {
		name = names[len(names)-1].GetString_().GetSval()
	}
	switch name {
	case "bool":
		switch v.kind {
		case constBool:
			return v
		case constText:
			switch strings.ToLower(strings.TrimSpace(v.s)) {
			case "t", "true", "y", "yes", "on", "1":
				return constant{kind: constBool, b: true}
			case "f", "false", "n", "no", "off", "0":
				return constant{kind: constBool, b: false}
			}
		case constInt:
			return constant{kind: constBool, b: v.i != 0}
		}
	case "int2", "int4", "int8":
		switch v.kind {
		case constInt:
			return v
		case constText:
			if i, err := strconv.ParseInt(strings.TrimSpace(v.s), 10, 64); err == nil {
				return constant{kind: constInt, i: i}
			}
		}
	case "text", "varchar", "bpchar", "name":
		if v.kind == constText {
			return v
		}
	}
	return constant{}
}

// foldBool folds AND, OR and NOT with SQL's three-valued logic; an unknown
// operand of OR does not matter once another is true, nor of AND once
// another is false.
func foldBool(e *pg_query.BoolExpr) constant {
	switch e.Boolop {
	case pg_query.BoolExprType_NOT_EXPR:
		if len(e.Args) != 1 {
			return constant{}
		}
		v := fold(e.Args[0])
		if v.kind == constBool {
			return constant{kind: constBool, b: !v.b}
		}
		return constant{kind: v.kind}
	case pg_query.BoolExprType_AND_EXPR, pg_query.BoolExprType_OR_EXPR:
		or := e.Boolop == pg_query.BoolExprType_OR_EXPR
		result := constant{kind: constBool, b: !or}
		for _, a := range e.Args {
			v := fold(a)
			switch {
			case v.kind == constBool && v.b == or:
				return v // true OR anything; false AND anything
			case v.kind == constBool:
			case v.kind == constNull && result.kind != constUnknown:
				result = constant{kind: constNull}
			default:
				result = constant{}
			}
		}
		return result
	}
	return constant{}
}

// foldCompare folds the comparison operators of pg_catalog between two
// constants of one kind.
func foldCompare(e *pg_query.A_Expr) constant {
	if e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || len(e.Name) == 0 {
		return constant{}
	}
	if len(e.Name) == 2 && e.Name[0].GetString_().GetSval() != "pg_catalog" {
		return constant{}
	}
	if len(e.Name) > 2 {
		return constant{}
	}
	op := e.Name[len(e.Name)-1].GetString_().GetSval()
	l, r := fold(e.Lexpr), fold(e.Rexpr)
	if l.kind == constNull || r.kind == constNull {
		return constant{kind: constNull}
	}
	if l.kind == constUnknown || l.kind != r.kind {
		return constant{}
	}
	var cmp int
	switch l.kind {
	case constInt:
		cmp = compareInt(l.i, r.i)
	case constText:
		if op != "=" && op != "<>" && op != "!=" {
			return constant{} // ordering depends on the collation
		}
		cmp = strings.Compare(l.s, r.s)
	case constBool:
		cmp = compareInt(boolInt(l.b), boolInt(r.b))
	default:
		return constant{}
	}
	var b bool
	switch op {
	case "=":
		b = cmp == 0
	case "<>", "!=":
		b = cmp != 0
	case "<":
		b = cmp < 0
	case "<=":
		b = cmp <= 0
	case ">":
		b = cmp > 0
	case ">=":
		b = cmp >= 0
	default:
		return constant{}
	}
	return constant{kind: constBool, b: b}
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
