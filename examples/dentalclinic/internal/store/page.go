package store

import (
	"fmt"
	"strings"
)

// keyset is one list's keyset pagination: its rows ordered by cols (SQL
// expressions, the last one unique, such as the id), a page of limit rows
// fetched as limit+1, and the next page's cursor holding the last row's
// values of them. Every list of the store pages this way.
type keyset struct {
	// cols are the ORDER BY expressions, in order.
	cols []string
	// params, if set, writes each cursor value as a parameter, "%s"
	// standing for its placeholder: "lower(%s)" to fold it as its column
	// is, "%s::date" to cast it. Default "%s".
	params []string
	// desc orders every column descending (the newest first).
	desc bool
}

// orderBy is the ORDER BY list, without the keywords.
func (k keyset) orderBy() string {
	if !k.desc {
		return strings.Join(k.cols, ", ")
	}
	return strings.Join(k.cols, " desc, ") + " desc"
}

// after returns the condition that starts the page after the row whose
// values of cols are vals (" and (cols) > (...)", < when desc), and args
// with vals appended, numbered after the ones there.
func (k keyset) after(args []any, vals ...any) (string, []any) {
	if len(vals) != len(k.cols) {
		panic(fmt.Sprintf("store: keyset of %d columns given %d values", len(k.cols), len(vals)))
	}
	ps := make([]string, len(vals))
	for i, v := range vals {
		args = append(args, v)
		p := "$" + itoa(len(args))
		if i < len(k.params) && k.params[i] != "" {
			p = fmt.Sprintf(k.params[i], p)
		}
		ps[i] = p
	}
	op := " > "
	if k.desc {
		op = " < "
	}
	return " and (" + strings.Join(k.cols, ", ") + ")" + op + "(" + strings.Join(ps, ", ") + ")", args
}

// nextPage cuts list, fetched with limitSQL(limit) (one row more than a
// page), to limit rows, and returns with it the cursor of the next page:
// cursor of the page's last row, or "" when there is no more.
func nextPage[T any](list []T, limit int, cursor func(last T) any) ([]T, string) {
	if len(list) <= limit {
		return list, ""
	}
	list = list[:limit]
	return list, encodeCursor(cursor(list[limit-1]))
}
