// Package problem turns any error of the SDK, of pgx or of PostgreSQL
// into the HTTP answer it deserves: an RFC 9457 problem details document
// (application/problem+json) with a fixed title, a stable code and a
// plain detail, and never the error's own text.
//
//	if err != nil {
//		p := problem.For(err)
//		if p.Status >= 500 {
//			log.ErrorContext(ctx, "request failed", "err", err) // the cause goes to the log only
//		}
//		p.Serve(w, r, nil)
//		return
//	}
//
// The answers keep the isolation rules of the SDK: no rows, an id that
// does not parse, and a statement the guard refused because it named
// another tenant are all the same 404, the answer for a missing object,
// so that another tenant's object cannot be told from one that does not
// exist. What the client cannot cause or fix (a statement outside the
// guard's rules, a missing tenant context in the database, a
// misconfigured pool) is a 500. A database that is briefly unable to
// answer (a serialization failure or deadlock, a timeout, a lost
// connection, a server shutting down) is a 503 with Retry-After. The
// table of answers is in the doc of [For]; its codes are stable.
//
// # Security
//
// A document carries only the fixed words of its row of the table: no
// SQL, no parameter, no constraint or column name, no token and no text
// of the error, which may hold personal data. Log the error itself, on
// the server, when the status is 500 or more.
package problem

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/impersonation"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/ratelimit"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// RetryAfter is the Retry-After, in seconds, of the 503 answers that
// [For] gives for a database that is briefly unable to answer.
const RetryAfter = 1

// The stable codes of the answers (the "code" member of the document).
const (
	CodeUnauthorized = "unauthorized"          // 401: no valid, verified credentials
	CodeForbidden    = "forbidden"             // 403: the principal may not do this
	CodeNoTenant     = "no_tenant"             // 403: the action needs a tenant the principal does not have
	CodeNotFound     = "not_found"             // 404: no such object (or another tenant's)
	CodeConflict     = "conflict"              // 409: the request conflicts with the stored state
	CodeGrantEnded   = "grant_ended"           // 409: the impersonation grant has already ended
	CodeInvalid      = "invalid"               // 422: a value the database refused
	CodeNoReason     = "reason_required"       // 422: an impersonation without a stated reason
	CodeDuration     = "duration_out_of_range" // 422: an impersonation longer than allowed
	CodeRateLimited  = ratelimit.Code          // 429: the tenant's requests are over its rate limit; try again later
	CodeBusy         = "busy"                  // 503: the tenant's share of the database is in use; try again
	CodeRetry        = "retry"                 // 503: a transient conflict between transactions; try again
	CodeTimeout      = "timeout"               // 503: the request ran out of time
	CodeUnavailable  = "unavailable"           // 503: the database cannot answer just now
	CodeInternal     = "internal"              // 500: a fault on the server's side
)

