package sqlguard

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/mydentalpractice/tenancy"
)

// A level is one query level: the FROM items of one SELECT, or the target
// and FROM/USING items of an UPDATE or DELETE. Each tenant table reference
// in it must be scoped by the level's own conjuncts.
type level struct {
	refs    []*ref // every FROM item of the level, tenant table or not
	visible []*ref // the items visible to the level's WHERE and select list
	conjs   []conj // the top-level AND conjuncts of WHERE and of inner/outer ON clauses
	others  []conj // the other WHERE/ON parts (OR, NOT, ...), for diagnostics only
	outer   *scope // where names not found in this level are looked up
	opaque  bool   // a FROM item the analysis does not model: no name resolution here
}

// A ref is one FROM item (or UPDATE/DELETE/INSERT target) of a level.
type ref struct {
	names    []string // the names q by which q.column may refer to it
	tenant   bool     // a tenant table
	column   string   // a tenant table's tenant column ("" when it is not known: nothing scopes it)
	table    string   // for refusals: the table as the statement names it
	pos      int32
	colAlias bool // a column alias list may rename the tenant column
	scoped   bool
}

func (r *ref) named(q string) bool {
	for _, n := range r.names {
		if n == q {
			return true
		}
	}
	return false
}

// A scope is a position in a level (the level, and the items visible there)
// and, beyond it, the scopes of the enclosing levels. Sub-queries resolve
// names through it.
type scope struct {
	lvl     *level
	visible []*ref
	outer   *scope
}

// A conj is a boolean expression that every output row satisfies, or, for
// an outer join's ON clause, that every non-null row of its nullable side
// satisfies. The refs in domain are the ones whose rows it constrains.
type conj struct {
	expr    *pg_query.Node
	domain  []*ref
	visible []*ref
}

func contains(refs []*ref, r *ref) bool {
	for _, x := range refs {
		if x == r {
			return true
		}
	}
	return false
}

// lookup resolves the qualifier q of q.column as PostgreSQL does, from the
// innermost scope outwards, but gives up (nil) wherever the analysis could
// differ from PostgreSQL: when a level has more than one item named q, or
// has one that is not visible at that position (PostgreSQL would either
// raise an error or look further out), or has items it does not model.
// It returns the ref and the level it belongs to.
func (s *scope) lookup(q string) (*ref, *level) {
	for ; s != nil; s = s.outer {
		if s.lvl.opaque {
			return nil, nil
		}
		var hit *ref
		n := 0
		for _, r := range s.lvl.refs {
			if r.named(q) {
				hit = r
				n++
			}
		}
		if n == 0 {
			continue
		}
		if n > 1 || !contains(s.visible, hit) {
			return nil, nil
		}
		return hit, s.lvl
	}
	return nil, nil
}

// tenantColumn resolves a column reference to the tenant table reference
// whose tenant column it names, searching only the innermost scope when
// innermostOnly is set. An unqualified column resolves only when exactly
// one tenant table is visible in the innermost scope: tenant tables all
// have the tenant column, so PostgreSQL either picks that one or raises an
// ambiguity error. Anything else (three-part names, stars, column alias
// lists) resolves to nil.
func (a *analyzer) tenantColumn(n *pg_query.Node, s *scope, innermostOnly bool) (*ref, *level) {
	cr := n.GetColumnRef()
	if cr == nil {
		return nil, nil
	}
	var parts [2]string
	if len(cr.Fields) > 2 {
		return nil, nil
	}
	for i, f := range cr.Fields {
		str := f.GetString_()
		if str == nil {
			return nil, nil
		}
		parts[i] = str.Sval
	}
	name := parts[len(cr.Fields)-1]
	var r *ref
	lvl := s.lvl
	if len(cr.Fields) == 1 {
		if lvl.opaque {
			return nil, nil
		}
		for _, v := range s.visible {
			if v.tenant {
				if r != nil {
					return nil, nil
				}
				r = v
			}
		}
	} else {
		r, lvl = s.lookup(parts[0])
		if innermostOnly && lvl != s.lvl {
			return nil, nil
		}
	}
	if r == nil || !r.tenant || r.colAlias || r.column == "" || name != r.column {
		return nil, nil
	}
	return r, lvl
}

// valueKind classifies what an expression says about the tenant.
type valueKind int

const (
	notTenant     valueKind = iota
	tenantParam             // a parameter, checked at execution
	tenantLiteral           // a string constant that parses as an ID, checked at execution
	badLiteral              // a string constant that is not an ID: refused
	tenantFunc              // the helper, or a sub-select of it
)

