package sqlguard

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// selectStmt analyses a SELECT, VALUES or set operation whose enclosing
// scope is outer (nil at the top). Each arm of a set operation is a query
// level of its own.
func (a *analyzer) selectStmt(sel *pg_query.SelectStmt, outer *scope) {
	if sel == nil || a.refusal != nil {
		return
	}
	if sel.IntoClause != nil {
		pos := a.stmtPos
		if sel.IntoClause.Rel != nil {
			pos = sel.IntoClause.Rel.Location
		}
		a.refuse(RuleDDL, "", pos)
		return
	}
	if sel.WithClause != nil {
		a.with(sel.WithClause, outer)
	}
	if sel.Op != pg_query.SetOperation_SETOP_NONE {
		a.selectStmt(sel.Larg, outer)
		a.selectStmt(sel.Rarg, outer)
		// ORDER BY and LIMIT of the whole set operation see no tables;
		// the other lists are empty for a set operation, and walked in
		// case they are not.
		l := &level{outer: outer}
		s := &scope{lvl: l, outer: outer}
		a.walkLists(s, sel.SortClause, sel.TargetList, sel.FromClause, sel.DistinctClause,
			sel.GroupClause, sel.WindowClause, sel.ValuesLists)
		a.walkNodes(s, sel.WhereClause, sel.HavingClause, sel.LimitOffset, sel.LimitCount)
		return
	}
	l := &level{outer: outer}
	var later []func()
	l.visible = a.fromList(l, sel.FromClause, &later)
	l.addConjuncts(sel.WhereClause, append([]*ref(nil), l.refs...), l.visible)
	a.scope(l)
	a.checkScoped(l)
	a.levels[sel] = l
	for _, f := range later {
		f()
	}
	s := &scope{lvl: l, visible: l.visible, outer: outer}
	// LockingClause is left out: it only names FROM items.
	a.walkLists(s, sel.DistinctClause, sel.TargetList, sel.GroupClause, sel.WindowClause,
		sel.SortClause, sel.ValuesLists)
	a.walkNodes(s, sel.WhereClause, sel.HavingClause, sel.LimitOffset, sel.LimitCount)
}

