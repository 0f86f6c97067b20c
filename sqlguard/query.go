package sqlguard

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// emptyScope is a scope with no FROM items, for the parts of a statement
// that see none.
func emptyScope(outer *scope, env *cteEnv) *scope {
	return &scope{lvl: &level{outer: outer, ctes: env}, outer: outer}
}

// selectStmt analyses a SELECT, VALUES or set operation whose enclosing
// scope is outer (nil at the top), with env the common table expressions
// visible to it, and returns what its columns hold (nil when unknown).
// Each arm of a set operation is a query level of its own.
func (a *analyzer) selectStmt(sel *pg_query.SelectStmt, outer *scope, env *cteEnv) *output {
	if sel == nil || a.refusal != nil {
		return nil
	}
	if sel.IntoClause != nil {
		pos := a.stmtPos
		if sel.IntoClause.Rel != nil {
			pos = sel.IntoClause.Rel.Location
		}
		a.refuse(RuleDDL, "", pos)
		return nil
	}
	env = a.with(sel.WithClause, outer, env)
	if sel.Op != pg_query.SetOperation_SETOP_NONE {
		lo := a.selectStmt(sel.Larg, outer, env)
		ro := a.selectStmt(sel.Rarg, outer, env)
		if a.probe {
			return combine(sel.Op, lo, ro)
		}
		// ORDER BY and LIMIT of the whole set operation see no tables;
		// the other lists are empty for a set operation, and walked in
		// case they are not.
		s := emptyScope(outer, env)
		a.walkLists(s, sel.SortClause, sel.TargetList, sel.FromClause, sel.DistinctClause,
			sel.GroupClause, sel.WindowClause, sel.ValuesLists)
		a.walkNodes(s, sel.WhereClause, sel.HavingClause, sel.LimitOffset, sel.LimitCount)
		return combine(sel.Op, lo, ro)
	}
	l := &level{outer: outer, ctes: env}
	var later []func()
	l.visible = a.fromList(l, sel.FromClause, &later)
	l.addConjuncts(sel.WhereClause, append([]*ref(nil), l.refs...), l.visible)
	a.scope(l)
	a.checkScoped(l)
	if a.refusal != nil {
		return nil
	}
	a.levels[sel] = l
	s := &scope{lvl: l, visible: l.visible, outer: outer}
	var out *output
	if len(sel.ValuesLists) > 0 {
		out = a.valuesOutput(sel.ValuesLists)
	} else {
		out = a.targetOutput(sel.TargetList, s)
	}
	if a.probe {
		return out
	}
	for _, f := range later {
		f()
	}
	// LockingClause is left out: it only names FROM items.
	a.walkLists(s, sel.DistinctClause, sel.TargetList, sel.GroupClause, sel.WindowClause,
		sel.SortClause, sel.ValuesLists)
	a.walkNodes(s, sel.WhereClause, sel.HavingClause, sel.LimitOffset, sel.LimitCount)
	return out
}

// with analyses each common table expression as a query of its own and
// returns env extended with them. As in PostgreSQL, a CTE is visible to
// the CTEs after it, and with RECURSIVE to all of them, itself included;
// a reference to a CTE whose query is being analysed knows nothing of
// its columns.
func (a *analyzer) with(w *pg_query.WithClause, outer *scope, env *cteEnv) *cteEnv {
	if w == nil || a.refusal != nil {
		return env
	}
	defs := make([]*cteDef, len(w.Ctes))
	for i := range defs {
		defs[i] = &cteDef{}
	}
	all := env
	for i, c := range w.Ctes {
		cte := c.GetCommonTableExpr()
		if cte == nil {
			a.refuse(RuleStatementKind, "", 0)
			return env
		}
		all = &cteEnv{name: cte.Ctename, def: defs[i], parent: all}
	}
	cur := env
	for i, c := range w.Ctes {
		cte := c.GetCommonTableExpr()
		body := cur
		if w.Recursive {
			body = all
		}
		// SEARCH and CYCLE hold column names and constants; walked in case.
		if !a.probe {
			empty := emptyScope(outer, body)
			if cte.SearchClause != nil {
				a.walk(empty, cte.SearchClause.ProtoReflect())
			}
			if cte.CycleClause != nil {
				a.walk(empty, cte.CycleClause.ProtoReflect())
			}
		}
		var out *output
		switch q := cte.Ctequery.GetNode().(type) {
		case *pg_query.Node_SelectStmt:
			if w.Recursive {
				a.assumeRecursive(q.SelectStmt, outer, body, defs[i])
			}
			out = a.selectStmt(q.SelectStmt, outer, body)
		case *pg_query.Node_InsertStmt:
			out = a.insertStmt(q.InsertStmt, outer, body)
		case *pg_query.Node_UpdateStmt:
			out = a.updateStmt(q.UpdateStmt, outer, body)
		case *pg_query.Node_DeleteStmt:
			out = a.deleteStmt(q.DeleteStmt, outer, body)
		default:
			a.refuse(RuleStatementKind, "", cte.Location)
		}
		defs[i].out = out.renamed(cte.Aliascolnames)
		cur = &cteEnv{name: cte.Ctename, def: defs[i], parent: cur}
	}
	return cur
}

