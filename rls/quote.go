package rls

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxIdentLen is PostgreSQL's NAMEDATALEN-1. Longer names are silently
// truncated by the server, which could make a GRANT name another role, so
// they are refused instead.
const maxIdentLen = 63

// checkIdent reports whether s can be used as a PostgreSQL identifier.
func checkIdent(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty name")
	case len(s) > maxIdentLen:
		return fmt.Errorf("name %.20q… is longer than %d bytes", s, maxIdentLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("name %q is not valid UTF-8", s)
	case strings.ContainsFunc(s, unicode.IsControl):
		// A newline would end the "--" comments that name objects.
		return fmt.Errorf("name %q contains a control character", s)
	}
	return nil
}

// quoteIdent quotes s as PostgreSQL's quote_ident does: it is left bare
// when it is a lower-case identifier that is not a reserved, column-name or
// type/function-name keyword, and double-quoted (with inner quotes doubled)
// otherwise. s must have passed checkIdent.
func quoteIdent(s string) string {
	if isBareIdent(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func isBareIdent(s string) bool {
	if s == "" || quotedKeywords[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', c == '_':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// quoteLiteral quotes s as a string constant the way PostgreSQL's
// quote_literal does: single quotes are doubled, and a string holding a
// backslash is written as an escape string (E'...') with the backslash
// doubled, so it reads the same whatever standard_conforming_strings is.
func quoteLiteral(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		q = "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}

// dollarQuote wraps body in a dollar quote whose tag does not occur in
// body, so no name embedded in body can end the quote early.
func dollarQuote(tag, body string) string {
	t := "$" + tag + "$"
	for i := 1; strings.Contains(body, t); i++ {
		t = fmt.Sprintf("$%s_%d$", tag, i)
	}
	return t + body + t
}

// quotedKeywords are the PostgreSQL 15 keywords that quote_ident quotes
// (every category but unreserved), from pg_get_keywords().
var quotedKeywords = setOf(`all analyse analyze and any array as asc asymmetric authorization
between bigint binary bit boolean both case cast char character check coalesce collate collation
column concurrently constraint create cross current_catalog current_date current_role
current_schema current_time current_timestamp current_user dec decimal default deferrable desc
distinct do else end except exists extract false fetch float for foreign freeze from full grant
greatest group grouping having ilike in initially inner inout int integer intersect interval
into is isnull join lateral leading least left like limit localtime localtimestamp national
natural nchar none normalize not notnull null nullif numeric offset on only or order out outer
overlaps overlay placing position precision primary real references returning right row select
session_user setof similar smallint some substring symmetric table tablesample then time
timestamp to trailing treat trim true union unique user using values varchar variadic verbose
when where window with xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces
xmlparse xmlpi xmlroot xmlserialize xmltable`)

func setOf(words string) map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
