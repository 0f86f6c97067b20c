package pgparse

import pg_query "github.com/pganalyze/pg_query_go/v6"

// Parse parses sql, which may hold several statements, into its parse
// tree. A text that does not parse gives a *Error; without cgo, once the
// WebAssembly parser has trapped, every call gives [ErrFault]. It is safe
// for concurrent use.
func Parse(sql string) (*pg_query.ParseResult, error) {
	tree, err := parse(sql)
	return tree, convert(err)
}

// ParseToJSON parses sql into libpg_query's JSON form of the tree. A text
// that does not parse gives a *Error, and a trapped parser [ErrFault], as
// for [Parse]. It is safe for concurrent use.
func ParseToJSON(sql string) (string, error) {
	s, err := parseToJSON(sql)
	return s, convert(err)
}

// ParsePlPgSQLToJSON parses a CREATE FUNCTION statement whose body is
// PL/pgSQL into libpg_query's JSON form of the function's PL/pgSQL tree.
// A text that does not parse gives a *Error, and a trapped parser
// [ErrFault], as for [Parse]. It is safe for concurrent use.
func ParsePlPgSQLToJSON(sql string) (string, error) {
	s, err := parsePlPgSQLToJSON(sql)
	return s, convert(err)
}

// convert makes the parser's own error a *Error; other errors pass
// unchanged.
func convert(err error) error {
	if err == nil {
		return nil
	}
	if msg, pos, ok := parseError(err); ok {
		return &Error{Message: msg, Cursorpos: pos}
	}
	return err
}
