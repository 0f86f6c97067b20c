package tenantdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// ContextMode is how a [Pool] sets each transaction's tenant context
// ([Config.ContextMode]). Both modes set the same two settings, for the
// transaction only, and refuse a connection whose tenancy settings were set
// at session level ([ErrSessionState]); they differ in the statements that
// carry them.
type ContextMode int

const (
	// ContextSetConfig, the default, sets the context with one statement,
	// select set_config(..., true), whose values are bind parameters,
	// pipelined with BEGIN or with a one-statement call's statement (in
	// the implicit transaction of pgx's batch). It works in every pgx exec
	// mode.
	ContextSetConfig ContextMode = iota

	// ContextSetLocal sets the context with SET LOCAL statements inside an
	// explicit transaction, for Citus: with citus.propagate_set_commands =
	// 'local', Citus propagates SET LOCAL to the workers a transaction
	// touches, but not set_config() calls, so under ContextSetConfig the
	// policies on the workers would find no tenant (and fail closed). A
	// transaction then starts with BEGIN, a session check (select ...,
	// which fails with SQLSTATE 22012 as ContextSetConfig's does), SET
	// LOCAL tenancy.tenant_id, SET LOCAL tenancy.principal and, with a
	// statement timeout, SET LOCAL statement_timeout, all in the round
	// trip that ContextSetConfig takes; one-statement calls ([Pool.Exec],
	// [Pool.Query], [Pool.SendBatch]) are wrapped in BEGIN and COMMIT in
	// their one round trip.
	//
	// SET takes no bind parameters, so the values are written into the
	// statements as escape string literals (E'...'): quotes doubled,
	// backslashes doubled, and every byte outside printable ASCII written
	// as a \u escape, so a value means the same whatever the connection's
	// standard_conforming_strings and client_encoding, and can never end
	// its literal. A value with a NUL byte or invalid UTF-8 cannot be
	// carried and is refused (an error wrapping
	// [tenancy.ErrInvalidPrincipal]).
	//
	// Each distinct value is a distinct statement text, which pgx's
	// caching exec modes would prepare (or describe) first, in a round
	// trip of its own, once per principal and connection. So the pool's
	// connections must use pgx's exec or simple_protocol mode
	// (default_query_exec_mode=exec in the connection string, as behind
	// pgbouncer); [New] refuses the others ([ErrInvalidConfig]).
	ContextSetLocal
)

