package tenancytest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// sqlStateDenied is insufficient_privilege: "permission denied", and "new
// row violates row-level security policy" (WITH CHECK, and the USING check
// of an upsert's existing row).
const sqlStateDenied = "42501"

// maxKeys bounds how many of tenant B's keys a table's checks name.
const maxKeys = 100

// Conn is what the SQL prober needs of a database handle. *pgx.Conn and
// *pgxpool.Pool implement it.
type Conn interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// SQLConfig is what [ProbeSQL] probes. Every field without a documented
// default is required. A SQLConfig is a value; ProbeSQL does not keep it.
type SQLConfig struct {
	// App is connected as the application's role, the one row-level
	// security must bind. ProbeSQL refuses it (t.Fatalf with an error
	// wrapping [tenantdb.ErrUnsafeRole]) when [tenantdb.CheckRole] says it
	// could bypass row-level security. Every statement ProbeSQL sends on it
	// runs in a transaction that is rolled back.
	App Conn

	// Privileged sees every tenant's rows: a superuser, or the owner role
	// with BYPASSRLS. ProbeSQL only reads through it, to prove that tenant
	// B's rows exist, to learn their keys and to check that they did not
	// change. ProbeSQL refuses a connection that row-level security binds
	// ([ErrNotPrivileged]).
	Privileged Conn

	// Model is the isolation model of the database, the one the
	// application gives tenantdb and the guard. ProbeSQL probes every
	// tenant relation of it ([rls.Model.TenantRelations]), each by its own
	// tenant column, subject column and read roles, so a tenant table
	// cannot be left out of the probe without being left out of the
	// model. Relations the model does not name are not probed: that the
	// catalog holds none the app role can reach is [rls.Check]'s to
	// report.
	Model *rls.Model

	// Tables holds the per-table options of the tenant relations that
	// need any, by name; the others are probed with none. A name that is
	// not a tenant relation of Model stops ProbeSQL ([ErrInvalidConfig]),
	// so an option cannot silently stop applying when a table is renamed
	// or dropped from the model.
	Tables []SQLTable

	// TenantA is the tenant whose context the probes run in; TenantB is the
	// tenant whose rows they try to reach. B must have rows in every table
	// (see [SQLTable.AllowEmpty]).
	TenantA, TenantB tenancy.ID

	// Roles are the application roles of the staff principal of A that
	// runs the probes. Nil means every [rls.Table.ReadRoles] of the
	// model's tenant tables, so that the principal may read each table: a
	// check that reads nothing because a read-role rule hides every row
	// proves nothing about the tenant rule.
	Roles []string
}

// SQLTable holds the options of one tenant relation for [ProbeSQL]: what
// the model does not say (its tenant column, subject column and read
// roles come from the model).
type SQLTable struct {
	// Name is the relation, "schema.table", unquoted, as in
	// [rls.Table.Name]: a tenant relation of [SQLConfig.Model].
	Name string

	// Key names the columns that identify a row. Default: the primary key,
	// or else the first unique index on plain columns without a predicate.
	// Without one, the checks by key and the upserts are skipped (and
	// logged).
	Key []string

	// Values replaces, in the rows that the INSERT and upsert checks try
	// to write, the value copied from B's row with an SQL expression, by
	// column name: for columns that a trigger or CHECK constrains on
	// insert, so that only row-level security can refuse the row (such as
	// a chain head that must start at zero). The expressions are sent as
	// written; they come from the test, never from data.
	Values map[string]string

	// AllowEmpty, when set, says why B may have no rows in this table; the
	// checks that need B's rows are then skipped, and the reason is logged.
	// Empty means that a table without B's rows fails the probe, since
	// every check of it would pass vacuously.
	AllowEmpty string
}

// Check names one of the checks that [ProbeSQL] runs on each table. The
// names are stable: they appear in every failure message.
type Check string

