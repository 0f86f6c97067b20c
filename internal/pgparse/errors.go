package pgparse

import "errors"

// Error is a parse error from libpg_query, whichever parser ran.
type Error struct {
	// Message is PostgreSQL's message, such as `syntax error at or near "x"`.
	Message string
	// Cursorpos is the 1-based character (not byte) position in the text
	// at which the error occurred, or 0 if PostgreSQL gives none.
	Cursorpos int
}

// Error returns the message prefixed with "pgparse: ".
func (e *Error) Error() string {
	return "pgparse: " + e.Message
}

// ErrFault is returned, without cgo only, once the WebAssembly parser has
// trapped (its call stack overflows on a tree thousands of levels deep):
// for that text and for every text after it in the process, since a
// trapped parser instance is left in a state that misreads later texts.
// The cgo parser has no such state; there a tree too deep for
// pg_query_go's decoder is an ordinary error.
var ErrFault = errors.New("pgparse: the WebAssembly parser trapped; no text is parsed again in this process")