// assumeRecursive finds what the columns of a recursive CTE (q, a UNION
// of a non-recursive and a recursive arm) hold, for the references to it
// from its own recursive arm: the columns of the non-recursive arm that
// hold the tenant and that the recursive arm, assuming them so in the rows
// it reads from the CTE, returns holding the tenant too. By induction on
// the iterations, every row of the CTE then holds the tenant there. It
// sets def.out to that assumption (nil when there is none).
func (a *analyzer) assumeRecursive(q *pg_query.SelectStmt, outer *scope, env *cteEnv, def *cteDef) {
	def.out = nil
	if q.Op != pg_query.SetOperation_SETOP_UNION || q.WithClause != nil {
		return
	}
	p := a.prober()
	assume := p.selectStmt(q.Larg, outer, env)
	if p.refusal != nil || assume == nil || !assume.exact {
		return
	}
	for range len(assume.cols) + 1 {
		def.out = assume
		p := a.prober()
		ro := p.selectStmt(q.Rarg, outer, env)
		if p.refusal != nil {
			ro = nil
		}
		next := combine(pg_query.SetOperation_SETOP_UNION, assume, ro)
		if sameTenantColumns(next, assume) {
			return
		}
		assume = next
	}
	def.out = nil
}

// sameTenantColumns reports whether a and b hold the tenant in the same
// columns.
func sameTenantColumns(a, b *output) bool {
	if a == nil || b == nil || len(a.cols) != len(b.cols) {
		return a == nil && b == nil
	}
	for i := range a.cols {
		if a.cols[i].tenant != b.cols[i].tenant {
			return false
		}
	}
	return true
}

// fromList adds the items of a FROM (or USING) list to l and returns the
// refs visible to the level's expressions. Work that needs the level's
// scoping (sub-queries, expressions) is appended to later.
func (a *analyzer) fromList(l *level, items []*pg_query.Node, later *[]func()) []*ref {
	var vis []*ref
	for _, it := range items {
		v, _ := a.fromItem(l, it, vis, later)
		vis = append(vis[:len(vis):len(vis)], v...)
	}
	return vis
}

// relationRef makes the ref of a relation named by rv. A FROM item
// (from) that is not schema-qualified names a common table expression of
// env when there is one of that name; a statement's target never does.
// Any other relation is classified through the model, and refused when it
// is unknown, private or a catalog.
func (a *analyzer) relationRef(rv *pg_query.RangeVar, env *cteEnv, from bool) *ref {
	r := &ref{table: rangeVarName(rv), pos: rv.Location, names: []string{rv.Relname}}
	var colnames []*pg_query.Node
	if rv.Alias != nil {
		r.names = []string{rv.Alias.Aliasname}
		colnames = rv.Alias.Colnames
	}
	if from && rv.Schemaname == "" && rv.Catalogname == "" {
		if def, ok := env.lookup(rv.Relname); ok {
			r.out = def.out.renamed(colnames)
			return r
		}
	}
	column, tenant, rule := a.cfg.classify(rv.Schemaname, rv.Relname)
	if rule != "" {
		a.refuse(rule, r.table, rv.Location)
	}
	r.tenant, r.column = tenant, column
	r.colAlias = len(colnames) > 0
	return r
}

func aliasNames(al *pg_query.Alias, dflt ...string) []string {
	if al != nil {
		return []string{al.Aliasname}
	}
	return dflt
}

