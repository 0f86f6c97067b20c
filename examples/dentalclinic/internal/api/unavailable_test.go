package api

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

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