// The checks of [ProbeSQL], in the order they run on a table.
const (
	// CheckVacuous: B has rows in the table (read through the privileged
	// connection), so the other checks can fail.
	CheckVacuous Check = "vacuous"
	// CheckNoContext: without a tenant context, a SELECT fails with
	// SQLSTATE rls.SQLStateNoTenant (or is denied with 42501).
	CheckNoContext Check = "no-context"
	// CheckOwnRows: A's staff context sees A's own rows, so that seeing
	// none of B's means something.
	CheckOwnRows Check = "own-rows"
	// CheckSelect: A's context sees no row of B, by tenant or by key, and
	// no row of any tenant other than A.
	CheckSelect Check = "select"
	// CheckUpdate: an UPDATE of B's rows, by tenant and by key, affects
	// none.
	CheckUpdate Check = "update"
	// CheckDelete: a DELETE of B's rows, by tenant and by key, affects
	// none.
	CheckDelete Check = "delete"
	// CheckInsert: an INSERT of a row claiming B fails with a row-level
	// security violation (SQLSTATE 42501).
	CheckInsert Check = "insert"
	// CheckUpsert: INSERT ... ON CONFLICT DO UPDATE aimed at B's key fails
	// with SQLSTATE 42501, and so does one that collides with B's key from
	// a row of A when the key lacks the tenant column.
	CheckUpsert Check = "upsert"
	// CheckReturning: the statements above with RETURNING * return no row.
	CheckReturning Check = "returning"
	// CheckUnchanged: B's rows are byte for byte what they were before the
	// table's probes (a hash read through the privileged connection).
	CheckUnchanged Check = "unchanged"
)

// SQLFailure is one hole that [ProbeSQL] found. It is passed to t.Errorf
// whole (as [HTTPFailure] is by ProbeHTTP), so a test that runs the probe
// against a recording testing.TB can tell the checks apart without
// parsing messages.
type SQLFailure struct {
	// Table is the probed relation, schema-qualified.
	Table string
	// Check is the check that failed.
	Check Check
	// Principal names the principal probed, or "" for checks that run
	// without one.
	Principal string
	// Detail says what was seen.
	Detail string
}

// String returns the failure as ProbeSQL reports it.
func (f SQLFailure) String() string {
	if f.Principal == "" {
		return fmt.Sprintf("tenancytest: %s: %s: %s", f.Table, f.Check, f.Detail)
	}
	return fmt.Sprintf("tenancytest: %s: %s (as %s): %s", f.Table, f.Check, f.Principal, f.Detail)
}

// ProbeSQL proves, as the app role, that tenant A's context cannot read or
// write tenant B's rows in any tenant relation of cfg.Model: see the package
// documentation for the checks. It reports every hole with t.Errorf, naming
// the table and the check, and goes on, so one run lists them all; it stops
// with t.Fatalf when it cannot probe at all (a malformed cfg, an app role
// that bypasses row-level security, a privileged connection that does not).
//
// Every statement on cfg.App runs in a transaction that ProbeSQL rolls
// back, and cfg.Privileged is only read, so ProbeSQL changes nothing; it
// then checks that B's rows are unchanged, which fails if anything else
// writes them meanwhile. Do not run it in parallel with tests that write B's
// rows. It uses t.Context().
func ProbeSQL(t testing.TB, cfg SQLConfig) {
	t.Helper()
	ctx := t.Context()
	p, err := newSQLProbe(ctx, cfg)
	if err != nil {
		t.Fatalf("%v", err)
		return
	}
	for _, r := range p.relations {
		p.table(ctx, t, r, p.options[r.Qualified()])
	}
}

// sqlProbe holds what every table's probes share.
type sqlProbe struct {
	cfg       SQLConfig
	staff     tenancy.Principal
	relations []rls.Relation      // the model's tenant relations
	options   map[string]SQLTable // by qualified name
}

