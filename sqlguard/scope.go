package sqlguard

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/mydentalpractice/tenancy"
)

// A level is one query level: the FROM items of one SELECT, or the target
// and FROM/USING items of an UPDATE or DELETE. Each tenant table reference
// in it must be scoped by the level's own conjuncts.
type level struct {
	refs    []*ref  // every FROM item of the level, tenant table or not
	visible []*ref  // the items visible to the level's WHERE and select list
	conjs   []conj  // the top-level AND conjuncts of WHERE and of inner/outer ON clauses
	others  []conj  // the other WHERE/ON parts (OR, NOT, ...), for diagnostics only
	outer   *scope  // where names not found in this level are looked up
	ctes    *cteEnv // the common table expressions a FROM item of the level may name
	opaque  bool    // a FROM item the analysis does not model: no name resolution here
}

// A ref is one FROM item (or UPDATE/DELETE/INSERT target) of a level.
type ref struct {
	names    []string // the names q by which q.column may refer to it
	tenant   bool     // a tenant relation
	column   string   // its tenant column, for a tenant relation
	table    string   // for refusals: the relation as the statement names it
	pos      int32
	colAlias bool    // a column alias list may rename the tenant column
	scoped   bool    // every row of a tenant relation here is the tenant's
	out      *output // a CTE, sub-select or EXCLUDED: its columns known to hold the tenant
}

func (r *ref) named(q string) bool {
	for _, n := range r.names {
		if n == q {
			return true
		}
	}
	return false
}

// has reports whether r certainly has a column col that the analysis
// tracks: the tenant column of a tenant relation, or a column of a
// derived relation known to hold the tenant.
func (r *ref) has(col string) bool {
	if r.tenant {
		return !r.colAlias && col == r.column
	}
	ok, _ := r.out.tenantColumn(col)
	return ok
}

// tenantValued reports whether r's column col holds the tenant (or NULL)
// in every row, and returns the values that must then be checked.
func (r *ref) tenantValued(col string) (bool, []value) {
	if r.tenant {
		return r.scoped && !r.colAlias && col == r.column, nil
	}
	return r.out.tenantColumn(col)
}

// An output describes the columns of a derived relation (a CTE, a
// sub-select, the RETURNING list of a data-modifying CTE) as far as the
// analysis needs them: which ones hold the tenant (or NULL) in every row.
type output struct {
	cols  []outCol
	exact bool // cols are all the columns, in order; else only named ones, in no order
}

type outCol struct {
	name   string // as PostgreSQL names it; "" when the analysis cannot tell
	tenant bool
	vals   []value // parameters and literals that make it the tenant, checked when it is relied on
}

// tenantColumn reports whether o has a column named col that holds the
// tenant. Two columns of that name make a reference to it an error in
// PostgreSQL ("column reference is ambiguous"), so one is enough.
func (o *output) tenantColumn(col string) (bool, []value) {
	if o == nil || col == "" {
		return false, nil
	}
	for _, c := range o.cols {
		if c.tenant && c.name == col {
			return true, c.vals
		}
	}
	return false, nil
}

// renamed applies a column alias list (WITH x(a, b), AS s(a, b)).
func (o *output) renamed(names []*pg_query.Node) *output {
	if len(names) == 0 || o == nil {
		return o
	}
	if !o.exact {
		return nil // the positions are unknown
	}
	out := &output{cols: append([]outCol(nil), o.cols...), exact: true}
	for i, n := range names {
		if i < len(out.cols) {
			out.cols[i].name = n.GetString_().GetSval()
		}
	}
	return out
}