// fromItem adds one FROM item to l. lateral lists the refs that a LATERAL
// item here may see. It returns the refs visible above the item (an
// aliased join hides its members behind its alias) and all refs in it.
func (a *analyzer) fromItem(l *level, n *pg_query.Node, lateral []*ref, later *[]func()) (visible, all []*ref) {
	lat := append([]*ref(nil), lateral...)
	add := func(r *ref) []*ref {
		l.refs = append(l.refs, r)
		return []*ref{r}
	}
	switch x := n.GetNode().(type) {
	case *pg_query.Node_RangeVar:
		r := add(a.relationRef(x.RangeVar, l.ctes, true))
		return r, r
	case *pg_query.Node_RangeTableSample:
		ts := x.RangeTableSample
		rv := ts.Relation.GetRangeVar()
		if rv == nil {
			break
		}
		r := add(a.relationRef(rv, l.ctes, true))
		*later = append(*later, func() {
			s := &scope{lvl: l, visible: lat, outer: l.outer}
			a.walkLists(s, ts.Args)
			a.walkNodes(s, ts.Repeatable)
		})
		return r, r
	case *pg_query.Node_RangeSubselect:
		rs := x.RangeSubselect
		r := &ref{names: aliasNames(rs.Alias)}
		sel := rs.Subquery.GetSelectStmt()
		if !rs.Lateral {
			// A plain sub-select sees no sibling FROM items, so it does
			// not depend on this level: analysed now, what it returns can
			// scope the level (join propagation through its columns).
			s := &scope{lvl: l, outer: l.outer}
			if sel != nil {
				out := a.selectStmt(sel, s, l.ctes)
				if rs.Alias != nil {
					out = out.renamed(rs.Alias.Colnames)
				}
				r.out = out
			} else if !a.probe {
				a.walkNodes(s, rs.Subquery)
			}
			return add(r), []*ref{r}
		}
		*later = append(*later, func() {
			s := &scope{lvl: l, visible: lat, outer: l.outer}
			if sel != nil {
				a.selectStmt(sel, s, l.ctes)
			} else {
				a.walkNodes(s, rs.Subquery)
			}
		})
		return add(r), []*ref{r}
	case *pg_query.Node_RangeFunction:
		rf := x.RangeFunction
		names := aliasNames(rf.Alias)
		if names == nil {
			for _, f := range rf.Functions {
				items := f.GetList().GetItems()
				var fc *pg_query.FuncCall
				if len(items) > 0 {
					fc = items[0].GetFuncCall()
				}
				if fc == nil || len(fc.Funcname) == 0 {
					l.opaque = true
					continue
				}
				names = append(names, fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval())
			}
		}
		r := add(&ref{names: names})
		// Functions in FROM may always refer to earlier FROM items.
		*later = append(*later, func() {
			a.walkLists(&scope{lvl: l, visible: lat, outer: l.outer}, rf.Functions)
		})
		return r, r
	case *pg_query.Node_RangeTableFunc:
		tf := x.RangeTableFunc
		r := add(&ref{names: aliasNames(tf.Alias, "xmltable")})
		*later = append(*later, func() {
			a.walk(&scope{lvl: l, visible: lat, outer: l.outer}, tf.ProtoReflect())
		})
		return r, r
	case *pg_query.Node_JsonTable:
		jt := x.JsonTable
		r := add(&ref{names: aliasNames(jt.Alias, "json_table")})
		*later = append(*later, func() {
			a.walk(&scope{lvl: l, visible: lat, outer: l.outer}, jt.ProtoReflect())
		})
		return r, r
	case *pg_query.Node_JoinExpr:
		return a.join(l, x.JoinExpr, lat, later)
	}
	// Unknown: no names resolve in this level, and any tenant table
	// inside is refused by walk.
	l.opaque = true
	*later = append(*later, func() {
		a.walkNodes(&scope{lvl: l, outer: l.outer}, n)
	})
	return nil, nil
}