func newSQLProbe(ctx context.Context, cfg SQLConfig) (*sqlProbe, error) {
	switch {
	case cfg.App == nil || cfg.Privileged == nil:
		return nil, fmt.Errorf("%w: App and Privileged are required", ErrInvalidConfig)
	case cfg.TenantA.IsZero() || cfg.TenantB.IsZero():
		return nil, fmt.Errorf("%w: TenantA and TenantB are required", ErrInvalidConfig)
	case cfg.TenantA == cfg.TenantB:
		return nil, fmt.Errorf("%w: TenantA and TenantB are the same tenant", ErrInvalidConfig)
	case cfg.Model == nil:
		return nil, fmt.Errorf("%w: Model is required: ProbeSQL probes the tenant relations of the isolation model", ErrInvalidConfig)
	}
	relations := cfg.Model.TenantRelations()
	if len(relations) == 0 {
		return nil, fmt.Errorf("%w: the model has no tenant relations", ErrInvalidConfig)
	}
	options := map[string]SQLTable{}
	for _, tbl := range cfg.Tables {
		schema, name, ok := strings.Cut(tbl.Name, ".")
		if !ok {
			return nil, fmt.Errorf("%w: table %q is not schema-qualified", ErrInvalidConfig, tbl.Name)
		}
		if _, dup := options[tbl.Name]; dup {
			return nil, fmt.Errorf("%w: table %s has options twice", ErrInvalidConfig, tbl.Name)
		}
		if r := cfg.Model.Relation(schema, name); r.Class != rls.ClassTenant {
			return nil, fmt.Errorf("%w: options name %s, which is not a tenant relation of the model (it is %s there)", ErrInvalidConfig, tbl.Name, r.Class)
		}
		options[tbl.Name] = tbl
	}
	roles := cfg.Roles
	if roles == nil {
		for _, r := range relations {
			for _, role := range r.Table.ReadRoles {
				if !slices.Contains(roles, role) {
					roles = append(roles, role)
				}
			}
		}
		slices.Sort(roles)
	}
	// The app role first: nothing else is worth doing through a role that
	// row-level security does not bind.
	if err := tenantdb.CheckRole(ctx, cfg.App, cfg.Model); err != nil {
		return nil, fmt.Errorf("tenancytest: the app connection: %w", err)
	}
	var bypass bool
	if err := cfg.Privileged.QueryRow(ctx,
		`select rolsuper or rolbypassrls from pg_catalog.pg_roles where rolname = current_user`).Scan(&bypass); err != nil {
		return nil, fmt.Errorf("tenancytest: the privileged connection: %w", err)
	}
	if !bypass {
		return nil, ErrNotPrivileged
	}
	ps := cfg.Model.Principals()
	member := slices.IndexFunc(ps.Kinds, func(k tenancy.KindSpec) bool { return k.Access == tenancy.AccessTenant })
	if member < 0 {
		return nil, fmt.Errorf("%w: the model declares no kind of tenancy.AccessTenant to probe with", ErrInvalidConfig)
	}
	for _, id := range []tenancy.ID{cfg.TenantA, cfg.TenantB} {
		if err := ps.TenantKey.Check(id); err != nil {
			return nil, fmt.Errorf("%w: TenantA and TenantB must be %s keys: %w", ErrInvalidConfig, ps.TenantKey, err)
		}
	}
	staff := tenancy.Principal{Kind: ps.Kinds[member].Name, Tenant: cfg.TenantA, Subject: newKey(ps.SubjectKey), Roles: roles}
	if _, _, err := tenantdb.ContextSQL(ctx, staff); err != nil {
		return nil, fmt.Errorf("%w: Roles: %w", ErrInvalidConfig, err)
	}
	return &sqlProbe{cfg: cfg, staff: staff, relations: relations, options: options}, nil
}

// tableProbe is the probing of one table.
type tableProbe struct {
	t       testing.TB
	p       *sqlProbe
	rel     rls.Relation // the relation, as the model classifies it
	tbl     SQLTable     // its options, Name set
	qt      string       // the quoted table name
	tc      string       // the quoted tenant column
	uc      string       // the quoted column the UPDATEs set to itself; "" if the app role may update none
	key     []string     // the key columns, unquoted
	cols    []column     // the columns an INSERT may name
	keysB   string       // JSON array of B's keys (up to maxKeys)
	row     string       // JSON of one of B's rows (or else A's), "" if none
	rowIsB  bool         // whether row is B's
	failed  bool
	skipped []string
}