// A value is what [analyzer.tenantValue] found in an expression.
type value struct {
	kind  valueKind
	param int32      // tenantParam: n of $n
	id    tenancy.ID // tenantLiteral: the constant's value
	pos   int32      // tenantParam, tenantLiteral, badLiteral: the location
}

// tenantValue classifies n as a tenant value: a parameter, a string
// constant, the helper function, or (SELECT helper()), each optionally
// cast to uuid. A string constant is a tenant value only when its text is
// a canonical UUID (36 characters, either case; see [tenancy.ParseID]),
// whose value must then be the tenant at execution; any other string
// constant is a badLiteral. The text is the constant's value after the
// parser has decoded escapes and joined continued lines, which is the
// text the server's uuid input function reads.
func (a *analyzer) tenantValue(n *pg_query.Node) value {
	if tc := n.GetTypeCast(); tc != nil {
		if !isUUIDType(tc.TypeName) {
			return value{}
		}
		n = tc.Arg
	}
	switch {
	case n.GetParamRef() != nil:
		p := n.GetParamRef()
		if p.Number < 1 {
			return value{}
		}
		return value{kind: tenantParam, param: p.Number, pos: p.Location}
	case n.GetAConst().GetSval() != nil:
		c := n.GetAConst()
		id, err := tenancy.ParseID(c.GetSval().Sval)
		if err != nil {
			return value{kind: badLiteral, pos: c.Location}
		}
		return value{kind: tenantLiteral, id: id, pos: c.Location}
	case a.isHelperCall(n):
		return value{kind: tenantFunc}
	}
	sl := n.GetSubLink()
	if sl == nil || sl.SubLinkType != pg_query.SubLinkType_EXPR_SUBLINK || sl.Testexpr != nil {
		return value{}
	}
	sel := sl.Subselect.GetSelectStmt()
	if sel == nil || sel.Op != pg_query.SetOperation_SETOP_NONE || len(sel.TargetList) != 1 ||
		len(sel.FromClause) != 0 || sel.WhereClause != nil || len(sel.GroupClause) != 0 ||
		sel.HavingClause != nil || len(sel.WindowClause) != 0 || len(sel.ValuesLists) != 0 ||
		len(sel.SortClause) != 0 || sel.LimitCount != nil || sel.LimitOffset != nil ||
		len(sel.DistinctClause) != 0 || sel.WithClause != nil || sel.IntoClause != nil ||
		len(sel.LockingClause) != 0 {
		return value{}
	}
	rt := sel.TargetList[0].GetResTarget()
	if rt == nil || len(rt.Indirection) != 0 {
		return value{}
	}
	v := rt.Val
	if tc := v.GetTypeCast(); tc != nil && isUUIDType(tc.TypeName) {
		v = tc.Arg
	}
	if a.isHelperCall(v) {
		return value{kind: tenantFunc}
	}
	return value{}
}

// use records what v leaves to be checked at execution, a parameter or a
// literal to compare with the tenant, refuses a badLiteral, and reports
// whether v is a tenant value. table names the tenant table whose tenant
// column v is compared with or assigned to.
func (a *analyzer) use(v value, table string) bool {
	switch v.kind {
	case tenantParam:
		a.params = append(a.params, paramUse{n: int(v.param), table: table, pos: int(v.pos)})
		return true
	case tenantLiteral:
		a.literals = append(a.literals, literalUse{id: v.id, table: table, pos: int(v.pos)})
		return true
	case badLiteral:
		a.refuse(RuleLiteralTenant, table, v.pos)
	case tenantFunc:
		return true
	}
	return false
}

func isUUIDType(t *pg_query.TypeName) bool {
	if t == nil || t.Setof || len(t.Typmods) != 0 || len(t.ArrayBounds) != 0 || t.PctType {
		return false
	}
	var names []string
	for _, n := range t.Names {
		names = append(names, n.GetString_().GetSval())
	}
	switch len(names) {
	case 1:
		return names[0] == "uuid"
	case 2:
		return names[0] == "pg_catalog" && names[1] == "uuid"
	}
	return false
}