// join adds a JOIN to l. Its ON conjuncts constrain the rows of both sides
// of an inner join, of the nullable side of a LEFT or RIGHT join (rows of
// the preserved side appear whether or not they match), and of neither
// side of a FULL join. USING and NATURAL joins add no conjuncts.
func (a *analyzer) join(l *level, j *pg_query.JoinExpr, lateral []*ref, later *[]func()) (visible, all []*ref) {
	lv, lall := a.fromItem(l, j.Larg, lateral, later)
	rlat := lateral
	if j.Jointype == pg_query.JoinType_JOIN_INNER || j.Jointype == pg_query.JoinType_JOIN_LEFT {
		rlat = append(append([]*ref(nil), lateral...), lv...)
	}
	rv, rall := a.fromItem(l, j.Rarg, rlat, later)
	joinVis := append(append([]*ref(nil), lv...), rv...)
	all = append(append([]*ref(nil), lall...), rall...)
	if j.Quals != nil {
		var domain []*ref
		switch j.Jointype {
		case pg_query.JoinType_JOIN_INNER:
			domain = all
		case pg_query.JoinType_JOIN_LEFT:
			domain = rall
		case pg_query.JoinType_JOIN_RIGHT:
			domain = lall
		}
		if !j.IsNatural && len(j.UsingClause) == 0 {
			l.addConjuncts(j.Quals, domain, joinVis)
		}
		*later = append(*later, func() {
			a.walkNodes(&scope{lvl: l, visible: joinVis, outer: l.outer}, j.Quals)
		})
	}
	visible = joinVis
	if j.Alias != nil {
		r := &ref{names: []string{j.Alias.Aliasname}}
		l.refs = append(l.refs, r)
		all = append(all, r)
		visible = []*ref{r}
	}
	if j.JoinUsingAlias != nil {
		r := &ref{names: []string{j.JoinUsingAlias.Aliasname}}
		l.refs = append(l.refs, r)
		all = append(all, r)
		visible = append(visible[:len(visible):len(visible)], r)
	}
	return visible, all
}

// insertStmt analyses an INSERT: its source query, the tenant column of
// every row written to a tenant table, ON CONFLICT and RETURNING. It
// returns what RETURNING returns.
func (a *analyzer) insertStmt(ins *pg_query.InsertStmt, outer *scope, env *cteEnv) *output {
	if a.refusal != nil {
		return nil
	}
	env = a.with(ins.WithClause, outer, env)
	if ins.Relation == nil {
		a.refuse(RuleStatementKind, "", 0)
		return nil
	}
	target := a.relationRef(ins.Relation, env, false)
	empty := emptyScope(outer, env)
	if !a.probe {
		a.walkLists(empty, ins.Cols) // subscripts may hold expressions
	}
	sel := ins.SelectStmt.GetSelectStmt()
	if sel != nil {
		a.selectStmt(sel, outer, env) // the source cannot see the target
	} else if ins.SelectStmt != nil && !a.probe {
		a.walkNodes(empty, ins.SelectStmt)
	}
	if a.refusal != nil {
		return nil
	}
	if target.tenant {
		target.scoped = a.insertSetsTenant(ins, sel, target)
	}
	if oc := ins.OnConflictClause; oc != nil {
		a.onConflict(oc, target, outer, env)
	}
	l := &level{outer: outer, ctes: env, refs: []*ref{target}, visible: []*ref{target}}
	s := &scope{lvl: l, visible: l.visible, outer: outer}
	if a.refusal != nil {
		return nil
	}
	out := a.targetOutput(ins.ReturningList, s)
	if !a.probe {
		a.walkLists(s, ins.ReturningList)
	}
	return out
}

// insertSetsTenant checks that an INSERT into a tenant table sets the
// tenant column of every row to the tenant, and refuses it otherwise.
func (a *analyzer) insertSetsTenant(ins *pg_query.InsertStmt, sel *pg_query.SelectStmt, target *ref) bool {
	idx := -1
	for i, c := range ins.Cols {
		rt := c.GetResTarget()
		if rt != nil && rt.Name == target.column {
			if len(rt.Indirection) != 0 {
				a.refuse(RuleInsertTenant, target.table, rt.Location)
				return false
			}
			idx = i
		}
	}
	if idx < 0 {
		// No column list (the position of the tenant column is unknown),
		// or a list without it, or DEFAULT VALUES.
		if a.cfg.defaults && (len(ins.Cols) > 0 || sel == nil) {
			return true
		}
		a.refuse(RuleInsertTenant, target.table, target.pos)
		return false
	}
	if !a.supplies(sel, idx, target.table) {
		a.refuse(RuleInsertTenant, target.table, target.pos)
		return false
	}
	return true
}