type column struct {
	name string
	uuid bool
}

func (tp *tableProbe) fail(check Check, principal, format string, args ...any) {
	tp.t.Helper()
	tp.failed = true
	tp.t.Errorf("%v", SQLFailure{Table: tp.tbl.Name, Check: check, Principal: principal, Detail: fmt.Sprintf(format, args...)})
}

func (p *sqlProbe) table(ctx context.Context, t testing.TB, rel rls.Relation, tbl SQLTable) {
	t.Helper()
	tbl.Name = rel.Qualified()
	tp := &tableProbe{t: t, p: p, rel: rel, tbl: tbl}
	tenantCol := rel.TenantColumn
	schema, name := rel.Schema, rel.Name
	tp.qt = pgx.Identifier{schema, name}.Sanitize()
	tp.tc = ident(tenantCol)
	if err := tp.catalog(ctx, schema, name, tenantCol); err != nil {
		t.Errorf("tenancytest: %s: %v", tbl.Name, err)
		return
	}
	a, b := p.cfg.TenantA.String(), p.cfg.TenantB.String()

	// Prove B's rows exist, and take what the checks need of them.
	var total, countA int
	var countB int
	var hashB string
	if err := p.cfg.Privileged.QueryRow(ctx, `select count(*) from `+tp.qt).Scan(&total); err != nil {
		t.Errorf("tenancytest: %s: privileged read: %v", tbl.Name, err)
		return
	}
	if err := p.cfg.Privileged.QueryRow(ctx, `select count(*) from `+tp.qt+` where `+tp.tc+` = $1`, a).Scan(&countA); err != nil {
		t.Errorf("tenancytest: %s: privileged read: %v", tbl.Name, err)
		return
	}
	countB, hashB, err := tp.hash(ctx, b)
	if err != nil {
		t.Errorf("tenancytest: %s: privileged read: %v", tbl.Name, err)
		return
	}
	if countB == 0 {
		if tbl.AllowEmpty == "" {
			tp.fail(CheckVacuous, "", "tenant B (%s) has no rows in the table, so every check of it would pass whatever the policies say; add B's rows to the fixture, or set AllowEmpty with the reason", b)
			return
		}
		t.Logf("tenancytest: %s: B has no rows (allowed: %s); only the checks that need none ran", tbl.Name, tbl.AllowEmpty)
	}
	if len(tp.key) > 0 {
		ks := make([]string, len(tp.key))
		for i, k := range tp.key {
			ks[i] = ident(k)
		}
		keyList := strings.Join(ks, ", ")
		if err := p.cfg.Privileged.QueryRow(ctx,
			`select coalesce(jsonb_agg(to_jsonb(s)), '[]')::text from (select `+keyList+` from `+tp.qt+` where `+tp.tc+` = $1 order by `+keyList+` limit `+fmt.Sprint(maxKeys)+`) s`,
			b).Scan(&tp.keysB); err != nil {
			t.Errorf("tenancytest: %s: privileged read: %v", tbl.Name, err)
			return
		}
	}
	// The INSERT checks copy one of B's rows, or else one of A's.
	if countB > 0 || countA > 0 {
		from := b
		if countB == 0 {
			from = a
		}
		if err := p.cfg.Privileged.QueryRow(ctx,
			`select to_jsonb(x)::text from `+tp.qt+` x where `+tp.tc+` = $1 limit 1`, from).Scan(&tp.row); err != nil {
			t.Errorf("tenancytest: %s: privileged read: %v", tbl.Name, err)
			return
		}
		tp.rowIsB = countB > 0
	}

	tp.noContext(ctx, total)
	principals := []struct {
		p    tenancy.Principal
		name string
	}{{p.staff, string(p.staff.Kind) + " of A"}}
	if rel.SubjectColumn != "" && countB > 0 {
		var subject *string
		err := p.cfg.Privileged.QueryRow(ctx,
			`select `+ident(rel.SubjectColumn)+`::text from `+tp.qt+` where `+tp.tc+` = $1 and `+ident(rel.SubjectColumn)+` is not null limit 1`,
			b).Scan(&subject)
		ps := p.cfg.Model.Principals()
		var id tenancy.ID
		if err == nil && subject != nil {
			id, err = ps.SubjectKey.Parse(*subject)
		}
		scoped := slices.IndexFunc(ps.Kinds, func(k tenancy.KindSpec) bool { return k.Access == tenancy.AccessSubject })
		switch {
		case scoped < 0:
			tp.skipped = append(tp.skipped, "the subject-scoped checks (the model declares no kind of tenancy.AccessSubject)")
		case errors.Is(err, pgx.ErrNoRows) || (err == nil && subject == nil):
			tp.skipped = append(tp.skipped, "the subject-scoped checks (no subject in B's rows)")
		case err != nil:
			tp.skipped = append(tp.skipped, fmt.Sprintf("the subject-scoped checks (B's subject is not a %s key: %v)", ps.SubjectKey, err))
		default:
			k := ps.Kinds[scoped].Name
			principals = append(principals, struct {
				p    tenancy.Principal
				name string
			}{tenancy.Principal{Kind: k, Tenant: p.cfg.TenantA, Subject: id}, string(k) + " of A with the subject of a row of B"})
		}
	}
	for i, pr := range principals {
		if i == 0 {
			tp.ownRows(ctx, pr.p, pr.name, countA)
		}
		tp.selects(ctx, pr.p, pr.name)
		tp.writes(ctx, pr.p, pr.name)
	}

	// Nothing changed: B's rows are what they were.
	countAfter, hashAfter, err := tp.hash(ctx, b)
	if err != nil {
		t.Errorf("tenancytest: %s: privileged read: %v", tbl.Name, err)
		return
	}
	if countAfter != countB || hashAfter != hashB {
		tp.fail(CheckUnchanged, "", "B's rows changed during the probes: %d rows with hash %s before, %d with hash %s after (did something commit, or does another test write B's rows?)", countB, hashB, countAfter, hashAfter)
	}
	if !tp.failed {
		var who []string
		for _, pr := range principals {
			who = append(who, pr.name)
		}
		msg := fmt.Sprintf("tenancytest: %s: no hole found (B has %d rows, A %d; probed as %s)", tbl.Name, countB, countA, strings.Join(who, " and "))
		if len(tp.skipped) > 0 {
			msg += "; skipped: " + strings.Join(tp.skipped, "; ")
		}
		t.Logf("%s", msg)
	}
}

