package sqlguard_test

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/mydentalpractice/tenancy/internal/pgparse"
)

// usesParam reports whether sql uses $n.
func usesParam(sql string, n int) bool {
	tree, err := pgparse.Parse(sql)
	if err != nil {
		return false
	}
	used := map[int]bool{}
	var max int
	ok := true
	maxParam(tree, &max, &ok, used)
	return used[n]
}

// maxParam sets *max to the highest $n in tree, *ok to false when a
// parameter number is out of range, and used[n] for each $n when used is
// not nil.
func maxParam(tree *pg_query.ParseResult, max *int, ok *bool, used map[int]bool) {
	var visit func(m protoreflect.Message)
	visit = func(m protoreflect.Message) {
		if p, isParam := m.Interface().(*pg_query.ParamRef); isParam {
			if used != nil {
				used[int(p.Number)] = true
			}
			if p.Number < 1 || p.Number > 1000 {
				*ok = false
			} else if int(p.Number) > *max {
				*max = int(p.Number)
			}
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if fd.Kind() != protoreflect.MessageKind {
				return true
			}
			if fd.IsList() {
				for i := 0; i < v.List().Len(); i++ {
					visit(v.List().Get(i).Message())
				}
			} else {
				visit(v.Message())
			}
			return true
		})
	}
	visit(tree.ProtoReflect())
}