// supplies reports whether every row sel produces has the tenant in
// column i.
func (a *analyzer) supplies(sel *pg_query.SelectStmt, i int, table string) bool {
	if sel == nil {
		return false
	}
	if sel.Op != pg_query.SetOperation_SETOP_NONE {
		return a.supplies(sel.Larg, i, table) && a.supplies(sel.Rarg, i, table)
	}
	if len(sel.ValuesLists) > 0 {
		for _, row := range sel.ValuesLists {
			items := row.GetList().GetItems()
			if i >= len(items) || !a.suppliesValue(items[i], nil, table) {
				return false
			}
		}
		return true
	}
	l := a.levels[sel]
	if l == nil || i >= len(sel.TargetList) {
		return false
	}
	for j := 0; j <= i; j++ {
		rt := sel.TargetList[j].GetResTarget()
		if rt == nil || isStar(rt.Val) {
			return false // a star makes the position of column i unknown
		}
	}
	return a.suppliesValue(sel.TargetList[i].GetResTarget().Val, &scope{lvl: l, visible: l.visible, outer: l.outer}, table)
}

func (a *analyzer) suppliesValue(n *pg_query.Node, s *scope, table string) bool {
	if n.GetSetToDefault() != nil {
		return a.cfg.defaults
	}
	if a.use(a.tenantValue(n), table) {
		return true
	}
	if s == nil {
		return false
	}
	// A column of the source's own level that holds the tenant: the tenant
	// column of a scoped reference, or of a CTE or sub-select that holds it.
	if r, lvl, col := a.column(a.stripKeyCast(n), s, true); r != nil && lvl == s.lvl {
		if ok, vals := r.tenantValued(col); ok {
			a.useAll(vals, table)
			return true
		}
	}
	return false
}

func isStar(n *pg_query.Node) bool {
	cr := n.GetColumnRef()
	if cr == nil {
		return false
	}
	for _, f := range cr.Fields {
		if f.GetAStar() != nil {
			return true
		}
	}
	return false
}

// onConflict checks ON CONFLICT DO UPDATE on a tenant table: the row it
// updates must be the tenant's, either because the conflict target names
// the tenant column (so the existing row has the inserted row's tenant) or
// because its WHERE scopes the existing row; and it may assign the tenant
// column only what it already holds.
func (a *analyzer) onConflict(oc *pg_query.OnConflictClause, target *ref, outer *scope, env *cteEnv) {
	existing := &ref{names: target.names, tenant: target.tenant, column: target.column, table: target.table, pos: target.pos, colAlias: target.colAlias}
	// EXCLUDED is the row proposed for insertion: its tenant column holds
	// the tenant when the INSERT sets it so (target.scoped).
	excluded := &ref{names: []string{"excluded"}}
	if target.tenant && target.scoped {
		excluded.out = &output{cols: []outCol{{name: target.column, tenant: true}}}
	}
	l := &level{outer: outer, ctes: env, refs: []*ref{existing, excluded}, visible: []*ref{existing, excluded}}
	s := &scope{lvl: l, visible: l.visible, outer: outer}
	if oc.Action == pg_query.OnConflictAction_ONCONFLICT_UPDATE && target.tenant {
		if !a.noOpTenantAssignments(oc.TargetList, existing, s) {
			return
		}
		if oc.Infer != nil {
			for _, e := range oc.Infer.IndexElems {
				if ie := e.GetIndexElem(); ie != nil && ie.Name == target.column {
					existing.scoped = true
				}
			}
		}
		if !existing.scoped {
			l.addConjuncts(oc.WhereClause, []*ref{existing}, l.visible)
			a.scope(l)
		}
		if !existing.scoped {
			a.refuse(RuleOnConflict, target.table, oc.Location)
			return
		}
	}
	if a.probe {
		return
	}
	a.walkLists(s, oc.TargetList)
	a.walkNodes(s, oc.WhereClause)
	if oc.Infer != nil {
		a.walkLists(s, oc.Infer.IndexElems)
		a.walkNodes(s, oc.Infer.WhereClause)
	}
}

