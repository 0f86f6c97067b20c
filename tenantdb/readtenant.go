package tenantdb

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// EntryReadTenant is the entry point's name ([SystemUse.Entry]) of
// [Pool.ReadTenant], and the name of the source of the principal its
// function gets.
const EntryReadTenant = "tenantdb.ReadTenant"

// readTenantSource is the authenticator of ReadTenant's principals,
// unexported like InTenant's and never in a pool's Sources.
var readTenantSource = tenancy.NewAuthenticator(EntryReadTenant)

// snapshotID is the form of pg_export_snapshot's result, which SET
// TRANSACTION SNAPSHOT takes as a literal (it takes no parameter).
var snapshotID = regexp.MustCompile(`^[0-9A-F]+-[0-9A-F]+(-[0-9A-F]+)?$`)

// ReadTenant runs fn with one consistent, read-only view of tenant's rows,
// for work that must read all of a tenant at one moment: an export of the
// tenant (package tenantarchive), a copy for another region.
//
// It is an audited entry point: reason must say why ([CheckReason]), and
// [Config.OnSystem] records the use (with [SystemUse.Entry]
// [EntryReadTenant] and [SystemUse.Tenant] set; package audit writes it to
// the tenant's own chain) in a transaction of its own that commits
// before anything is read: if the record fails, nothing is read. Not in
// the reading transaction, which must be REPEATABLE READ: a record there
// would hold the tenant's chain head locked for the whole read, stopping
// the tenant's audited writes, or fail with a serialization error when
// one commits meanwhile. Since the view is taken after the record
// committed, the record is part of what fn reads.
//
// fn reads through two transactions that share one snapshot
// (pg_export_snapshot, SET TRANSACTION SNAPSHOT), both REPEATABLE READ and
// READ ONLY:
//   - the app role's, under the guard and row-level security, as a
//     principal of kind system whose tenant is tenant, holding every read
//     role of the model's tenant relations ([rls.Table.ReadRoles]), so that
//     staff-only tables read whole: [TenantReader.Copy] and
//     [TenantReader.Query];
//   - the system pool's ([Config.System], the platform role's), declared as
//     system work with the same tenant context, unguarded, for what the app
//     role may not read in system work (the audit log, whose reads need a
//     staff principal) and the catalog: [TenantReader.SystemCopy] and
//     [TenantReader.SystemQuery].
//
// fn's ctx carries the principal, whose source is named EntryReadTenant;
// the Pool's own methods refuse it. ReadTenant returns [ErrNoSystem]
// without a system pool, and fails as [Pool.InTenant] does otherwise
// (before any network use for a zero tenant, a reason without visible
// text, no recorder or an unverified principal in ctx). It returns fn's
// error. Both transactions are read-only: nothing fn runs can write.
func (p *Pool) ReadTenant(ctx context.Context, tenant tenancy.ID, reason string, fn func(ctx context.Context, r *TenantReader) error) error {
	if tenant.IsZero() {
		return fmt.Errorf("%w: ReadTenant needs a tenant", tenancy.ErrNoTenant)
	}
	if p.system == nil {
		return ErrNoSystem
	}
	if p.onSystem == nil {
		return ErrNoRecorder
	}
	use, err := p.use(ctx, EntryReadTenant, tenant, reason)
	if err != nil {
		return err
	}
	pr := tenancy.Principal{Kind: tenancy.KindSystem, Tenant: tenant, RequestID: use.Principal.RequestID, Roles: readRoles(p.model)}
	if use.HasPrincipal {
		pr.Subject = use.Principal.Actor()
	}
	if err := p.principals.Check(pr); err != nil {
		return fmt.Errorf("tenantdb: %s: %w", EntryReadTenant, err)
	}
	principal, err := rls.EncodePrincipal(pr)
	if err != nil {
		return err
	}
	wctx := readTenantSource.NewContext(ctx, pr)
	// The record, first and on its own.
	if err := p.tx(wctx, pr, pgx.TxOptions{}, func(tx pgx.Tx) error { return p.onSystem(wctx, tx, use) },
		func(context.Context, *Tx) error { return nil }); err != nil {
		return err
	}
	read := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return p.tx(wctx, pr, read, nil, func(ctx context.Context, tx *Tx) error {
		var snap string
		if err := tx.tx.QueryRow(ctx, "select pg_catalog.pg_export_snapshot()").Scan(&snap); err != nil {
			return fmt.Errorf("tenantdb: exporting the snapshot: %w", err)
		}
		if !snapshotID.MatchString(snap) {
			return fmt.Errorf("tenantdb: exporting the snapshot: unexpected snapshot id")
		}
		stx, err := p.system.BeginTx(ctx, read)
		if err != nil {
			return fmt.Errorf("tenantdb: system begin: %w", err)
		}
		defer p.rollback(ctx, stx)
		if _, err := stx.Exec(ctx, "set transaction snapshot '"+snap+"'"); err != nil {
			return fmt.Errorf("tenantdb: sharing the snapshot: %w", err)
		}
		if err := p.setSystemContext(ctx, stx, tenant.String(), principal); err != nil {
			return fmt.Errorf("tenantdb: system context: %w", err)
		}
		r := &TenantReader{app: tx, sys: stx, tenant: tenant}
		defer func() { r.done = true }()
		return fn(ctx, r)
	})
}