// catalog reads the table's columns and key, and checks that the columns
// the config names exist.
func (tp *tableProbe) catalog(ctx context.Context, schema, name, tenantCol string) error {
	db := tp.p.cfg.Privileged
	var oid uint32
	err := db.QueryRow(ctx, `select c.oid from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
		where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`, schema, name).Scan(&oid)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: no table %s", ErrInvalidConfig, tp.tbl.Name)
	} else if err != nil {
		return err
	}
	rows, err := db.Query(ctx, `select a.attname, a.atttypid = 'uuid'::regtype, a.attgenerated = '' and a.attidentity <> 'a',
			a.attgenerated = '' and a.attidentity = '' and pg_catalog.has_column_privilege($2::text, a.attrelid, a.attname::text, 'UPDATE')
		from pg_catalog.pg_attribute a where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped order by a.attnum`,
		oid, tp.p.cfg.Model.Config().AppRole)
	if err != nil {
		return err
	}
	var all, updatable []string
	for rows.Next() {
		var c column
		var insertable, update bool
		if err := rows.Scan(&c.name, &c.uuid, &insertable, &update); err != nil {
			rows.Close()
			return err
		}
		all = append(all, c.name)
		if insertable {
			tp.cols = append(tp.cols, c)
		}
		if update {
			updatable = append(updatable, c.name)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// The UPDATE and upsert checks set a column to itself: the tenant
	// column where the app role may update it, else the first it may (a
	// generated tenant column, or column privileges that leave it out).
	switch {
	case slices.Contains(updatable, tenantCol):
		tp.uc = ident(tenantCol)
	case len(updatable) > 0:
		tp.uc = ident(updatable[0])
	}
	tp.key = tp.tbl.Key
	if tp.key == nil {
		err := db.QueryRow(ctx, `select array(select a.attname from unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
				join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
				where k.ord <= i.indnkeyatts order by k.ord)
			from pg_catalog.pg_index i join pg_catalog.pg_class ic on ic.oid = i.indexrelid
			where i.indrelid = $1 and i.indisunique and i.indisvalid and i.indpred is null and i.indexprs is null
			order by i.indisprimary desc, ic.relname limit 1`, oid).Scan(&tp.key)
		if errors.Is(err, pgx.ErrNoRows) {
			tp.skipped = append(tp.skipped, "the checks by key and the upserts (the table has no key; set Key)")
		} else if err != nil {
			return err
		}
	}
	named := append([]string{tenantCol}, tp.key...)
	if tp.rel.SubjectColumn != "" {
		named = append(named, tp.rel.SubjectColumn)
	}
	for c := range tp.tbl.Values {
		named = append(named, c)
	}
	for _, c := range named {
		if !slices.Contains(all, c) {
			return fmt.Errorf("%w: %s has no column %q", ErrInvalidConfig, tp.tbl.Name, c)
		}
	}
	return nil
}

// hash returns the number of tenant's rows and a hash of their text.
func (tp *tableProbe) hash(ctx context.Context, tenant string) (int, string, error) {
	var n int
	var h string
	err := tp.p.cfg.Privileged.QueryRow(ctx,
		`select count(*), coalesce(md5(string_agg(x::text, ',' order by x::text)), '') from `+tp.qt+` x where x.`+tp.tc+` = $1`,
		tenant).Scan(&n, &h)
	return n, h, err
}

// inTx runs fn as the app role in a transaction that it rolls back, with
// p's context set as tenantdb sets it, or with none when p is nil.
func (tp *tableProbe) inTx(ctx context.Context, p *tenancy.Principal, fn func(tx pgx.Tx) error) error {
	tx, err := tp.p.cfg.App.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if p != nil {
		sql, args, err := tenantdb.ContextSQL(ctx, *p)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("setting the tenant context: %w", err)
		}
	}
	return fn(tx)
}