// For returns the answer to err, by the first row of this table that
// err matches (errors.Is, errors.As, or the SQLSTATE of a
// *pgconn.PgError in its chain):
//
//	401 unauthorized        tenancy.ErrUnverified, tenantdb.ErrUnverifiedPrincipal,
//	                        jwtctx's token errors (ErrNoToken, ErrMalformed, ErrSignature,
//	                        ErrExpired, ErrIssuer, ErrAudience, ErrTenant, ErrRevoked, ...)
//	403 forbidden           jwtctx.ErrCSRF, impersonation.ErrNotAdmin, SQLSTATE 42501
//	                        (a privilege or row-level security refused the statement)
//	403 no_tenant           tenancy.ErrNoTenant
//	404 not_found           pgx.ErrNoRows, sql.ErrNoRows, tenancy.ErrInvalidID,
//	                        impersonation.ErrGrantNotFound, and a guard refusal because a
//	                        statement's tenant value is not the tenant (sqlguard's
//	                        param-tenant and literal-tenant rules)
//	409 grant_ended         impersonation.ErrGrantEnded
//	409 conflict            SQLSTATE 23505 (unique), 23P01 (exclusion), 23503 (foreign key)
//	422 reason_required     impersonation.ErrNoReason
//	422 duration_out_of_range impersonation.ErrDuration
//	422 invalid             SQLSTATE class 22 (a data exception: a value out of range, too
//	                        long, malformed), 23502 (not null), 23514 (check)
//	429 rate_limited        a *ratelimit.Error (the tenant's request rate is over its limit;
//	                        Retry-After: the error's wait, in whole seconds rounded up)
//	503 busy                tenantdb.ErrBusy (the tenant holds its whole share of the pool)
//	503 retry               SQLSTATE 40001 (serialization), 40P01 (deadlock), 55P03 (lock
//	                        not available)
//	503 timeout             context.DeadlineExceeded, SQLSTATE 57014 (statement timeout)
//	503 unavailable         jwtctx.ErrRevocationCheck; context.Canceled; SQLSTATE classes
//	                        08 (connection), 53 (resources), 57 but 57014 (operator
//	                        intervention, shutdown), 58 (system), 25006 (a read-only
//	                        server); a connection that failed, was closed or was lost,
//	                        or a statement that was never sent (pgconn.SafeToRetry)
//	500 internal            everything else: the guard's other refusals, TN001 (a statement
//	                        without the tenant context), the audit log's refusals (TA001,
//	                        TA002), tenantdb's configuration and transaction errors, and
//	                        any error For does not know
//
// A 401 carries "WWW-Authenticate: Bearer" (RFC 6750), a 429 and a 503
// "Retry-After". For(nil) is the zero Problem. For is safe for
// concurrent use.
func For(err error) jwtctx.Problem {
	p := answer(err)
	p.Header = p.Header.Clone() // the caller may change its copy
	return p
}

// answer is For's table.
func answer(err error) jwtctx.Problem {
	if err == nil {
		return jwtctx.Problem{}
	}
	var pgErr *pgconn.PgError
	var refusal *sqlguard.RefusalError
	var limited *ratelimit.Error
	switch {
	case errors.Is(err, tenancy.ErrUnverified), errors.Is(err, tenantdb.ErrUnverifiedPrincipal), tokenError(err):
		return unauthorized
	case errors.Is(err, jwtctx.ErrRevocationCheck):
		return unavailable
	case errors.Is(err, jwtctx.ErrCSRF), errors.Is(err, impersonation.ErrNotAdmin):
		return forbidden
	case errors.Is(err, tenancy.ErrNoTenant):
		return noTenant
	case errors.Is(err, pgx.ErrNoRows), errors.Is(err, sql.ErrNoRows), errors.Is(err, tenancy.ErrInvalidID),
		errors.Is(err, impersonation.ErrGrantNotFound):
		return notFound
	case errors.As(err, &refusal):
		if refusal.Rule == sqlguard.RuleParamTenant || refusal.Rule == sqlguard.RuleLiteralTenant {
			return notFound
		}
		return internal
	case errors.Is(err, tenantdb.ErrBusy):
		return busy
	case errors.As(err, &limited):
		return limited.Problem()
	case errors.Is(err, impersonation.ErrGrantEnded):
		return grantEnded
	case errors.Is(err, impersonation.ErrNoReason):
		return noReason
	case errors.Is(err, impersonation.ErrDuration):
		return duration
	case errors.As(err, &pgErr):
		return forSQLState(pgErr.Code)
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return timeout
	case lost(err):
		return unavailable
	}
	return internal
}

// Write answers r with [For](err) as jwtctx.Problem.Serve writes it
// (deny nil: the default document with its headers). It writes nothing
// for a nil err. Log err before calling Write when the status is 500 or
// more: Write does not, and the document does not carry it.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		return
	}
	For(err).Serve(w, r, nil)
}