// noOpTenantAssignments checks the SET list of an UPDATE or ON CONFLICT DO
// UPDATE of the tenant relation target at s: an assignment to the tenant
// column must leave it as it is, so it may only be the tenant column
// itself (SET tenant_id = tenant_id), a column that holds the tenant
// (EXCLUDED.tenant_id, when the INSERT sets it to the tenant) or a tenant
// value. The caller makes sure that the rows changed are the tenant's.
// Anything else is refused.
func (a *analyzer) noOpTenantAssignments(targets []*pg_query.Node, target *ref, s *scope) bool {
	for _, t := range targets {
		rt := t.GetResTarget()
		if rt == nil || rt.Name != target.column {
			continue
		}
		val := rt.Val
		if m := val.GetMultiAssignRef(); m != nil {
			val = nil
			if row := m.Source.GetRowExpr(); row != nil && m.Colno >= 1 && int(m.Colno) <= len(row.Args) {
				val = row.Args[m.Colno-1]
			}
		}
		if len(rt.Indirection) != 0 || val == nil || !a.keepsTenant(val, target, s) {
			a.refuse(RuleAssignTenant, target.table, rt.Location)
			return false
		}
	}
	return true
}

// keepsTenant reports whether assigning n to target's tenant column at s
// keeps the tenant there, recording the values to check.
func (a *analyzer) keepsTenant(n *pg_query.Node, target *ref, s *scope) bool {
	if a.use(a.tenantValue(n), target.table) {
		return true
	}
	if r, _, col := a.column(a.stripKeyCast(n), s, true); r == target && col == target.column {
		return true
	}
	ok, vals := a.columnValue(n, s, target)
	if ok {
		a.useAll(vals, target.table)
	}
	return ok
}

// updateStmt analyses an UPDATE: the target and the FROM items form one
// level scoped by the WHERE clause, and the tenant column keeps its value.
func (a *analyzer) updateStmt(u *pg_query.UpdateStmt, outer *scope, env *cteEnv) *output {
	if a.refusal != nil {
		return nil
	}
	env = a.with(u.WithClause, outer, env)
	if u.Relation == nil {
		a.refuse(RuleStatementKind, "", 0)
		return nil
	}
	if u.Relation.Relname == "pg_settings" && (u.Relation.Schemaname == "" || u.Relation.Schemaname == "pg_catalog") {
		a.refuse(RuleSet, "", u.Relation.Location)
		return nil
	}
	target := a.relationRef(u.Relation, env, false)
	return a.modify(target, u.FromClause, u.WhereClause, outer, env, u.TargetList, u.ReturningList)
}

// deleteStmt analyses a DELETE like an UPDATE, with USING for FROM.
func (a *analyzer) deleteStmt(d *pg_query.DeleteStmt, outer *scope, env *cteEnv) *output {
	if a.refusal != nil {
		return nil
	}
	env = a.with(d.WithClause, outer, env)
	if d.Relation == nil {
		a.refuse(RuleStatementKind, "", 0)
		return nil
	}
	return a.modify(a.relationRef(d.Relation, env, false), d.UsingClause, d.WhereClause, outer, env, nil, d.ReturningList)
}

// modify analyses the level of an UPDATE (set is its SET list) or DELETE,
// and returns what RETURNING returns.
func (a *analyzer) modify(target *ref, from []*pg_query.Node, where *pg_query.Node, outer *scope, env *cteEnv, set, returning []*pg_query.Node) *output {
	if a.refusal != nil {
		return nil
	}
	l := &level{outer: outer, ctes: env, refs: []*ref{target}}
	var later []func()
	fromVis := a.fromList(l, from, &later)
	l.visible = append([]*ref{target}, fromVis...)
	s := &scope{lvl: l, visible: l.visible, outer: outer}
	l.addConjuncts(where, append([]*ref(nil), l.refs...), l.visible)
	a.scope(l)
	if target.tenant && !a.noOpTenantAssignments(set, target, s) {
		return nil
	}
	a.checkScoped(l)
	if a.refusal != nil {
		return nil
	}
	out := a.targetOutput(returning, s)
	if a.probe {
		return out
	}
	for _, f := range later {
		f()
	}
	a.walkNodes(s, where)
	a.walkLists(s, set, returning)
	return out
}