// String returns "set-config" or "set-local", the names
// [ParseContextMode] reads, or "ContextMode(n)" for an invalid mode.
func (m ContextMode) String() string {
	switch m {
	case ContextSetConfig:
		return "set-config"
	case ContextSetLocal:
		return "set-local"
	}
	return "ContextMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseContextMode returns the mode named s: "set-config" (or "", the
// default) or "set-local", for configuration read from the environment.
// Other text gives an error wrapping [ErrInvalidConfig].
func ParseContextMode(s string) (ContextMode, error) {
	switch s {
	case "", "set-config":
		return ContextSetConfig, nil
	case "set-local":
		return ContextSetLocal, nil
	}
	return 0, fmt.Errorf("%w: context mode %q is not set-config or set-local", ErrInvalidConfig, s)
}

// checkContextMode accepts a valid mode whose statements the pool's exec
// mode sends without a round trip of their own.
func checkContextMode(m ContextMode, exec pgx.QueryExecMode) error {
	switch m {
	case ContextSetConfig:
		return nil
	case ContextSetLocal:
		if exec == pgx.QueryExecModeExec || exec == pgx.QueryExecModeSimpleProtocol {
			return nil
		}
		return fmt.Errorf("%w: ContextSetLocal writes each principal into the SET LOCAL text, which the pool's exec mode %v would prepare in a round trip of its own: use default_query_exec_mode=exec or simple_protocol", ErrInvalidConfig, exec)
	}
	return fmt.Errorf("%w: %v", ErrInvalidConfig, m)
}

// ContextSQL returns the statement that sets p's tenant context in mode m
// for the current transaction, and its arguments, for integrations with
// other drivers. For [ContextSetConfig] it is the package's [ContextSQL].
// For [ContextSetLocal] it is several statements separated by semicolons
// (the session check, then the SET LOCALs), with no arguments: run it
// inside an explicit transaction (after BEGIN) through the simple query
// protocol, which pgx uses for a statement without arguments. Like
// ContextSQL, it fails with SQLSTATE 22012 on a connection with
// session-level tenancy settings, which must then be closed, and sets
// statement_timeout when ctx has a deadline. It fails (wrapping
// [tenancy.ErrInvalidPrincipal]) for a principal that cannot be carried.
func (m ContextMode) ContextSQL(ctx context.Context, p tenancy.Principal) (string, []any, error) {
	switch m {
	case ContextSetConfig:
		return ContextSQL(ctx, p)
	case ContextSetLocal:
		timeout := time.Duration(0)
		if deadline, ok := ctx.Deadline(); ok {
			timeout = max(time.Until(deadline), time.Millisecond)
		}
		stmts, err := setLocalStatements(p, timeout)
		if err != nil {
			return "", nil, err
		}
		return strings.Join(stmts, "; "), nil, nil
	}
	return "", nil, fmt.Errorf("%w: %v", ErrInvalidConfig, m)
}

// setLocalCheckSQL is ContextSetLocal's session check: setContextSQL's
// WHERE clause, alone.
const setLocalCheckSQL = "select 1" + sessionCheck

// The SET LOCAL statements' beginnings; a literal or a number follows.
const (
	setLocalTenantSQL    = "set local " + rls.SettingTenantID + " = "
	setLocalPrincipalSQL = "set local " + rls.SettingPrincipal + " = "
	setLocalTimeoutSQL   = "set local statement_timeout = "
)

// setLocalStatements returns the statements that set p's context in the
// SET LOCAL mode, after BEGIN: the session check, the tenant, the
// principal, and a statement timeout of d (at least 1 ms) unless d is 0.
func setLocalStatements(p tenancy.Principal, d time.Duration) ([]string, error) {
	principal, err := rls.EncodePrincipal(p)
	if err != nil {
		return nil, err
	}
	return setLocalValues(p.Tenant.String(), principal, d)
}

// setLocalValues is setLocalStatements for the settings' values.
func setLocalValues(tenant, principal string, d time.Duration) ([]string, error) {
	t, err := quoteLiteral(tenant)
	if err != nil {
		return nil, err
	}
	pr, err := quoteLiteral(principal)
	if err != nil {
		return nil, err
	}
	stmts := make([]string, 3, 4)
	stmts[0], stmts[1], stmts[2] = setLocalCheckSQL, setLocalTenantSQL+t, setLocalPrincipalSQL+pr
	if d != 0 {
		stmts = append(stmts, setLocalTimeoutSQL+strconv.FormatInt(max(d.Milliseconds(), 1), 10))
	}
	return stmts, nil
}

// quoteLiteral returns s as an escape string literal (E'...') that
// PostgreSQL reads back as exactly s, whatever the connection's
// standard_conforming_strings, backslash_quote and client_encoding: the
// literal is printable ASCII, quotes are doubled, backslashes doubled,
// and every other byte outside printable ASCII is a \u or \U escape of
// its code point. s must be valid UTF-8 without NUL, which a setting
// cannot hold; otherwise the error wraps [tenancy.ErrInvalidPrincipal].
func quoteLiteral(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: a context value that is not valid UTF-8 cannot be carried in SET LOCAL", tenancy.ErrInvalidPrincipal)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", fmt.Errorf("%w: a context value with a NUL byte cannot be carried in SET LOCAL", tenancy.ErrInvalidPrincipal)
	}
	b := make([]byte, 0, len(s)+3)
	b = append(b, "E'"...)
	for _, r := range s {
		switch {
		case r == '\'':
			b = append(b, "''"...)
		case r == '\\':
			b = append(b, `\\`...)
		case r >= 0x20 && r < 0x7f:
			b = append(b, byte(r))
		case r <= 0xffff:
			b = append(b, fmt.Sprintf(`\u%04x`, r)...)
		default:
			b = append(b, fmt.Sprintf(`\U%08x`, r)...)
		}
	}
	return string(append(b, '\'')), nil
}

// isSetLocalSQL reports whether sql is one of ContextSetLocal's
// statements (the check, or a SET LOCAL of a setting as quoteLiteral and
// setLocalValues write it), or all of them joined as
// [ContextMode.ContextSQL] joins them.
func isSetLocalSQL(sql string) bool {
	rest, ok := strings.CutPrefix(sql, setLocalCheckSQL)
	if ok && rest == "" {
		return true
	}
	if ok {
		// The joined form: the check, the tenant, the principal, and the
		// timeout perhaps.
		for i, prefix := range []string{setLocalTenantSQL, setLocalPrincipalSQL} {
			if rest, ok = strings.CutPrefix(rest, "; "+prefix); !ok {
				return false
			}
			if rest, ok = cutLiteral(rest); !ok || (i == 0 && rest == "") {
				return false
			}
		}
		if rest == "" {
			return true
		}
		rest, ok = strings.CutPrefix(rest, "; "+setLocalTimeoutSQL)
		return ok && isDigits(rest)
	}
	for _, prefix := range []string{setLocalTenantSQL, setLocalPrincipalSQL} {
		if rest, ok := strings.CutPrefix(sql, prefix); ok {
			rest, ok = cutLiteral(rest)
			return ok && rest == ""
		}
	}
	rest, ok = strings.CutPrefix(sql, setLocalTimeoutSQL)
	return ok && isDigits(rest)
}

