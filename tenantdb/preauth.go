package tenantdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// PreAuth is the narrow handle for work before any principal exists:
// sign-in looks an account up by e-mail, an enrolment reads an invite by
// its code. It calls the model's pre-auth functions (rls.Config.PreAuth,
// SECURITY DEFINER functions that the migration owns) and nothing else:
// the caller names the function and passes its arguments, and PreAuth
// writes the SQL,
//
//	select * from "schema"."function"($1, …, $n)
//
// with the names quoted. Any other name is refused before the network
// ([ErrNotPreAuth]). No tenant context is set: the call runs in a
// transaction whose tenancy settings are set to empty, so a function that
// reads them fails closed, and a connection with session-level tenancy
// settings is refused and closed ([ErrSessionState]), as for tenant work.
// It needs no principal. A PreAuth is safe for concurrent use.
//
// With it, an application keeps no raw pool of the app role beside its
// [Pool].
type PreAuth struct {
	pool *Pool
}

// PreAuth returns the Pool's pre-auth handle, which runs on the Pool's
// connections.
func (p *Pool) PreAuth() *PreAuth { return &PreAuth{pool: p} }

// preAuthContextArgs are setContextSQL's arguments for pre-auth calls: an
// empty tenant and an empty principal.
var preAuthContextArgs = []any{"", ""}

// statement checks function and args and returns the batch to send.
func (a *PreAuth) statement(function string, args []any) (stmtBatch, error) {
	schema, name, ok := strings.Cut(function, ".")
	if !ok || !a.pool.model.PreAuth(schema, name) {
		return stmtBatch{}, fmt.Errorf("%w: %q (the model's are rls.Config.PreAuth, as \"schema.function\")", ErrNotPreAuth, function)
	}
	if err := unsupportedArg(args); err != nil {
		return stmtBatch{}, err
	}
	args, err := ReadArgs(args)
	if err != nil {
		return stmtBatch{}, err
	}
	// Pre-auth calls set no tenant and no principal, in either context
	// mode: the statement is the session check, with empty values.
	return batchOf(txContext{sql: setContextSQL, args: preAuthContextArgs}, preAuthSQL(schema, name, len(args)), args), nil
}

// preAuthSQL returns the call of schema.name with n parameters.
func preAuthSQL(schema, name string, n int) string {
	var b strings.Builder
	b.WriteString("select * from ")
	b.WriteString(pgx.Identifier{schema, name}.Sanitize())
	b.WriteByte('(')
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(i))
	}
	b.WriteByte(')')
	return b.String()
}

// Query calls function ("schema.function", one of the model's pre-auth
// functions) with args and returns its rows; close them, which ends the
// call's transaction and releases the connection. The rows hide the
// connection.
func (a *PreAuth) Query(ctx context.Context, function string, args ...any) (pgx.Rows, error) {
	b, err := a.statement(function, args)
	if err != nil {
		return nil, err
	}
	return a.pool.query(ctx, tenancy.ID{}, b) // before a tenant is known: no share to take
}

// QueryRow is [PreAuth.Query] for at most one row; its errors, and
// pgx.ErrNoRows, come from Scan.
func (a *PreAuth) QueryRow(ctx context.Context, function string, args ...any) pgx.Row {
	rows, err := a.Query(ctx, function, args...)
	return &row{rows: rows, err: err}
}

// Exec calls function with args for its effect, discarding its rows.
func (a *PreAuth) Exec(ctx context.Context, function string, args ...any) (pgconn.CommandTag, error) {
	b, err := a.statement(function, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return a.pool.exec(ctx, tenancy.ID{}, b)
}

// Model returns the model whose pre-auth functions a calls.
func (a *PreAuth) Model() *rls.Model { return a.pool.model }