// isHelperCall reports whether n is a plain call of the configured helper,
// schema-qualified exactly as configured, without arguments.
func (a *analyzer) isHelperCall(n *pg_query.Node) bool {
	f := n.GetFuncCall()
	if f == nil || len(f.Funcname) != 2 || len(f.Args) != 0 || f.AggStar || f.AggDistinct ||
		f.AggFilter != nil || f.Over != nil || len(f.AggOrder) != 0 || f.AggWithinGroup || f.FuncVariadic {
		return false
	}
	return f.Funcname[0].GetString_().GetSval() == a.cfg.funcParts[0] &&
		f.Funcname[1].GetString_().GetSval() == a.cfg.funcParts[1]
}

// isEquality reports whether n is the binary operator = (unqualified, as
// written by applications) and returns its operands.
func isEquality(n *pg_query.Node) (l, r *pg_query.Node, ok bool) {
	e := n.GetAExpr()
	if e == nil || e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || len(e.Name) != 1 ||
		e.Name[0].GetString_().GetSval() != "=" || e.Lexpr == nil || e.Rexpr == nil {
		return nil, nil, false
	}
	return e.Lexpr, e.Rexpr, true
}

// conjuncts appends the top-level AND conjuncts of n that are equalities to
// and, and the OR and NOT parts to other.
func conjuncts(n *pg_query.Node, and, other []*pg_query.Node) ([]*pg_query.Node, []*pg_query.Node) {
	if n == nil {
		return and, other
	}
	if b := n.GetBoolExpr(); b != nil && b.Boolop == pg_query.BoolExprType_AND_EXPR {
		for _, arg := range b.Args {
			and, other = conjuncts(arg, and, other)
		}
		return and, other
	}
	if _, _, ok := isEquality(n); ok {
		return append(and, n), other
	}
	if n.GetBoolExpr() != nil { // OR, NOT
		return and, append(other, n)
	}
	return and, other
}

// addConjuncts records the conjuncts of expr as constraining domain.
func (l *level) addConjuncts(expr *pg_query.Node, domain, visible []*ref) {
	and, other := conjuncts(expr, nil, nil)
	for _, c := range and {
		l.conjs = append(l.conjs, conj{expr: c, domain: domain, visible: visible})
	}
	for _, c := range other {
		l.others = append(l.others, conj{expr: c, domain: domain, visible: visible})
	}
}

// scope marks the level's tenant references that its conjuncts scope, by
// a tenant value or by join propagation, until nothing changes.
func (a *analyzer) scope(l *level) {
	for changed := true; changed; {
		changed = false
		for _, c := range l.conjs {
			lhs, rhs, _ := isEquality(c.expr)
			if a.scopeBy(l, c, lhs, rhs) || a.scopeBy(l, c, rhs, lhs) {
				changed = true
			}
		}
	}
}

// scopeBy scopes the tenant reference whose tenant column is col when val
// is a tenant value or the tenant column of a scoped reference.
func (a *analyzer) scopeBy(l *level, c conj, col, val *pg_query.Node) bool {
	s := &scope{lvl: l, visible: c.visible, outer: l.outer}
	r, _ := a.tenantColumn(col, s, true)
	if r == nil || !contains(c.domain, r) {
		return false
	}
	// Every parameter and literal compared so with a tenant column is
	// checked, even when the reference is scoped by something else too.
	isTenant := a.use(a.tenantValue(val), r.table)
	if r.scoped {
		return false
	}
	if isTenant {
		r.scoped = true
		return true
	}
	if other, _ := a.tenantColumn(val, s, false); other != nil && other != r && other.scoped {
		r.scoped = true
		return true
	}
	return false
}

// checkScoped refuses the level's first tenant reference left unscoped.
func (a *analyzer) checkScoped(l *level) {
	for _, r := range l.refs {
		if !r.tenant || r.scoped {
			continue
		}
		switch {
		case r.colAlias:
			a.refuse(RuleColumnAlias, r.table, r.pos)
		case a.mentionedIn(l, r):
			a.refuse(RuleOrBranch, r.table, r.pos)
		default:
			a.refuse(RuleUnscoped, r.table, r.pos)
		}
		return
	}
}

// mentionedIn reports whether r's tenant column appears in the level's
// WHERE or ON parts that are not top-level conjuncts (under OR or NOT).
func (a *analyzer) mentionedIn(l *level, r *ref) bool {
	found := false
	for _, c := range l.others {
		s := &scope{lvl: l, visible: c.visible, outer: l.outer}
		visit(c.expr.ProtoReflect(), func(n *pg_query.Node) {
			if got, _ := a.tenantColumn(n, s, true); got == r {
				found = true
			}
		})
	}
	return found
}