// cutLiteral cuts one literal as quoteLiteral writes it from the start of
// s and returns what follows.
func cutLiteral(s string) (string, bool) {
	if !strings.HasPrefix(s, "E'") {
		return "", false
	}
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return s[i+1:], true
		case c < 0x20 || c >= 0x7f:
			return "", false
		}
	}
	return "", false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// txContext is what sets one transaction's tenant context in the Pool's
// mode: the one set_config statement and its arguments, or the SET LOCAL
// statements (local non-nil).
type txContext struct {
	sql   string
	args  []any
	local []string
}

// queue queues the context's statements on b.
func (c txContext) queue(b *pgx.Batch) {
	if c.local == nil {
		b.Queue(c.sql, c.args...)
		return
	}
	for _, s := range c.local {
		b.Queue(s)
	}
}

// read reads the results of the context's statements, and of the BEGIN
// before them when begun.
func (c txContext) read(br pgx.BatchResults, begun bool) error {
	n := max(len(c.local), 1)
	if begun {
		n++
	}
	for range n {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	return nil
}

// txContextOf returns the context of pr's transaction in p's mode, with
// the statement timeout of [Pool.contextSQL]: the sooner of the tenant's
// [Share.StatementTimeout] and ctx's deadline.
func (p *Pool) txContextOf(ctx context.Context, pr tenancy.Principal) (txContext, error) {
	if p.contextMode != ContextSetLocal {
		sql, args, err := p.contextSQL(ctx, pr)
		return txContext{sql: sql, args: args}, err
	}
	d := time.Duration(0)
	if deadline, ok := ctx.Deadline(); ok {
		d = max(time.Until(deadline), time.Millisecond)
	}
	if t := p.shareOf(pr.Tenant).StatementTimeout; t > 0 && (d == 0 || d > t) {
		d = t
	}
	stmts, err := setLocalStatements(pr, d)
	return txContext{local: stmts}, err
}

// stmtBatch is a one-statement call's batch and the context at its head.
// In the SET LOCAL mode the batch begins with BEGIN and ends with COMMIT.
type stmtBatch struct {
	b     *pgx.Batch
	c     txContext
	begun bool
}

// batchOf queues the context and the statement, whose args readArgs has
// read, with BEGIN and COMMIT around them in the SET LOCAL mode.
func batchOf(c txContext, sql string, args []any) stmtBatch {
	if c.local == nil {
		b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, 2)}
		b.Queue(c.sql, c.args...)
		b.Queue(sql, args...)
		return stmtBatch{b: b, c: c}
	}
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(c.local)+3)}
	b.Queue("begin")
	c.queue(b)
	b.Queue(sql, args...)
	b.Queue("commit")
	return stmtBatch{b: b, c: c, begun: true}
}

// settle rolls back the explicit transaction of a one-statement call in
// the SET LOCAL mode that a failure left open (COMMIT is skipped after a
// failed statement), so that the pool can keep the connection; the pool
// would close it otherwise. It does nothing on an idle connection.
func (l lease) settle() {
	c := l.pc.Conn()
	if c.IsClosed() || c.PgConn().IsBusy() || c.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.p.rollbackTimeout)
	defer cancel()
	// On the wire protocol's connection, past pgx's tracer: the cleanup is
	// the SDK's, not a statement of the work.
	_, _ = c.PgConn().Exec(ctx, "rollback").ReadAll()
}

// setSystemContext sets the context of a system pool's transaction tx: the
// principal alone when tenant is empty (System's, which checks no session
// state), else the tenant, the principal and the session check. In the
// SET LOCAL mode the statements carry no arguments and go in one
// simple-protocol message, whatever the system pool's exec mode.
func (p *Pool) setSystemContext(ctx context.Context, tx pgx.Tx, tenant, principal string) error {
	if p.contextMode != ContextSetLocal {
		var err error
		if tenant == "" {
			_, err = tx.Exec(ctx, "select set_config('"+rls.SettingPrincipal+"', $1, true)", principal)
		} else {
			_, err = tx.Exec(ctx, setContextSQL, tenant, principal)
		}
		return err
	}
	if tenant == "" {
		pr, err := quoteLiteral(principal)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, setLocalPrincipalSQL+pr)
		return err
	}
	stmts, err := setLocalValues(tenant, principal, 0)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, strings.Join(stmts, "; "))
	return err
}
