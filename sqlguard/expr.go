package sqlguard

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// walk checks an expression (or any other part of a statement that is not
// handled structurally) at scope s: every sub-query in it is analysed as a
// query level of its own whose enclosing scope is s, every function call is
// checked against the allowed ones, every qualified operator against
// pg_catalog, and any relation or statement found where none is expected
// is refused. It visits every field of every
// node through protobuf reflection, so no node kind is skipped.
func (a *analyzer) walk(s *scope, m protoreflect.Message) {
	if a.refusal != nil || !m.IsValid() {
		return
	}
	switch x := m.Interface().(type) {
	case *pg_query.SubLink:
		a.operator(x.OperName, x.Location)
		if x.Testexpr != nil {
			a.walk(s, x.Testexpr.ProtoReflect())
		}
		if sel := x.Subselect.GetSelectStmt(); sel != nil {
			a.selectStmt(sel, s, s.lvl.ctes)
		} else if x.Subselect != nil {
			a.walk(s, x.Subselect.ProtoReflect())
		}
		return
	case *pg_query.SelectStmt:
		a.selectStmt(x, s, s.lvl.ctes)
		return
	case *pg_query.FuncCall:
		a.funcCall(x)
	case *pg_query.A_Expr:
		a.operator(x.Name, x.Location)
	case *pg_query.SortBy:
		a.operator(x.UseOp, x.Location)
	case *pg_query.RangeVar:
		// A relation outside a FROM list: nothing can scope it.
		if r := a.relationRef(x, nil, false); r.tenant {
			a.refuse(RuleUnscoped, r.table, x.Location)
		}
		return
	case *pg_query.InsertStmt, *pg_query.UpdateStmt, *pg_query.DeleteStmt, *pg_query.MergeStmt:
		a.refuse(RuleStatementKind, "", 0)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				a.walk(s, l.Get(i).Message())
			}
		} else {
			a.walk(s, v.Message())
		}
		return a.refusal == nil
	})
}

// walkNodes walks each node.
func (a *analyzer) walkNodes(s *scope, nodes ...*pg_query.Node) {
	for _, n := range nodes {
		if n != nil {
			a.walk(s, n.ProtoReflect())
		}
	}
}

// walkLists walks each node of each list.
func (a *analyzer) walkLists(s *scope, lists ...[]*pg_query.Node) {
	for _, l := range lists {
		a.walkNodes(s, l...)
	}
}

// visit calls fn for every Node in m, without descending into
// sub-queries.
func visit(m protoreflect.Message, fn func(*pg_query.Node)) {
	if !m.IsValid() {
		return
	}
	switch x := m.Interface().(type) {
	case *pg_query.Node:
		fn(x)
	case *pg_query.SelectStmt:
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				visit(l.Get(i).Message(), fn)
			}
		} else {
			visit(v.Message(), fn)
		}
		return true
	})
}