// combine is the output of a set operation of two arms: UNION needs both
// arms to hold the tenant in a column, INTERSECT one, and EXCEPT returns
// rows of its left arm only.
func combine(op pg_query.SetOperation, l, r *output) *output {
	if op == pg_query.SetOperation_SETOP_EXCEPT {
		return l
	}
	if l == nil || r == nil || !l.exact || !r.exact || len(l.cols) != len(r.cols) {
		if op == pg_query.SetOperation_SETOP_INTERSECT && l != nil && !l.exact {
			return l
		}
		return nil
	}
	out := &output{cols: make([]outCol, len(l.cols)), exact: true}
	for i := range l.cols {
		lc, rc := l.cols[i], r.cols[i]
		c := outCol{name: lc.name}
		switch {
		case lc.tenant && rc.tenant:
			c.tenant, c.vals = true, append(append([]value(nil), lc.vals...), rc.vals...)
		case op == pg_query.SetOperation_SETOP_INTERSECT && lc.tenant:
			c.tenant, c.vals = true, lc.vals
		case op == pg_query.SetOperation_SETOP_INTERSECT && rc.tenant:
			c.tenant, c.vals = true, rc.vals
		}
		out.cols[i] = c
	}
	return out
}

// A cteEnv is the chain of common table expressions visible at a point,
// innermost first.
type cteEnv struct {
	name   string
	def    *cteDef
	parent *cteEnv
}

// A cteDef is one common table expression; out is nil while its own
// query is analysed (a recursive reference knows nothing of it).
type cteDef struct {
	out *output
}

func (e *cteEnv) lookup(name string) (*cteDef, bool) {
	for ; e != nil; e = e.parent {
		if e.name == name {
			return e.def, true
		}
	}
	return nil, false
}

// A scope is a position in a level (the level, and the items visible there)
// and, beyond it, the scopes of the enclosing levels. Sub-queries resolve
// names through it.
type scope struct {
	lvl     *level
	visible []*ref
	outer   *scope
}

// conjKind says which shape a conjunct has.
type conjKind int

const (
	conjEq  conjKind = iota // lhs = rhs (rows are split into their columns)
	conjIn                  // lhs IN (list)
	conjAny                 // lhs = ANY (array)
	conjSub                 // lhs IN (SELECT ...), lhs = ANY (SELECT ...), (row) = (SELECT ...)
)