func (tp *tableProbe) count(ctx context.Context, p *tenancy.Principal, sql string, args ...any) (int, error) {
	var n int
	err := tp.inTx(ctx, p, func(tx pgx.Tx) error { return tx.QueryRow(ctx, sql, args...).Scan(&n) })
	return n, err
}

func (tp *tableProbe) noContext(ctx context.Context, total int) {
	tp.t.Helper()
	n, err := tp.count(ctx, nil, `select count(*) from `+tp.qt)
	switch state := sqlState(err); {
	case state == rls.SQLStateNoTenant || state == sqlStateDenied:
	case err != nil:
		tp.fail(CheckNoContext, "", "SELECT without a tenant context failed with %v, want SQLSTATE %s", err, rls.SQLStateNoTenant)
	case n > 0:
		tp.fail(CheckNoContext, "", "SELECT without a tenant context returned %d rows", n)
	case total > 0:
		tp.fail(CheckNoContext, "", "SELECT without a tenant context returned no rows instead of failing with SQLSTATE %s: the policies do not fail closed", rls.SQLStateNoTenant)
	}
}

func (tp *tableProbe) ownRows(ctx context.Context, p tenancy.Principal, who string, countA int) {
	tp.t.Helper()
	if countA == 0 {
		tp.skipped = append(tp.skipped, "the own-rows control (A has no rows)")
		return
	}
	n, err := tp.count(ctx, &p, `select count(*) from `+tp.qt+` where `+tp.tc+` = $1`, tp.p.cfg.TenantA.String())
	switch {
	case err != nil:
		tp.fail(CheckOwnRows, who, "reading A's own rows failed: %v", err)
	case n == 0:
		tp.fail(CheckOwnRows, who, "A's context sees none of A's %d rows, so seeing none of B's proves nothing; give the principal the table's read roles (SQLConfig.Roles, the model's ReadRoles)", countA)
	}
}