// with analyses each common table expression as a query of its own. A CTE
// that has the name of a tenant table does not hide it: a reference by
// that name is treated as the table, and must be scoped.
func (a *analyzer) with(w *pg_query.WithClause, outer *scope) {
	for _, c := range w.Ctes {
		cte := c.GetCommonTableExpr()
		if cte == nil {
			a.refuse(RuleStatementKind, "", 0)
			return
		}
		// SEARCH and CYCLE hold column names and constants; walked in case.
		empty := &scope{lvl: &level{outer: outer}, outer: outer}
		if cte.SearchClause != nil {
			a.walk(empty, cte.SearchClause.ProtoReflect())
		}
		if cte.CycleClause != nil {
			a.walk(empty, cte.CycleClause.ProtoReflect())
		}
		switch q := cte.Ctequery.GetNode().(type) {
		case *pg_query.Node_SelectStmt:
			a.selectStmt(q.SelectStmt, outer)
		case *pg_query.Node_InsertStmt:
			a.insertStmt(q.InsertStmt, outer)
		case *pg_query.Node_UpdateStmt:
			a.updateStmt(q.UpdateStmt, outer)
		case *pg_query.Node_DeleteStmt:
			a.deleteStmt(q.DeleteStmt, outer)
		default:
			a.refuse(RuleStatementKind, "", cte.Location)
		}
	}
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

func (a *analyzer) rangeVarRef(rv *pg_query.RangeVar) *ref {
	column, tenant := a.cfg.tenantColumn(rv.Schemaname, rv.Relname)
	r := &ref{
		tenant: tenant,
		column: column,
		table:  rangeVarName(rv),
		pos:    rv.Location,
		names:  []string{rv.Relname},
	}
	if rv.Alias != nil {
		r.names = []string{rv.Alias.Aliasname}
		r.colAlias = len(rv.Alias.Colnames) > 0
	}
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
		r := add(a.rangeVarRef(x.RangeVar))
		return r, r
	case *pg_query.Node_RangeTableSample:
		ts := x.RangeTableSample
		rv := ts.Relation.GetRangeVar()
		if rv == nil {
			break
		}
		r := add(a.rangeVarRef(rv))
		*later = append(*later, func() {
			s := &scope{lvl: l, visible: lat, outer: l.outer}
			a.walkLists(s, ts.Args)
			a.walkNodes(s, ts.Repeatable)
		})
		return r, r
	case *pg_query.Node_RangeSubselect:
		rs := x.RangeSubselect
		r := add(&ref{names: aliasNames(rs.Alias)})
		if !rs.Lateral {
			lat = nil // a plain sub-select sees no sibling FROM items
		}
		*later = append(*later, func() {
			s := &scope{lvl: l, visible: lat, outer: l.outer}
			if sel := rs.Subquery.GetSelectStmt(); sel != nil {
				a.selectStmt(sel, s)
			} else {
				a.walkNodes(s, rs.Subquery)
			}
		})
		return r, r
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
// every row written to a tenant table, ON CONFLICT and RETURNING.
func (a *analyzer) insertStmt(ins *pg_query.InsertStmt, outer *scope) {
	if a.refusal != nil {
		return
	}
	if ins.WithClause != nil {
		a.with(ins.WithClause, outer)
	}
	if ins.Relation == nil {
		a.refuse(RuleStatementKind, "", 0)
		return
	}
	target := a.rangeVarRef(ins.Relation)
	empty := &scope{lvl: &level{outer: outer}, outer: outer}
	a.walkLists(empty, ins.Cols) // subscripts may hold expressions
	sel := ins.SelectStmt.GetSelectStmt()
	if sel != nil {
		a.selectStmt(sel, outer) // the source cannot see the target
	} else if ins.SelectStmt != nil {
		a.walkNodes(empty, ins.SelectStmt)
	}
	if a.refusal != nil {
		return
	}
	if target.tenant {
		target.scoped = a.insertSetsTenant(ins, sel, target)
	}
	if oc := ins.OnConflictClause; oc != nil {
		a.onConflict(oc, target, outer)
	}
	l := &level{outer: outer, refs: []*ref{target}, visible: []*ref{target}}
	a.walkLists(&scope{lvl: l, visible: l.visible, outer: outer}, ins.ReturningList)
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
	if s != nil {
		if r, lvl := a.tenantColumn(n, s, true); r != nil && r.scoped && lvl == s.lvl {
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

// onConflict checks ON CONFLICT DO UPDATE on a tenant table: it must not
// assign the tenant column, and the row it updates must be the tenant's,
// either because the conflict target names the tenant column (so the
// existing row has the inserted row's tenant) or because its WHERE scopes
// the existing row.
func (a *analyzer) onConflict(oc *pg_query.OnConflictClause, target *ref, outer *scope) {
	existing := &ref{names: target.names, tenant: target.tenant, column: target.column, table: target.table, pos: target.pos, colAlias: target.colAlias}
	excluded := &ref{names: []string{"excluded"}}
	l := &level{outer: outer, refs: []*ref{existing, excluded}, visible: []*ref{existing, excluded}}
	if oc.Action == pg_query.OnConflictAction_ONCONFLICT_UPDATE && target.tenant {
		for _, t := range oc.TargetList {
			if rt := t.GetResTarget(); rt != nil && rt.Name == target.column {
				a.refuse(RuleAssignTenant, target.table, rt.Location)
				return
			}
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
	s := &scope{lvl: l, visible: l.visible, outer: outer}
	a.walkLists(s, oc.TargetList)
	a.walkNodes(s, oc.WhereClause)
	if oc.Infer != nil {
		a.walkLists(s, oc.Infer.IndexElems)
		a.walkNodes(s, oc.Infer.WhereClause)
	}
}

// updateStmt analyses an UPDATE: the target and the FROM items form one
// level scoped by the WHERE clause, and the tenant column is never
// assigned.
func (a *analyzer) updateStmt(u *pg_query.UpdateStmt, outer *scope) {
	if a.refusal != nil {
		return
	}
	if u.WithClause != nil {
		a.with(u.WithClause, outer)
	}
	if u.Relation == nil {
		a.refuse(RuleStatementKind, "", 0)
		return
	}
	if u.Relation.Relname == "pg_settings" && (u.Relation.Schemaname == "" || u.Relation.Schemaname == "pg_catalog") {
		a.refuse(RuleSet, "", u.Relation.Location)
		return
	}
	target := a.rangeVarRef(u.Relation)
	if target.tenant {
		for _, t := range u.TargetList {
			if rt := t.GetResTarget(); rt != nil && rt.Name == target.column {
				a.refuse(RuleAssignTenant, target.table, rt.Location)
				return
			}
		}
	}
	a.modify(target, u.FromClause, u.WhereClause, outer, u.TargetList, u.ReturningList)
}

// deleteStmt analyses a DELETE like an UPDATE, with USING for FROM.
func (a *analyzer) deleteStmt(d *pg_query.DeleteStmt, outer *scope) {
	if a.refusal != nil {
		return
	}
	if d.WithClause != nil {
		a.with(d.WithClause, outer)
	}
	if d.Relation == nil {
		a.refuse(RuleStatementKind, "", 0)
		return
	}
	a.modify(a.rangeVarRef(d.Relation), d.UsingClause, d.WhereClause, outer, d.ReturningList)
}

// modify analyses the level of an UPDATE or DELETE.
func (a *analyzer) modify(target *ref, from []*pg_query.Node, where *pg_query.Node, outer *scope, exprs ...[]*pg_query.Node) {
	l := &level{outer: outer, refs: []*ref{target}}
	var later []func()
	fromVis := a.fromList(l, from, &later)
	l.visible = append([]*ref{target}, fromVis...)
	l.addConjuncts(where, append([]*ref(nil), l.refs...), l.visible)
	a.scope(l)
	a.checkScoped(l)
	for _, f := range later {
		f()
	}
	s := &scope{lvl: l, visible: l.visible, outer: outer}
	a.walkNodes(s, where)
	a.walkLists(s, exprs...)
}