// A conj is a boolean expression that every output row satisfies, or, for
// an outer join's ON clause, that every non-null row of its nullable side
// satisfies. The refs in domain are the ones whose rows it constrains.
type conj struct {
	kind     conjKind
	lhs, rhs *pg_query.Node
	sub      *pg_query.SubLink
	expr     *pg_query.Node // conjunct under OR or NOT (others only)
	domain   []*ref
	visible  []*ref
	done     bool // conjSub: tried once
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

// column resolves a column reference to the ref it names and the column's
// name, searching only the innermost scope when innermostOnly is set. An
// unqualified column resolves only when exactly one item visible in the
// innermost scope certainly has it ([ref.has]): PostgreSQL then either
// picks that one or raises an ambiguity error. Anything else (three-part
// names, stars, a column found only further out) resolves to nil.
func (a *analyzer) column(n *pg_query.Node, s *scope, innermostOnly bool) (*ref, *level, string) {
	cr := n.GetColumnRef()
	if cr == nil || len(cr.Fields) > 2 {
		return nil, nil, ""
	}
	var parts [2]string
	for i, f := range cr.Fields {
		str := f.GetString_()
		if str == nil {
			return nil, nil, ""
		}
		parts[i] = str.Sval
	}
	col := parts[len(cr.Fields)-1]
	if len(cr.Fields) == 1 {
		if s.lvl.opaque {
			return nil, nil, ""
		}
		var hit *ref
		for _, v := range s.visible {
			if v.has(col) {
				if hit != nil {
					return nil, nil, ""
				}
				hit = v
			}
		}
		return hit, s.lvl, col
	}
	r, lvl := s.lookup(parts[0])
	if r == nil || (innermostOnly && lvl != s.lvl) {
		return nil, nil, ""
	}
	return r, lvl, col
}

// tenantRef returns the tenant relation reference of s's own level whose
// tenant column n names, or nil.
func (a *analyzer) tenantRef(n *pg_query.Node, s *scope) *ref {
	r, _, col := a.column(a.stripKeyCast(n), s, true)
	if r == nil || !r.tenant || r.colAlias || col != r.column {
		return nil
	}
	return r
}

// columnValue reports whether n is a column that holds the tenant (or
// NULL) in every row: the tenant column of a scoped tenant reference other
// than except, in s or an enclosing scope, or a column of a derived
// relation known to hold it, or a scalar sub-select of such a column. It
// returns the values to check when the caller relies on it.
func (a *analyzer) columnValue(n *pg_query.Node, s *scope, except *ref) (bool, []value) {
	n = a.stripKeyCast(n)
	if sl := n.GetSubLink(); sl != nil && sl.SubLinkType == pg_query.SubLinkType_EXPR_SUBLINK && sl.Testexpr == nil {
		out := a.probeSub(sl, s)
		if out == nil || !out.exact || len(out.cols) != 1 || !out.cols[0].tenant {
			return false, nil
		}
		return true, out.cols[0].vals
	}
	r, _, col := a.column(n, s, false)
	if r == nil || r == except {
		return false, nil
	}
	return r.tenantValued(col)
}

// stripKeyCast removes a cast to the tenant key type, which does not
// change a key of that type.
func (a *analyzer) stripKeyCast(n *pg_query.Node) *pg_query.Node {
	if tc := n.GetTypeCast(); tc != nil && a.isKeyType(tc.TypeName, 0) {
		return tc.Arg
	}
	return n
}

// valueKind classifies what an expression says about the tenant.
type valueKind int

const (
	notTenant     valueKind = iota
	tenantParam             // a parameter, checked at execution
	tenantArray             // a parameter bound to an array, every element checked at execution
	tenantLiteral           // a constant that is a key of the tenant key type, checked at execution
	badLiteral              // a constant that is not such a key: refused
	tenantFunc              // the helper, or a sub-select of it
)

// A value is what [analyzer.tenantValue] found in an expression.
type value struct {
	kind  valueKind
	param int32      // tenantParam, tenantArray: n of $n
	id    tenancy.ID // tenantLiteral: the constant's value, as a key
	pos   int32      // tenantParam, tenantArray, tenantLiteral, badLiteral: the location
}

// tenantValue classifies n as a tenant value: a parameter, a constant,
// the helper function, or (SELECT helper()), each optionally cast to the
// tenant key type. A constant is a tenant value only when it is a key of
// the model's tenant key type (see literalKey), whose value must then be
// the tenant at execution; any other constant is a badLiteral. A string
// constant's text is its value after the parser has decoded escapes and
// joined continued lines, which is the text the server's input function
// reads.
func (a *analyzer) tenantValue(n *pg_query.Node) value {
	if tc := n.GetTypeCast(); tc != nil {
		if !a.isKeyType(tc.TypeName, 0) {
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
	case n.GetAConst().GetSval() != nil || (a.cfg.key == tenancy.KeyBigint && (n.GetAConst().GetIval() != nil || n.GetAConst().GetFval() != nil)):
		c := n.GetAConst()
		id, ok := a.literalKey(c)
		if !ok {
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
	v := a.stripKeyCast(rt.Val)
	if a.isHelperCall(v) {
		return value{kind: tenantFunc}
	}
	return value{}
}

// arrayValue classifies the array of lhs = ANY (array): a parameter,
// optionally cast to an array of the tenant key type, whose bound array
// must hold only the tenant.
func (a *analyzer) arrayValue(n *pg_query.Node) value {
	if tc := n.GetTypeCast(); tc != nil {
		if !a.isKeyType(tc.TypeName, 1) {
			return value{}
		}
		n = tc.Arg
	}
	if p := n.GetParamRef(); p != nil && p.Number >= 1 {
		return value{kind: tenantArray, param: p.Number, pos: p.Location}
	}
	return value{}
}

// use records what v leaves to be checked at execution, a parameter or a
// literal to compare with the tenant, refuses a badLiteral, and reports
// whether v is a tenant value. table names the tenant table whose tenant
// column v is compared with or assigned to.
func (a *analyzer) use(v value, table string) bool {
	switch v.kind {
	case tenantParam, tenantArray:
		a.params = append(a.params, paramUse{n: int(v.param), array: v.kind == tenantArray, table: table, pos: int(v.pos)})
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

// useAll records every value of vals, which a derived column holds.
func (a *analyzer) useAll(vals []value, table string) {
	for _, v := range vals {
		a.use(v, table)
	}
}

func typeNames(t *pg_query.TypeName) []string {
	var names []string
	for _, n := range t.Names {
		names = append(names, n.GetString_().GetSval())
	}
	return names
}

// isKeyType reports whether t names the tenant key type (uuid, int8 or
// text, bare or in pg_catalog; the parser writes bigint as
// pg_catalog.int8), with dims array dimensions and no type modifier.
func (a *analyzer) isKeyType(t *pg_query.TypeName, dims int) bool {
	if t == nil || t.Setof || len(t.Typmods) != 0 || len(t.ArrayBounds) != dims || t.PctType {
		return false
	}
	want := "uuid"
	switch a.cfg.key {
	case tenancy.KeyBigint:
		want = "int8"
	case tenancy.KeyText:
		want = "text"
	}
	names := typeNames(t)
	switch len(names) {
	case 1:
		return names[0] == want
	case 2:
		return names[0] == "pg_catalog" && names[1] == want
	}
	return false
}

// literalKey returns the key that the constant c is, when it is a key of
// the tenant key type: for uuid a string in the form [tenancy.ParseID]
// reads; for bigint an integer, or a string in canonical decimal; for
// text a string that is a valid text key. Anything else is not.
func (a *analyzer) literalKey(c *pg_query.A_Const) (tenancy.ID, bool) {
	var text string
	switch {
	case c.GetSval() != nil:
		text = c.GetSval().Sval
	case a.cfg.key == tenancy.KeyBigint && c.GetIval() != nil:
		return tenancy.IntID(int64(c.GetIval().Ival)), c.GetIval().Ival != 0
	case a.cfg.key == tenancy.KeyBigint && c.GetFval() != nil:
		text = c.GetFval().Fval // an integer too large for int4 is a Float node
	default:
		return tenancy.ID{}, false
	}
	id, err := a.cfg.key.Parse(text)
	return id, err == nil
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

// isOp reports whether name is the single unqualified operator op, as
// applications write it.
func isOp(name []*pg_query.Node, op string) bool {
	return len(name) == 1 && name[0].GetString_().GetSval() == op
}

// rowItems returns the columns of a row constructor, or n alone.
func rowItems(n *pg_query.Node) []*pg_query.Node {
	if r := n.GetRowExpr(); r != nil {
		return r.Args
	}
	return []*pg_query.Node{n}
}

// conjuncts calls add for each top-level AND conjunct of n that may scope
// a reference (an equality, split column by column when both sides are
// rows; IN; = ANY; a sub-select compared with =), and other for the OR and
// NOT parts.
func conjuncts(n *pg_query.Node, add func(conj), other func(*pg_query.Node)) {
	if n == nil {
		return
	}
	if b := n.GetBoolExpr(); b != nil {
		if b.Boolop == pg_query.BoolExprType_AND_EXPR {
			for _, arg := range b.Args {
				conjuncts(arg, add, other)
			}
			return
		}
		other(n) // OR, NOT
		return
	}
	if sl := n.GetSubLink(); sl != nil {
		switch {
		case sl.SubLinkType == pg_query.SubLinkType_ANY_SUBLINK && (len(sl.OperName) == 0 || isOp(sl.OperName, "=")),
			sl.SubLinkType == pg_query.SubLinkType_ROWCOMPARE_SUBLINK && isOp(sl.OperName, "="):
			if sl.Testexpr != nil {
				add(conj{kind: conjSub, lhs: sl.Testexpr, sub: sl})
			}
		}
		return
	}
	e := n.GetAExpr()
	if e == nil || !isOp(e.Name, "=") || e.Lexpr == nil || e.Rexpr == nil {
		return
	}
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP:
		splitEquality(e.Lexpr, e.Rexpr, add)
	case pg_query.A_Expr_Kind_AEXPR_IN:
		if e.Rexpr.GetList() != nil {
			add(conj{kind: conjIn, lhs: e.Lexpr, rhs: e.Rexpr})
		}
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY:
		add(conj{kind: conjAny, lhs: e.Lexpr, rhs: e.Rexpr})
	}
}

// splitEquality adds l = r, column by column when both are rows of the
// same length: (a, b) = (x, y) holds exactly when a = x and b = y.
func splitEquality(l, r *pg_query.Node, add func(conj)) {
	lr, rr := l.GetRowExpr(), r.GetRowExpr()
	// (a, b) = (SELECT x, y ...): PostgreSQL makes it a row comparison
	// with the sub-select after parsing.
	if sl := r.GetSubLink(); lr != nil && sl != nil && sl.SubLinkType == pg_query.SubLinkType_EXPR_SUBLINK && sl.Testexpr == nil {
		add(conj{kind: conjSub, lhs: l, sub: sl})
		return
	}
	if sl := l.GetSubLink(); rr != nil && sl != nil && sl.SubLinkType == pg_query.SubLinkType_EXPR_SUBLINK && sl.Testexpr == nil {
		add(conj{kind: conjSub, lhs: r, sub: sl})
		return
	}
	if lr != nil && rr != nil {
		if len(lr.Args) == len(rr.Args) {
			for i := range lr.Args {
				splitEquality(lr.Args[i], rr.Args[i], add)
			}
		}
		return
	}
	add(conj{kind: conjEq, lhs: l, rhs: r})
}

// addConjuncts records the conjuncts of expr as constraining domain.
func (l *level) addConjuncts(expr *pg_query.Node, domain, visible []*ref) {
	conjuncts(expr, func(c conj) {
		c.domain, c.visible = domain, visible
		l.conjs = append(l.conjs, c)
	}, func(n *pg_query.Node) {
		l.others = append(l.others, conj{expr: n, domain: domain, visible: visible})
	})
}

// scope marks the level's tenant references that its conjuncts scope, by
// a tenant value or by join propagation, until nothing changes. Sub-select
// conjuncts are tried once each, after the others have done what they can,
// since what a sub-select returns may depend on this level's scoping.
func (a *analyzer) scope(l *level) {
	for {
		changed := false
		for i := range l.conjs {
			if c := &l.conjs[i]; c.kind != conjSub && a.apply(l, c) {
				changed = true
			}
		}
		if changed {
			continue
		}
		for i := range l.conjs {
			if c := &l.conjs[i]; c.kind == conjSub && !c.done {
				c.done = true
				if a.apply(l, c) {
					changed = true
				}
			}
		}
		if !changed || a.refusal != nil {
			return
		}
	}
}

// apply scopes what conjunct c scopes and reports whether it scoped a
// reference that was not scoped before.
func (a *analyzer) apply(l *level, c *conj) bool {
	s := &scope{lvl: l, visible: c.visible, outer: l.outer}
	switch c.kind {
	case conjEq:
		return a.scopeBy(s, c, c.lhs, c.rhs) || a.scopeBy(s, c, c.rhs, c.lhs)
	case conjIn:
		return a.scopeIn(s, c)
	case conjAny:
		r := a.tenantRef(c.lhs, s)
		if r == nil || !contains(c.domain, r) {
			return false
		}
		ok := a.use(a.arrayValue(c.rhs), r.table)
		if arr := c.rhs.GetAArrayExpr(); arr != nil && len(arr.Elements) > 0 {
			ok = true
			for _, e := range arr.Elements {
				ok = a.use(a.tenantValue(e), r.table) && ok
			}
		}
		return a.mark(r, ok)
	case conjSub:
		out := a.probeSub(c.sub, s)
		items := rowItems(c.lhs)
		if out == nil || !out.exact || len(out.cols) != len(items) {
			return false
		}
		changed := false
		for i, it := range items {
			r := a.tenantRef(it, s)
			if r == nil || !contains(c.domain, r) || r.scoped || !out.cols[i].tenant {
				continue
			}
			a.useAll(out.cols[i].vals, r.table)
			changed = a.mark(r, true) || changed
		}
		return changed
	}
	return false
}

// mark scopes r when ok and reports whether that is new.
func (a *analyzer) mark(r *ref, ok bool) bool {
	if !ok || r.scoped {
		return false
	}
	r.scoped = true
	return true
}

// scopeBy scopes the tenant reference whose tenant column is col when val
// is a tenant value or a column that holds the tenant.
func (a *analyzer) scopeBy(s *scope, c *conj, col, val *pg_query.Node) bool {
	r := a.tenantRef(col, s)
	if r == nil || !contains(c.domain, r) {
		return false
	}
	// Every parameter and literal compared so with a tenant column is
	// checked, even when the reference is scoped by something else too.
	isTenant := a.use(a.tenantValue(val), r.table)
	if r.scoped {
		return false
	}
	if !isTenant {
		ok, vals := a.columnValue(val, s, r)
		if !ok {
			return false
		}
		a.useAll(vals, r.table)
	}
	r.scoped = true
	return true
}

// scopeIn scopes the tenant references of lhs IN (list) whose every
// element, at their position, is a tenant value: (tenant_id, id) IN (($1,
// $2), ($1, $3)).
func (a *analyzer) scopeIn(s *scope, c *conj) bool {
	items := rowItems(c.lhs)
	list := c.rhs.GetList().GetItems()
	if len(list) == 0 {
		return false
	}
	changed := false
	for i, it := range items {
		r := a.tenantRef(it, s)
		if r == nil || !contains(c.domain, r) {
			continue
		}
		ok := true
		for _, e := range list {
			row := rowItems(e)
			if len(items) == 1 {
				row = []*pg_query.Node{e}
			}
			if len(row) != len(items) {
				ok = false
				continue
			}
			ok = a.use(a.tenantValue(row[i]), r.table) && ok
		}
		changed = a.mark(r, ok) || changed
	}
	return changed
}

// probeSub returns what the sub-select of sl returns, analysed at s
// without recording anything: the sub-select is analysed for real where it
// is walked. The answer is computed once per sub-select, with what is
// scoped at that moment; scoping only grows, so a later answer could only
// know more.
func (a *analyzer) probeSub(sl *pg_query.SubLink, s *scope) *output {
	if out, ok := a.probes[sl]; ok {
		return out
	}
	sel := sl.Subselect.GetSelectStmt()
	if sel == nil {
		return nil
	}
	a.probes[sl] = nil
	p := a.prober()
	out := p.selectStmt(sel, s, s.lvl.ctes)
	if p.refusal != nil {
		out = nil
	}
	a.probes[sl] = out
	return out
}

// prober returns an analyzer that only finds out what a query returns.
func (a *analyzer) prober() *analyzer {
	return &analyzer{cfg: a.cfg, probe: true, probes: a.probes, levels: make(map[*pg_query.SelectStmt]*level), stmtPos: a.stmtPos}
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
			if a.tenantRef(n, s) == r {
				found = true
			}
		})
	}
	return found
}

// targetOutput describes the columns that a select list (or RETURNING
// list) at s returns.
func (a *analyzer) targetOutput(targets []*pg_query.Node, s *scope) *output {
	out := &output{exact: true}
	for _, t := range targets {
		rt := t.GetResTarget()
		if rt == nil {
			out.exact = false
			continue
		}
		if isStar(rt.Val) {
			out.exact = false
			out.cols = append(out.cols, a.starColumns(rt.Val, s)...)
			continue
		}
		c := outCol{name: rt.Name}
		if c.name == "" {
			c.name = colname(rt.Val)
		}
		if len(rt.Indirection) == 0 {
			c.tenant, c.vals = a.holdsTenant(rt.Val, s)
		}
		out.cols = append(out.cols, c)
	}
	return out
}

// valuesOutput describes the columns of VALUES rows: a column holds the
// tenant when every row has a tenant value there.
func (a *analyzer) valuesOutput(rows []*pg_query.Node) *output {
	out := &output{exact: true}
	for i, row := range rows {
		items := row.GetList().GetItems()
		if i == 0 {
			out.cols = make([]outCol, len(items))
			for j := range out.cols {
				out.cols[j] = outCol{name: "column" + itoa(j+1), tenant: true}
			}
		}
		if len(items) != len(out.cols) {
			return nil
		}
		for j, it := range items {
			v := a.tenantValue(it)
			switch v.kind {
			case tenantParam, tenantLiteral:
				out.cols[j].vals = append(out.cols[j].vals, v)
			case tenantFunc:
			default:
				out.cols[j].tenant = false
			}
		}
	}
	return out
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// holdsTenant reports whether expression n at s is the tenant (or NULL)
// in every row, and the values to check when that is relied on.
func (a *analyzer) holdsTenant(n *pg_query.Node, s *scope) (bool, []value) {
	switch v := a.tenantValue(n); v.kind {
	case tenantParam, tenantLiteral:
		return true, []value{v}
	case tenantFunc:
		return true, nil
	}
	return a.columnValue(n, s, nil)
}

// starColumns returns the columns known to hold the tenant among those a
// star (* or q.*) expands to at s, by name only.
func (a *analyzer) starColumns(n *pg_query.Node, s *scope) []outCol {
	cr := n.GetColumnRef()
	var refs []*ref
	switch len(cr.Fields) {
	case 1:
		if s.lvl.opaque {
			return nil
		}
		refs = s.visible
	case 2:
		q := cr.Fields[0].GetString_()
		if q == nil {
			return nil
		}
		r, _ := s.lookup(q.Sval)
		if r == nil {
			return nil
		}
		refs = []*ref{r}
	default:
		return nil
	}
	var cols []outCol
	for _, r := range refs {
		switch {
		case r.tenant:
			if r.scoped && !r.colAlias {
				cols = append(cols, outCol{name: r.column, tenant: true})
			}
		case r.out != nil:
			for _, c := range r.out.cols {
				if c.tenant && c.name != "" {
					cols = append(cols, c)
				}
			}
		}
	}
	return cols
}

// colname returns the name PostgreSQL gives an unnamed select-list item
// (FigureColname), or "" where the analysis does not follow it.
func colname(n *pg_query.Node) string {
	name, _ := figureColname(n)
	return name
}

// figureColname returns the name and its strength as PostgreSQL's
// FigureColnameInternal does, for the expressions the analysis may find to
// hold the tenant; others are "" (unknown).
func figureColname(n *pg_query.Node) (string, int) {
	switch {
	case n.GetColumnRef() != nil:
		f := n.GetColumnRef().Fields
		if s := f[len(f)-1].GetString_(); s != nil {
			return s.Sval, 2
		}
		return "", 2
	case n.GetFuncCall() != nil:
		f := n.GetFuncCall().Funcname
		return f[len(f)-1].GetString_().GetSval(), 2
	case n.GetTypeCast() != nil:
		tc := n.GetTypeCast()
		name, strength := figureColname(tc.Arg)
		if strength <= 1 && tc.TypeName != nil && len(tc.TypeName.Names) > 0 {
			names := typeNames(tc.TypeName)
			return names[len(names)-1], 1
		}
		return name, strength
	case n.GetParamRef() != nil, n.GetAConst() != nil:
		return "?column?", 0
	}
	return "", 2 // unknown, and no cast around it may name it either
}
