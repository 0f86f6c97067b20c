package problem_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/impersonation"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/problem"
	"github.com/mydentalpractice/tenancy/ratelimit"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// secret is in the text of every error below: no answer may carry it.
const secret = "patient Jane Roe, token eyJhbGciOi"

func pgError(code string) error {
	return &pgconn.PgError{Code: code, Message: "ERRTEXT " + secret, Detail: "Key (email)=(" + secret + ")",
		ConstraintName: "patients_email_key", TableName: "patients"}
}

func TestFor(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"unverified principal", tenancy.ErrUnverified, 401, problem.CodeUnauthorized},
		{"unverified principal at the pool", tenantdb.ErrUnverifiedPrincipal, 401, problem.CodeUnauthorized},
		{"no token", jwtctx.ErrNoToken, 401, problem.CodeUnauthorized},
		{"expired token", jwtctx.ErrExpired, 401, problem.CodeUnauthorized},
		{"token of no tenant", jwtctx.ErrTenant, 401, problem.CodeUnauthorized},
		{"revoked token", jwtctx.ErrRevoked, 401, problem.CodeUnauthorized},
		{"revocation unknown", jwtctx.ErrRevocationCheck, 503, problem.CodeUnavailable},
		{"cross-site request", jwtctx.ErrCSRF, 403, problem.CodeForbidden},
		{"not a platform admin", impersonation.ErrNotAdmin, 403, problem.CodeForbidden},
		{"row-level security", pgError("42501"), 403, problem.CodeForbidden},
		{"no tenant", tenancy.ErrNoTenant, 403, problem.CodeNoTenant},
		{"no rows (pgx)", pgx.ErrNoRows, 404, problem.CodeNotFound},
		{"no rows (database/sql)", sql.ErrNoRows, 404, problem.CodeNotFound},
		{"an id that does not parse", tenancy.ErrInvalidID, 404, problem.CodeNotFound},
		{"no such grant", impersonation.ErrGrantNotFound, 404, problem.CodeNotFound},
		{"another tenant's id as a parameter", &sqlguard.RefusalError{Rule: sqlguard.RuleParamTenant, Table: "patients", Param: 1}, 404, problem.CodeNotFound},
		{"another tenant's id as a literal", &sqlguard.RefusalError{Rule: sqlguard.RuleLiteralTenant}, 404, problem.CodeNotFound},
		{"an unscoped statement", &sqlguard.RefusalError{Rule: sqlguard.RuleUnscoped, Table: "patients"}, 500, problem.CodeInternal},
		{"a refused function", &sqlguard.RefusalError{Rule: sqlguard.RuleFunction, Func: "pg_read_file"}, 500, problem.CodeInternal},
		{"grant ended", impersonation.ErrGrantEnded, 409, problem.CodeGrantEnded},
		{"unique", pgError("23505"), 409, problem.CodeConflict},
		{"exclusion", pgError("23P01"), 409, problem.CodeConflict},
		{"foreign key", pgError("23503"), 409, problem.CodeConflict},
		{"no reason", impersonation.ErrNoReason, 422, problem.CodeNoReason},
		{"duration", impersonation.ErrDuration, 422, problem.CodeDuration},
		{"not null", pgError("23502"), 422, problem.CodeInvalid},
		{"check", pgError("23514"), 422, problem.CodeInvalid},
		{"value too long", pgError("22001"), 422, problem.CodeInvalid},
		{"malformed uuid", pgError("22P02"), 422, problem.CodeInvalid},
		{"the tenant's requests over its rate limit", &ratelimit.Error{RetryAfter: 2500 * time.Millisecond}, 429, problem.CodeRateLimited},
		{"the tenant's share in use", tenantdb.ErrBusy, 503, problem.CodeBusy},
		{"serialization", pgError("40001"), 503, problem.CodeRetry},
		{"deadlock", pgError("40P01"), 503, problem.CodeRetry},
		{"lock timeout", pgError("55P03"), 503, problem.CodeRetry},
		{"statement timeout", pgError("57014"), 503, problem.CodeTimeout},
		{"deadline", context.DeadlineExceeded, 503, problem.CodeTimeout},
		{"client gone", context.Canceled, 503, problem.CodeUnavailable},
		{"shutdown", pgError("57P01"), 503, problem.CodeUnavailable},
		{"too many connections", pgError("53300"), 503, problem.CodeUnavailable},
		{"connection failure", pgError("08006"), 503, problem.CodeUnavailable},
		{"read-only server", pgError("25006"), 503, problem.CodeUnavailable},
		{"connection lost", io.ErrUnexpectedEOF, 503, problem.CodeUnavailable},
		{"connection closed", pgconn.ErrConnClosed, 503, problem.CodeUnavailable},
		{"connection refused", &pgconn.ConnectError{}, 503, problem.CodeUnavailable},
		{"connection reset", syscall.ECONNRESET, 503, problem.CodeUnavailable},
		{"network error", &net.OpError{Op: "read", Err: errors.New("boom")}, 503, problem.CodeUnavailable},
		{"crash shutdown", pgError("57P02"), 503, problem.CodeUnavailable},
		{"cannot connect now", pgError("57P03"), 503, problem.CodeUnavailable},
		{"no tenant context in the database", pgError("TN001"), 500, problem.CodeInternal},
		{"append-only audit log", pgError("TA001"), 500, problem.CodeInternal},
		{"forged audit event", pgError("TA002"), 500, problem.CodeInternal},
		{"syntax error", pgError("42601"), 500, problem.CodeInternal},
		{"commit rolled back", tenantdb.ErrCommitRollback, 500, problem.CodeInternal},
		{"unknown", errors.New(secret), 500, problem.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// As a caller sees it: wrapped, with the secret in the chain's text.
			err := fmt.Errorf("store: reading %s: %w", secret, tt.err)
			p := problem.For(err)
			if p.Status != tt.status || p.Code != tt.code {
				t.Fatalf("For = %d %q, want %d %q", p.Status, p.Code, tt.status, tt.code)
			}
			rec := httptest.NewRecorder()
			problem.Write(rec, httptest.NewRequest(http.MethodGet, "/x", nil), err)
			body := rec.Body.String()
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("wrote %d %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			want := fmt.Sprintf(`{"type":"about:blank","title":%q,"status":%d,"code":%q,"detail":%q}`, p.Title, tt.status, tt.code, p.Detail)
			if body != want {
				t.Errorf("body %s, want %s", body, want)
			}
			for _, leak := range []string{"Jane", "eyJ", "patients", "select", "pg_read_file", "ERRTEXT"} {
				if strings.Contains(body, leak) {
					t.Errorf("body %s carries %q", body, leak)
				}
			}
			switch tt.status {
			case 401:
				if got := rec.Header().Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate %q, want Bearer", got)
				}
			case 503:
				if got := rec.Header().Get("Retry-After"); got != "1" {
					t.Errorf("Retry-After %q, want 1", got)
				}
			case 429:
				if got := rec.Header().Get("Retry-After"); got != "3" {
					t.Errorf("Retry-After %q, want 3 (2.5 s rounded up)", got)
				}
			}
		})
	}
}

