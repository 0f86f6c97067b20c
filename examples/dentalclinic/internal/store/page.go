package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
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

// queryPage runs one page of a list: query (its SELECT and WHERE, without
// ORDER BY) with args, ordered by ks, limit rows of it scanned with scan,
// and the cursor of the next page made from the page's last row by
// cursor. what names the list in errors.
func queryPage[T any](ctx context.Context, s *Store, what, query string, args []any, ks keyset, limit int,
	scan func(pgx.CollectableRow) (T, error), cursor func(last T) any) ([]T, string, error) {
	rows, err := s.db.Query(ctx, query+" order by "+ks.orderBy()+limitSQL(limit), args...)
	if err != nil {
		return nil, "", wrap(what, err)
	}
	list, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, "", wrap(what, err)
	}
	list, next := nextPage(list, limit, cursor)
	return list, next, nil
}

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// limitSQL is the LIMIT clause of a list query that reads a page of n rows
// (n from pageLimit) and one more, to know whether there is a next page.
// The number is written into the SQL text as an integer literal, not sent
// as a parameter: with "limit $n", PostgreSQL keeps choosing a custom plan
// for the prepared statement and so plans it again at every execution,
// which under row-level security means planning every policy's
// sub-selects again each time (docs/benchmarks.md, "Row-level security at
// scale"). With a literal it switches to the cached generic plan after five
// executions. n is an int validated by pageLimit, never request text, and
// it is clamped here as well, so that the text is one of at most
// maxPageSize forms.
func limitSQL(n int) string {
	return " limit " + strconv.Itoa(min(max(n, 1), maxPageSize)+1)
}

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return defaultPageSize
	case n > maxPageSize:
		return maxPageSize
	}
	return n
}

// encodeCursor and decodeCursor make opaque page cursors. A cursor holds
// only sort keys of the caller's own clinic; it cannot widen a query,
// because every query is scoped by the token's tenant anyway.
func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, v any) error {
	if s == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 1024 || json.Unmarshal(b, v) != nil {
		return invalid("cursor", "cursor is not one this server gave")
	}
	return nil
}
