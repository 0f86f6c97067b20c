package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// retryAfter is the Retry-After, in seconds, of every 503: long enough for
// a restarting database or a drained pool, short enough for a person.
const retryAfter = 2

// unavailable reports whether err means the database could not do the work
// now, though it may soon, and returns a short cause for the log (an
// SQLSTATE or a word, never a message, which could quote data). It is:
//   - a connection that could not be made, or was lost (refused, reset,
//     terminated, closed: SQLSTATE class 08);
//   - an administrator's or the server's own intervention (class 57:
//     57014 a statement cancelled, by statement_timeout from the request's
//     deadline among others; 57P01-57P03 admin, crash or cannot-connect-now
//     shutdowns), a lack of resources (class 53: too many connections,
//     out of memory) or a system error (class 58);
//   - a serialization failure or deadlock that the store's retries did not
//     overcome (40001, 40P01);
//   - the request's deadline passing, while waiting for a pooled connection
//     or for the server.
//
// None of these is the caller's fault or a bug of ours: the answer is 503
// with Retry-After, and the transaction, if any, did not commit.
func unavailable(err error) (cause string, ok bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "40001" || pgErr.Code == "40P01":
			return pgErr.Code, true
		case len(pgErr.Code) == 5:
			switch pgErr.Code[:2] {
			case "08", "53", "57", "58":
				return pgErr.Code, true
			}
		}
		return "", false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || pgconn.Timeout(err):
		return "deadline", true
	case errors.As(err, &connectErr):
		return "connect", true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr):
		return "connection lost", true
	case pgconn.SafeToRetry(err):
		return "not sent", true
	}
	return "", false
}

// serviceUnavailable answers 503 with Retry-After.
func serviceUnavailable(w http.ResponseWriter, code, detail string) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Code: code, Detail: detail})
}
