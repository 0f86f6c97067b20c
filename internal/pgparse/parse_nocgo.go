//go:build !cgo

package pgparse

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	pgquery "github.com/wasilibs/go-pgquery"
	"github.com/wasilibs/go-pgquery/parser"
)

// Parser names the parser of this build: "cgo" (pg_query_go, libpg_query
// linked in) or "wasm" (go-pgquery on wazero).
const Parser = "wasm"

// go-pgquery keeps a pool of WebAssembly instances and makes a new one,
// compiling the module again (seconds, and a few tens of megabytes), when
// a parse finds the pool empty. slots bounds the parses under way, and so
// the instances, to one per processor; past that a parse waits for one.
var slots = make(chan struct{}, runtime.GOMAXPROCS(0))

// trapped is set once an instance has trapped: see ErrFault.
var trapped atomic.Bool

func parse(sql string) (tree *pg_query.ParseResult, err error) {
	err = run(func() error {
		tree, err = pgquery.Parse(sql)
		return err
	})
	return tree, err
}

func parseToJSON(sql string) (s string, err error) {
	err = run(func() error {
		s, err = pgquery.ParseToJSON(sql)
		return err
	})
	return s, err
}

func parsePlPgSQLToJSON(sql string) (s string, err error) {
	err = run(func() error {
		s, err = pgquery.ParsePlPgSqlToJSON(sql)
		return err
	})
	return s, err
}

// run calls f in a slot and makes a trap (go-pgquery panics with the
// runtime's error) ErrFault, for this call and every later one.
func run(f func() error) (err error) {
	if trapped.Load() {
		return ErrFault
	}
	slots <- struct{}{}
	defer func() { <-slots }()
	defer func() {
		if r := recover(); r != nil {
			trapped.Store(true)
			err = fmt.Errorf("%w: %v", ErrFault, r)
		}
	}()
	return f()
}

// parseError reads go-pgquery's error.
func parseError(err error) (msg string, cursorpos int, ok bool) {
	var pe *parser.Error
	if !errors.As(err, &pe) {
		return "", 0, false
	}
	return pe.Message, pe.Cursorpos, true
}