// readRoles returns every read role of the model's tenant relations, sorted.
func readRoles(m *rls.Model) []string {
	var roles []string
	for _, r := range m.TenantRelations() {
		roles = append(roles, r.Table.ReadRoles...)
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}

// TenantReader reads one tenant's rows from the snapshot of
// [Pool.ReadTenant], valid only inside its function. It is not safe for
// concurrent use: its two transactions run one statement at a time.
// Used after the function returned, its methods return [ErrTxDone].
type TenantReader struct {
	app    *Tx
	sys    pgx.Tx
	tenant tenancy.ID
	done   bool
}

// Tenant returns the tenant being read.
func (r *TenantReader) Tenant() tenancy.ID { return r.tenant }

// copySQL wraps a query for COPY. A sub-select in FROM cannot write (a
// data-modifying statement is allowed only in a top-level WITH), so the
// COPY reads whatever the query is; the line break ends any comment.
func copySQL(query string) string {
	return "copy (select * from (" + query + "\n) as q) to stdout with (format csv, header true)"
}

// Copy writes the rows of query to w as CSV, with a header line of column
// names (COPY ... TO STDOUT (FORMAT csv, HEADER)), streamed as the server
// sends them, and returns the number of rows. query runs in the app role's
// transaction and must pass the guard for the tenant as any statement
// does: one SELECT whose tenant relations are scoped by their tenant
// column (to a call of the model's current_tenant_id(), since COPY takes no
// parameters). It is sent as COPY (SELECT * FROM (query) AS q) TO STDOUT, so it
// can only read. A refused query is not sent. PostgreSQL runs COPY of a
// query under row-level security like the query itself.
func (r *TenantReader) Copy(ctx context.Context, w io.Writer, query string) (int64, error) {
	if r.done {
		return 0, ErrTxDone
	}
	if err := r.app.pool.check(query, nil, r.tenant); err != nil {
		return 0, err
	}
	tag, err := r.app.tx.Conn().PgConn().CopyTo(ctx, w, copySQL(query))
	if err != nil {
		return 0, fmt.Errorf("tenantdb: copy: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Query runs a query in the app role's transaction, under the guard, as
// [Tx.Query] does; close the rows before the next statement.
func (r *TenantReader) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if r.done {
		return nil, ErrTxDone
	}
	return r.app.Query(ctx, sql, args...)
}

// SystemCopy is [TenantReader.Copy] in the system pool's transaction: the
// same snapshot, the same tenant context (so the query may name
// current_tenant_id()), declared as system work, read-only, and not
// checked by the guard. It refuses, unsent, text that would end the
// transaction ([ErrTxControl]).
func (r *TenantReader) SystemCopy(ctx context.Context, w io.Writer, query string) (int64, error) {
	if r.done {
		return 0, ErrTxDone
	}
	sql := copySQL(query)
	if err := checkControl(sql); err != nil {
		return 0, err
	}
	tag, err := r.sys.Conn().PgConn().CopyTo(ctx, w, sql)
	if err != nil {
		return 0, fmt.Errorf("tenantdb: system copy: %w", err)
	}
	return tag.RowsAffected(), nil
}

// SystemQuery runs a query in the system pool's transaction (see
// [TenantReader.SystemCopy]), for the catalog and the audit log; close
// the rows before the next statement.
func (r *TenantReader) SystemQuery(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if r.done {
		return nil, ErrTxDone
	}
	return queryChecked(ctx, r.sys, func(sql string, args []any) error {
		if err := unsupportedArg(args); err != nil {
			return err
		}
		return checkControl(sql)
	}, sql, args)
}