func (tp *tableProbe) selects(ctx context.Context, p tenancy.Principal, who string) {
	tp.t.Helper()
	type sel struct {
		what, sql string
		arg       string
	}
	sels := []sel{
		{"B's rows by tenant", `select count(*) from ` + tp.qt + ` where ` + tp.tc + ` = $1`, tp.p.cfg.TenantB.String()},
		{"rows of tenants other than A", `select count(*) from ` + tp.qt + ` where ` + tp.tc + ` is distinct from $1`, tp.p.cfg.TenantA.String()},
	}
	if tp.keysB != "" {
		sels = append(sels, sel{"B's rows by key", `select count(*) from ` + tp.qt + ` where ` + tp.byKey(), tp.keysB})
	}
	for _, s := range sels {
		n, err := tp.count(ctx, &p, s.sql, s.arg)
		switch {
		case sqlState(err) == sqlStateDenied:
		case err != nil:
			tp.fail(CheckSelect, who, "SELECT of %s failed, so it proves nothing: %v", s.what, err)
		case n > 0:
			tp.fail(CheckSelect, who, "SELECT of %s sees %d rows", s.what, n)
		}
	}
}

// byKey is a WHERE condition matching the keys in $1, a JSON array.
func (tp *tableProbe) byKey() string {
	ks := make([]string, len(tp.key))
	rs := make([]string, len(tp.key))
	for i, k := range tp.key {
		ks[i] = ident(k)
		rs[i] = "r." + ident(k)
	}
	return `(` + strings.Join(ks, ", ") + `) in (select ` + strings.Join(rs, ", ") + ` from jsonb_populate_recordset(null::` + tp.qt + `, $1::jsonb) r)`
}

// write is one write statement of the checks.
type write struct {
	check  Check
	what   string
	sql    string
	args   []any
	refuse bool // must fail with SQLSTATE 42501; else must affect no row
}

func (tp *tableProbe) writes(ctx context.Context, p tenancy.Principal, who string) {
	tp.t.Helper()
	b := tp.p.cfg.TenantB.String()
	set := ` set ` + tp.uc + ` = ` + tp.uc
	var ws []write
	if tp.uc != "" {
		ws = append(ws, write{CheckUpdate, "UPDATE of B's rows by tenant", `update ` + tp.qt + set + ` where ` + tp.tc + ` = $1`, []any{b}, false})
	} else {
		tp.skipped = append(tp.skipped, "the UPDATEs and upserts (the app role may update no column)")
	}
	ws = append(ws, write{CheckDelete, "DELETE of B's rows by tenant", `delete from ` + tp.qt + ` where ` + tp.tc + ` = $1`, []any{b}, false})
	if tp.keysB != "" {
		if tp.uc != "" {
			ws = append(ws, write{CheckUpdate, "UPDATE of B's rows by key", `update ` + tp.qt + set + ` where ` + tp.byKey(), []any{tp.keysB}, false})
		}
		ws = append(ws, write{CheckDelete, "DELETE of B's rows by key", `delete from ` + tp.qt + ` where ` + tp.byKey(), []any{tp.keysB}, false})
	}
	switch {
	case tp.row == "":
		tp.skipped = append(tp.skipped, "INSERT and upsert (no row to copy)")
	default:
		// A copy of B's row (or A's), claiming B, with fresh uuids in its
		// key so that only row-level security can refuse it.
		over := map[string]string{tp.tenantName(): b}
		for _, c := range tp.cols {
			if c.uuid && slices.Contains(tp.key, c.name) && c.name != tp.tenantName() {
				over[c.name] = tenancy.NewID().String()
			}
		}
		ws = append(ws, write{CheckInsert, "INSERT of a row claiming B", tp.insert(""), []any{tp.row, jsonText(over)}, true})
		if len(tp.key) == 0 || !tp.rowIsB {
			tp.skipped = append(tp.skipped, "the upserts (no key of B)")
			break
		}
		if tp.uc == "" {
			break // skipped above
		}
		ws = append(ws, write{CheckUpsert, "upsert onto B's key", tp.insert(tp.onConflict()), []any{tp.row, "{}"}, true})
		if !slices.Contains(tp.key, tp.tenantName()) {
			// The key does not hold the tenant: a row of A can collide
			// with B's and take the DO UPDATE path onto it.
			ws = append(ws, write{CheckUpsert, "upsert of a row of A colliding with B's key", tp.insert(tp.onConflict()),
				[]any{tp.row, jsonText(map[string]string{tp.tenantName(): tp.p.cfg.TenantA.String()})}, true})
		}
	}
	for _, w := range ws {
		tp.write(ctx, p, who, w, false)
		tp.write(ctx, p, who, w, true)
	}
}