func TestForNil(t *testing.T) {
	if p := problem.For(nil); p.Status != 0 || p.Header != nil {
		t.Errorf("For(nil) = %+v, want the zero Problem", p)
	}
	rec := httptest.NewRecorder()
	problem.Write(rec, httptest.NewRequest(http.MethodGet, "/x", nil), nil)
	if rec.Body.Len() != 0 || rec.Code != 200 {
		t.Errorf("Write(nil) wrote %d %q", rec.Code, rec.Body.String())
	}
}

// TestForReturnsCopies: changing an answer's headers changes no later
// answer.
func TestForReturnsCopies(t *testing.T) {
	p := problem.For(pgError("40001"))
	p.Header.Set("Retry-After", "3600")
	if got := problem.For(pgError("40001")).Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After after a caller's change: %q, want 1", got)
	}
}

func TestCause(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("x %s: %w", secret, pgError("40001")), "40001"},
		{fmt.Errorf("x: %w", &sqlguard.RefusalError{Rule: sqlguard.RuleUnscoped}), "refused"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "deadline"},
		{context.Canceled, "canceled"},
		{&pgconn.ConnectError{}, "connect"},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), "connection"},
		{errors.New(secret), ""},
	} {
		if got := problem.Cause(tt.err); got != tt.want {
			t.Errorf("Cause(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
