package store

import (
	"slices"
	"testing"
)

// TestKeyset: the ORDER BY and the condition of the page after a row, for
// an ascending and a descending ordering with a folded and a cast
// parameter, numbered after the query's own parameters.
func TestKeyset(t *testing.T) {
	up := keyset{cols: []string{"lower(family_name)", "lower(given_name)", "id"}, params: []string{"lower(%s)", "lower(%s)"}}
	if got := up.orderBy(); got != "lower(family_name), lower(given_name), id" {
		t.Errorf("orderBy = %q", got)
	}
	cond, args := up.after([]any{"clinic"}, "Smith", "Sam", "id-1")
	if cond != " and (lower(family_name), lower(given_name), id) > (lower($2), lower($3), $4)" || !slices.Equal(args, []any{"clinic", "Smith", "Sam", "id-1"}) {
		t.Errorf("after = %q, %v", cond, args)
	}
	down := keyset{cols: []string{"prescribed_on", "id"}, params: []string{"%s::date"}, desc: true}
	if got := down.orderBy(); got != "prescribed_on desc, id desc" {
		t.Errorf("orderBy = %q", got)
	}
	if cond, _ := down.after([]any{"c", "p"}, "2026-12-02", "id-2"); cond != " and (prescribed_on, id) < ($3::date, $4)" {
		t.Errorf("after = %q", cond)
	}
	list, next := nextPage([]int{1, 2, 3}, 2, func(last int) any { return last })
	if !slices.Equal(list, []int{1, 2}) || next != encodeCursor(2) {
		t.Errorf("nextPage = %v, %q", list, next)
	}
	if list, next := nextPage([]int{1, 2}, 2, func(last int) any { return last }); len(list) != 2 || next != "" {
		t.Errorf("the last page: %v, %q", list, next)
	}
}

func TestLimitSQL(t *testing.T) {
	for n, want := range map[int]string{1: " limit 2", 50: " limit 51", 200: " limit 201", 0: " limit 2", 1000: " limit 201", -5: " limit 2"} {
		if got := limitSQL(n); got != want {
			t.Errorf("limitSQL(%d) = %q, want %q", n, got, want)
		}
	}
}
