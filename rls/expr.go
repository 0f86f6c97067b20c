package rls

import (
	"regexp"
	"strings"
)

// This file reads policy expressions as pg_get_expr prints them. The
// printed form is regular (every operator expression is parenthesised,
// every sub-select is "( SELECT ... AS name)"), which makes these small
// text checks dependable for the patterns Check looks for.

// stripParens removes parentheses that enclose all of s.
func stripParens(s string) string {
	s = strings.TrimSpace(s)
	for len(s) >= 2 && s[0] == '(' && matchingParen(s, 0) == len(s)-1 {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

// matchingParen returns the index of the parenthesis closing the one at
// s[open], skipping quoted strings and identifiers, or -1.
func matchingParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\'', '"':
			i = skipQuoted(s, i)
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// skipQuoted returns the index of the quote that closes the one at s[i].
func skipQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q { // doubled quote
				j++
				continue
			}
			return j
		}
	}
	return len(s)
}

// splitTop splits s, after stripParens, at each top-level occurrence of
// sep (such as " AND "), outside parentheses and quotes.
func splitTop(s, sep string) []string {
	s = stripParens(s)
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '"':
			i = skipQuoted(s, i)
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], sep):
			parts = append(parts, stripParens(s[start:i]))
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(parts, stripParens(s[start:]))
}

// isTenantPredicate reports whether expr has a top-level AND conjunct
// "col = ( SELECT fn() AS x)" or "col = fn()", where col is the quoted
// tenant column and fn the printed name of current_tenant_id.
func isTenantPredicate(expr, col, fn string) bool {
	q := regexp.QuoteMeta
	re := regexp.MustCompile(`^` + q(col) + ` = (\( SELECT ` + q(fn) + `\(\) AS \w+\)|` + q(fn) + `\(\))$`)
	for _, c := range splitTop(expr, " AND ") {
		if re.MatchString(c) {
			return true
		}
	}
	return false
}

// hasNullEscape reports whether expr is a disjunction one of whose
// branches tests for NULL: "x IS NULL OR tenant check" admits every row
// when x is missing.
func hasNullEscape(expr string) bool {
	parts := splitTop(expr, " OR ")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if strings.Contains(p, " IS NULL") {
			return true
		}
	}
	return false
}

// unwrappedCalls returns the names of calls in expr to current_setting or
// to one of helpers that are not inside a sub-select, and so may run once
// per row instead of once per statement.
func unwrappedCalls(expr string, helpers []string) []string {
	names := append([]string{"current_setting"}, helpers...)
	var found []string
	// stack holds, for each open parenthesis, whether it opens a sub-select.
	var stack []bool
	inSelect := func() bool {
		for _, sel := range stack {
			if sel {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; c {
		case '\'':
			i = skipQuoted(expr, i)
		case '(':
			stack = append(stack, strings.HasPrefix(expr[i+1:], " SELECT ") || strings.HasPrefix(expr[i+1:], "SELECT "))
		case ')':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		default:
			if i > 0 && (isIdentByte(expr[i-1])) {
				continue
			}
			for _, n := range names {
				if strings.HasPrefix(expr[i:], n+"(") && !inSelect() {
					found = append(found, n)
				}
			}
		}
	}
	return found
}

func isIdentByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
