package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestUnavailable: the errors of a database that cannot serve now are
// told apart from bugs and from the caller's mistakes, however wrapped.
func TestUnavailable(t *testing.T) {
	pg := func(code string) error {
		return fmt.Errorf("store: op: %w", &pgconn.PgError{Code: code, Message: "secret detail"})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"admin shutdown (pg_terminate_backend)", pg("57P01"), true},
		{"crash shutdown", pg("57P02"), true},
		{"cannot connect now", pg("57P03"), true},
		{"statement timeout", pg("57014"), true},
		{"connection failure", pg("08006"), true},
		{"too many connections", pg("53300"), true},
		{"serialization failure", pg("40001"), true},
		{"deadlock", pg("40P01"), true},
		{"context deadline", fmt.Errorf("tenantdb: begin: %w", context.DeadlineExceeded), true},
		{"connection refused", &pgconn.ConnectError{}, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"unexpected EOF", fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF), true},
		{"closed connection", fmt.Errorf("x: %w", pgconn.ErrConnClosed), true},
		{"network error", &net.OpError{Op: "read", Err: errors.New("boom")}, true},
		{"unique violation", pg("23505"), false},
		{"syntax error", pg("42601"), false},
		{"RLS refusal", pg("42501"), false},
		{"no rows", pgx.ErrNoRows, false},
		{"a plain bug", errors.New("nil map"), false},
	} {
		if _, got := unavailable(tc.err); got != tc.want {
			t.Errorf("%s: unavailable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestServiceUnavailableAnswer: a 503 is a problem with Retry-After and
// none of the error's text.
func TestServiceUnavailableAnswer(t *testing.T) {
	s := &Server{log: discardLog()}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/api/v1/patients", nil)
	s.fail(w, r, fmt.Errorf("store: list: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" ||
		w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d, Retry-After %q, %q", w.Code, w.Header().Get("Retry-After"), w.Header().Get("Content-Type"))
	}
	if body := w.Body.String(); containsAny(body, "terminating", "administrator", "57P01", "store:") {
		t.Errorf("the 503 body leaks the error: %s", body)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