// tenantName is the unquoted tenant column.
func (tp *tableProbe) tenantName() string { return tp.rel.TenantColumn }

// insert returns an INSERT of the row in $1 (JSON) overlaid with $2 (JSON)
// and SQLTable.Values, followed by suffix.
func (tp *tableProbe) insert(suffix string) string {
	names := make([]string, len(tp.cols))
	vals := make([]string, len(tp.cols))
	for i, c := range tp.cols {
		names[i] = ident(c.name)
		if v, ok := tp.tbl.Values[c.name]; ok {
			vals[i] = "(" + v + ")"
		} else {
			vals[i] = "r." + ident(c.name)
		}
	}
	return `insert into ` + tp.qt + ` (` + strings.Join(names, ", ") + `) select ` + strings.Join(vals, ", ") +
		` from jsonb_populate_record(null::` + tp.qt + `, $1::jsonb || $2::jsonb) r` + suffix
}

func (tp *tableProbe) onConflict() string {
	ks := make([]string, len(tp.key))
	for i, k := range tp.key {
		ks[i] = ident(k)
	}
	return ` on conflict (` + strings.Join(ks, ", ") + `) do update set ` + tp.uc + ` = excluded.` + tp.uc
}

// write runs w, with RETURNING * when returning, and reports what it
// reached.
func (tp *tableProbe) write(ctx context.Context, p tenancy.Principal, who string, w write, returning bool) {
	tp.t.Helper()
	sql, what, check := w.sql, w.what, w.check
	if returning {
		sql += ` returning *`
		what += " with RETURNING"
	}
	var affected int64
	returned := 0
	err := tp.inTx(ctx, &p, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, w.args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			returned++
		}
		rows.Close()
		affected = rows.CommandTag().RowsAffected()
		return rows.Err()
	})
	state := sqlState(err)
	switch {
	case state == sqlStateDenied:
		return
	case err != nil && w.refuse:
		tp.fail(check, who, "%s failed with %v, not with SQLSTATE %s: row-level security did not refuse it, or something else refused it first and the check shows nothing (see SQLTable.Values)", what, err, sqlStateDenied)
	case err != nil:
		tp.fail(check, who, "%s failed, so it proves nothing: %v", what, err)
	case w.refuse:
		tp.fail(check, who, "%s succeeded (%d rows) instead of failing with SQLSTATE %s", what, affected, sqlStateDenied)
	case affected > 0:
		tp.fail(check, who, "%s affected %d rows", what, affected)
	}
	if err == nil && returning && returned > 0 {
		tp.fail(CheckReturning, who, "%s returned %d rows of B", what, returned)
	}
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func jsonText(m map[string]string) string {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return string(b)
}

// sqlState returns the SQLSTATE of err, or "" if it has none.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// newKey returns a new random key of type t, for a principal that stands
// for nobody in particular.
func newKey(t tenancy.KeyType) tenancy.ID {
	var b [8]byte
	_, _ = rand.Read(b[:])
	n := int64(binary.BigEndian.Uint64(b[:])>>1) | 1 // positive, never 0
	switch t {
	case tenancy.KeyBigint:
		return tenancy.IntID(n)
	case tenancy.KeyText:
		id, _ := tenancy.TextID(fmt.Sprintf("tenancytest-%x", n))
		return id
	}
	return tenancy.NewID()
}
