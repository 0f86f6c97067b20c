//go:build cgo

package pgparse

import (
	"errors"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

// Parser names the parser of this build: "cgo" (pg_query_go, libpg_query
// linked in) or "wasm" (go-pgquery on wazero).
const Parser = "cgo"

var (
	parse              = pg_query.Parse
	parseToJSON        = pg_query.ParseToJSON
	parsePlPgSQLToJSON = pg_query.ParsePlPgSqlToJSON
)

// parseError reads pg_query_go's error.
func parseError(err error) (msg string, cursorpos int, ok bool) {
	var pe *parser.Error
	if !errors.As(err, &pe) {
		return "", 0, false
	}
	return pe.Message, pe.Cursorpos, true
}