// tokenError reports whether err is one of jwtctx's refusals of a token.
func tokenError(err error) bool {
	for _, target := range []error{jwtctx.ErrNoToken, jwtctx.ErrTokenTooLarge, jwtctx.ErrMalformed,
		jwtctx.ErrHeader, jwtctx.ErrUnknownKey, jwtctx.ErrAlgorithm, jwtctx.ErrSignature, jwtctx.ErrExpired,
		jwtctx.ErrNotYetValid, jwtctx.ErrIssuer, jwtctx.ErrAudience, jwtctx.ErrType, jwtctx.ErrTenant,
		jwtctx.ErrClaims, jwtctx.ErrRevoked} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// forSQLState answers a PostgreSQL error by its SQLSTATE.
func forSQLState(code string) jwtctx.Problem {
	switch code {
	case "42501":
		return forbidden
	case "23505", "23P01", "23503":
		return conflict
	case "23502", "23514":
		return invalid
	case "40001", "40P01", "55P03":
		return retry
	case "57014":
		return timeout
	case "25006":
		return unavailable
	case rls.SQLStateNoTenant:
		return internal
	}
	if len(code) == 5 {
		switch code[:2] {
		case "22":
			return invalid
		case "08", "53", "57", "58":
			return unavailable
		}
	}
	return internal
}

// lost reports whether err says the connection to the database failed,
// was closed or was lost, or that the request's client went away.
func lost(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.Is(err, context.Canceled) || errors.As(err, &connectErr) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &netErr) || pgconn.SafeToRetry(err)
}

// Cause returns a short cause of err for a log record, free of data: the
// SQLSTATE of a PostgreSQL error in its chain, else one of the words
// "deadline", "canceled", "timeout", "connect", "connection" (failed,
// closed or lost), "refused" (the guard's), or "" when err is none of
// these. Messages are never in it: they can quote values, which may be
// personal data. It is safe for concurrent use.
func Cause(err error) string {
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pgErr):
		return pgErr.Code
	case errors.Is(err, sqlguard.ErrRefused):
		return "refused"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case pgconn.Timeout(err):
		return "timeout"
	case errors.As(err, &connectErr):
		return "connect"
	case lost(err):
		return "connection"
	}
	return ""
}

// The answers: fixed values, of which For returns copies.
var (
	unauthorized = jwtctx.Problem{Status: http.StatusUnauthorized, Title: "Unauthorized", Code: CodeUnauthorized,
		Detail: "A valid access token is required.", Header: http.Header{"Www-Authenticate": {"Bearer"}}}
	forbidden = jwtctx.Problem{Status: http.StatusForbidden, Title: "Forbidden", Code: CodeForbidden,
		Detail: "This request is not allowed."}
	noTenant = jwtctx.Problem{Status: http.StatusForbidden, Title: "Forbidden", Code: CodeNoTenant,
		Detail: "This action needs a tenant, and the principal has none."}
	notFound = jwtctx.Problem{Status: http.StatusNotFound, Title: "Not Found", Code: CodeNotFound,
		Detail: "There is no such object."}
	conflict = jwtctx.Problem{Status: http.StatusConflict, Title: "Conflict", Code: CodeConflict,
		Detail: "The request conflicts with the stored data."}
	grantEnded = jwtctx.Problem{Status: http.StatusConflict, Title: "Conflict", Code: CodeGrantEnded,
		Detail: "The impersonation grant has already ended."}
	invalid = jwtctx.Problem{Status: http.StatusUnprocessableEntity, Title: "Unprocessable Content", Code: CodeInvalid,
		Detail: "A value of the request was refused."}
	noReason = jwtctx.Problem{Status: http.StatusUnprocessableEntity, Title: "Unprocessable Content", Code: CodeNoReason,
		Detail: "Impersonation needs a stated reason."}
	duration = jwtctx.Problem{Status: http.StatusUnprocessableEntity, Title: "Unprocessable Content", Code: CodeDuration,
		Detail: "The impersonation's duration is out of the allowed range."}
	busy = jwtctx.Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable", Code: CodeBusy,
		Detail: "Too much of this tenant's work is running. Try again shortly.", Header: retryHeader()}
	retry = jwtctx.Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable", Code: CodeRetry,
		Detail: "The request met a concurrent change. Try again.", Header: retryHeader()}
	timeout = jwtctx.Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable", Code: CodeTimeout,
		Detail: "The request took too long. Try again shortly.", Header: retryHeader()}
	unavailable = jwtctx.Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable", Code: CodeUnavailable,
		Detail: "The service is briefly unavailable. Try again shortly.", Header: retryHeader()}
	internal = jwtctx.Problem{Status: http.StatusInternalServerError, Title: "Internal Server Error", Code: CodeInternal,
		Detail: "Something went wrong on our side."}
)

func retryHeader() http.Header { return http.Header{"Retry-After": {strconv.Itoa(RetryAfter)}} }
