package tenantarchive

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/rls"
)

// Beginner starts a transaction: *pgx.Conn and *pgxpool.Pool implement it.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// ImportConfig says what [Import] requires of an archive.
type ImportConfig struct {
	// SchemaVersion, when set, must equal the archive's
	// [Manifest.SchemaVersion] (the target's own version, such as goose's
	// latest applied one).
	SchemaVersion string
	// PublicKey, when set, requires the manifest to be signed with its
	// private key. Without it, a signed archive is refused too (its
	// signature could not be checked); an unsigned one is checked by its
	// digests alone.
	PublicKey ed25519.PublicKey
	// Progress, when set, is called as each table is loaded.
	Progress func(Progress)
}

// ReadManifest reads and parses dir's manifest ([ParseManifest]).
func ReadManifest(dir string) (*Manifest, error) {
	f, err := os.Open(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if len(b) > maxManifest {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrManifest, maxManifest)
	}
	return ParseManifest(b)
}

// VerifyFiles checks dir against man before anything is written: the
// directory holds the manifest and man's files and nothing else, and each
// file has man's size and SHA-256, a header line naming man's columns, and
// man's number of CSV records after it. It reads each file once, as a
// stream. It returns an error wrapping [ErrTampered] that names the file
// (never its contents).
func VerifyFiles(dir string, man *Manifest) error {
	want := map[string]bool{}
	for _, t := range man.Tables {
		want[t.File] = true
	}
	top, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTampered, err)
	}
	for _, e := range top {
		if e.Name() != ManifestFile && !(e.Name() == DataDir && e.IsDir()) {
			return fmt.Errorf("%w: %s is not part of the archive", ErrTampered, e.Name())
		}
	}
	if len(man.Tables) > 0 {
		data, err := os.ReadDir(filepath.Join(dir, DataDir))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrTampered, err)
		}
		for _, e := range data {
			if !want[DataDir+"/"+e.Name()] || !e.Type().IsRegular() {
				return fmt.Errorf("%w: %s/%s is not part of the archive", ErrTampered, DataDir, e.Name())
			}
		}
	}
	for _, t := range man.Tables {
		if err := verifyFile(dir, t); err != nil {
			return err
		}
	}
	return nil
}

func verifyFile(dir string, t Table) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s (%s): %s", ErrTampered, t.File, t.Name, why) }
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(t.File)))
	if err != nil {
		return bad("missing")
	}
	defer f.Close()
	h := sha256.New()
	counted := &countReader{r: bufio.NewReaderSize(f, 1<<20)}
	r := csv.NewReader(io.TeeReader(counted, h))
	r.FieldsPerRecord = len(t.Columns)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil || !slices.Equal(header, t.Columns) {
		return bad("its header does not name the manifest's columns")
	}
	var rows int64
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bad("not CSV of the manifest's columns")
		}
		rows++
	}
	if _, err := io.Copy(h, counted); err != nil {
		return bad("unreadable")
	}
	switch {
	case counted.n != t.Bytes:
		return bad("another size than the manifest's")
	case hex.EncodeToString(h.Sum(nil)) != t.SHA256:
		return bad("another SHA-256 than the manifest's")
	case rows != t.Rows:
		return bad("another number of rows than the manifest's")
	}
	return nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// Import loads the archive in dir into the database behind admin, whose
// isolation model is m (the same migrations as the exporter's), in one
// transaction: all of it or nothing.
//
// Before anything is written it reads the manifest ([ReadManifest]),
// checks the signature as cfg requires, the key type and schema version,
// every file ([VerifyFiles]), and that the archive fits m and the target
// catalog: the same tables (every tenant relation of m, and registries of
// m), classes and columns ([ErrSchema]).
//
// Then, in the transaction, it refuses a tenant that exists in the target
// ([ErrTenantExists]: its row in the registry of tenants, its audit
// chain, or any row of a tenant relation), loads the tables in
// foreign-key order with their ids as they are, and re-verifies: every
// tenant relation holds the manifest's number of the tenant's rows, the
// audit chain verifies (audit.Verify) and ends at the manifest's head
// ([ErrChain]). Registry rows: the tenant's own row of the registry of
// tenants (rls.Table.ListsTenants) is imported; every other registry row
// the tenant's rows reference must already be in the target, with the
// same primary key ([ErrRegistryRow]); Import never writes or changes
// shared rows.
//
// # Roles
//
// admin is an administrator who can SET ROLE to m's app and platform
// roles: a superuser, or a role that is a member of both (and may create
// temporary tables). Its own rights stage each file (COPY FROM into a
// temporary table of its session); every row is then written under SET
// LOCAL ROLE to the role the model gives it, with the tenant's context, so
// that row-level security and the audit log's triggers judge each row as
// in production: the tenant's rows as the app role (WITH CHECK refuses a
// row of another tenant), the registry row and the audit log as the
// platform role, each audit event replayed with its own actor and request
// id declared as system work, so the trigger that checks events against
// the context (TA002) accepts it, and the chain head advanced one event at
// a time.
//
// Errors never quote rows. It is safe for concurrent use if admin is.
func Import(ctx context.Context, admin Beginner, m *rls.Model, dir string, cfg ImportConfig) (*Manifest, error) {
	man, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.PublicKey != nil:
		if err := man.Verify(cfg.PublicKey); err != nil {
			return nil, err
		}
	case man.Signature != "":
		return nil, fmt.Errorf("%w: the archive is signed, and no public key was given to check it", ErrSignature)
	}
	if man.KeyType != m.TenantKey().String() {
		return nil, fmt.Errorf("%w: the archive's tenant key type is %s, the model's %s", ErrSchema, man.KeyType, m.TenantKey())
	}
	tenant, err := m.TenantKey().Parse(man.Tenant)
	if err != nil {
		return nil, fmt.Errorf("%w: the tenant is not a key of its type", ErrManifest)
	}
	if cfg.SchemaVersion != "" && cfg.SchemaVersion != man.SchemaVersion {
		return nil, fmt.Errorf("%w: the archive's schema version is %q, the target's %q", ErrSchema, man.SchemaVersion, cfg.SchemaVersion)
	}
	if err := fitsModel(man, m); err != nil {
		return nil, err
	}
	if err := VerifyFiles(dir, man); err != nil {
		return nil, err
	}
	tx, err := admin.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("tenantarchive: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	im, err := newImporter(ctx, tx, m, tenant)
	if err != nil {
		return nil, err
	}
	if err := im.run(ctx, dir, man, cfg.Progress); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("tenantarchive: commit: %w", err)
	}
	return man, nil
}

// fitsModel checks man's tables against m: each a relation of m of the
// same class, and every tenant relation of m present.
func fitsModel(man *Manifest, m *rls.Model) error {
	for _, t := range man.Tables {
		s, n := splitName(t.Name)
		r := m.Relation(s, n)
		if (t.Class == ClassTenant && r.Class != rls.ClassTenant) || (t.Class == ClassRegistry && r.Class != rls.ClassRegistry) {
			return fmt.Errorf("%w: the archive's %s %s is %s in the target's model", ErrSchema, t.Class, t.Name, r.Class)
		}
	}
	for _, r := range m.TenantRelations() {
		if _, ok := man.Table(r.Qualified()); !ok {
			return fmt.Errorf("%w: the archive has no file for tenant relation %s", ErrSchema, r.Qualified())
		}
	}
	return nil
}

// importer loads one archive in one transaction.
type importer struct {
	tx        pgx.Tx
	m         *rls.Model
	cfg       rls.Config
	tenant    tenancy.ID
	cur       string // SQL of current_tenant_id()
	app       string // quoted role names
	platform  string
	principal string // the load's principal, encoded
}

func newImporter(ctx context.Context, tx pgx.Tx, m *rls.Model, tenant tenancy.ID) (*importer, error) {
	cfg := m.Config()
	im := &importer{tx: tx, m: m, cfg: cfg, tenant: tenant, cur: helperCall(m), app: ident(cfg.AppRole), platform: ident(cfg.PlatformRole)}
	// The model's read roles, so that staff-only tables count whole, as
	// tenantdb.Pool.ReadTenant reads them.
	var roles []string
	for _, r := range m.TenantRelations() {
		roles = append(roles, r.Table.ReadRoles...)
	}
	slices.Sort(roles)
	p, err := rls.EncodePrincipal(tenancy.Principal{Kind: tenancy.KindSystem, Tenant: tenant, Roles: slices.Compact(roles)})
	if err != nil {
		return nil, err
	}
	im.principal = p
	if err := im.context(ctx, p); err != nil {
		return nil, err
	}
	return im, nil
}

// context sets the transaction's tenant context, with principal p.
func (im *importer) context(ctx context.Context, p string) error {
	_, err := im.tx.Exec(ctx, "SELECT pg_catalog.set_config($1, $2, true), pg_catalog.set_config($3, $4, true)",
		rls.SettingTenantID, im.tenant.String(), rls.SettingPrincipal, p)
	if err != nil {
		return fmt.Errorf("tenantarchive: setting the tenant context: %w", err)
	}
	return nil
}

// as makes role ("" for the administrator itself) the current role for
// the statements that follow.
func (im *importer) as(ctx context.Context, role string) error {
	if role == "" {
		role = "NONE"
	}
	if _, err := im.tx.Exec(ctx, "SET LOCAL ROLE "+role); err != nil {
		return fmt.Errorf("tenantarchive: SET ROLE %s: %w", role, err)
	}
	return nil
}

// roleOf returns the role that writes and reads relation r.
func (im *importer) roleOf(r rls.Relation) string {
	if r.Class == rls.ClassTenant && !r.Table.Audit {
		return im.app
	}
	return im.platform
}

func (im *importer) exists(ctx context.Context, sql string) (bool, error) {
	var ok bool
	err := im.tx.QueryRow(ctx, "SELECT EXISTS ("+sql+")").Scan(&ok)
	return ok, err
}

func (im *importer) run(ctx context.Context, dir string, man *Manifest, report func(Progress)) error {
	var names []string
	rels := map[string]rls.Relation{}
	for _, t := range man.Tables {
		s, n := splitName(t.Name)
		rels[t.Name] = im.m.Relation(s, n)
		names = append(names, t.Name)
	}
	// The target's catalog (as the platform role: any role reads it).
	if err := im.as(ctx, im.platform); err != nil {
		return err
	}
	cols, err := columnsOf(ctx, im.tx, names)
	if err != nil {
		return err
	}
	for _, t := range man.Tables {
		a, b := slices.Clone(cols[t.Name]), slices.Clone(t.Columns)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			return fmt.Errorf("%w: the columns of %s differ between the archive and the target", ErrSchema, t.Name)
		}
	}
	fks, err := foreignKeys(ctx, im.tx, names)
	if err != nil {
		return err
	}
	order, err := loadOrder(names, fks)
	if err != nil {
		return err
	}
	types, err := columnTypes(ctx, im.tx, names)
	if err != nil {
		return err
	}
	// The tenant must be new here.
	if err := im.refuseExisting(ctx, man, rels); err != nil {
		return err
	}
	for i, name := range order {
		t, _ := man.Table(name)
		stage := fmt.Sprintf("tenantarchive_%04d", i+1)
		if err := im.stage(ctx, dir, t, stage, types[name]); err != nil {
			return err
		}
		if err := im.load(ctx, t, rels[name], stage); err != nil {
			return err
		}
		if report != nil {
			report(Progress{Table: name, Index: i + 1, Tables: len(order), Rows: t.Rows, Bytes: t.Bytes, Done: true})
		}
	}
	if err := im.verify(ctx, man, rels); err != nil {
		return err
	}
	return im.as(ctx, "")
}

// columnTypes returns each column's type, as format_type writes it.
func columnTypes(ctx context.Context, q querier, names []string) (map[string]map[string]string, error) {
	var schemas, rels []string
	for _, n := range names {
		s, r := splitName(n)
		schemas, rels = append(schemas, s), append(rels, r)
	}
	rows, err := q.Query(ctx, `
		SELECT s.schema || '.' || s.name, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
		FROM unnest($1::text[], $2::text[]) AS s(schema, name)
		JOIN pg_catalog.pg_namespace n ON n.nspname = s.schema
		JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = s.name
		JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
		WHERE a.attnum > 0 AND NOT a.attisdropped`, schemas, rels)
	if err != nil {
		return nil, fmt.Errorf("tenantarchive: reading column types: %w", err)
	}
	out := map[string]map[string]string{}
	var rel, col, typ string
	_, err = pgx.ForEachRow(rows, []any{&rel, &col, &typ}, func() error {
		if out[rel] == nil {
			out[rel] = map[string]string{}
		}
		out[rel][col] = typ
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tenantarchive: reading column types: %w", err)
	}
	return out, nil
}

// refuseExisting fails with ErrTenantExists when the target holds any of
// the tenant: its registry row, or a row of any tenant relation (the audit
// chain's head and events included).
func (im *importer) refuseExisting(ctx context.Context, man *Manifest, rels map[string]rls.Relation) error {
	if table, column, ok := im.m.TenantList(); ok {
		if err := im.as(ctx, im.platform); err != nil {
			return err
		}
		found, err := im.exists(ctx, "SELECT FROM "+table+" WHERE "+column+" = "+im.cur)
		if err != nil {
			return fmt.Errorf("tenantarchive: reading the registry of tenants: %w", err)
		}
		if found {
			return fmt.Errorf("%w: in the registry of tenants %s", ErrTenantExists, table)
		}
	}
	for _, t := range man.Tables {
		r := rels[t.Name]
		if r.Class != rls.ClassTenant {
			continue
		}
		if err := im.as(ctx, im.roleOf(r)); err != nil {
			return err
		}
		found, err := im.exists(ctx, "SELECT FROM "+qualified(r.Schema, r.Name)+" WHERE "+ident(r.TenantColumn)+" = "+im.cur)
		if err != nil {
			return fmt.Errorf("tenantarchive: reading %s: %w", t.Name, err)
		}
		if found {
			return fmt.Errorf("%w: rows of %s", ErrTenantExists, t.Name)
		}
	}
	return nil
}

// stage copies t's file into a temporary table of the administrator's
// session, typed as the target's columns.
func (im *importer) stage(ctx context.Context, dir string, t Table, stage string, types map[string]string) error {
	if err := im.as(ctx, ""); err != nil {
		return err
	}
	defs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		defs[i] = ident(c) + " " + types[c]
	}
	if _, err := im.tx.Exec(ctx, "CREATE TEMPORARY TABLE "+stage+" ("+strings.Join(defs, ", ")+") ON COMMIT DROP"); err != nil {
		return fmt.Errorf("tenantarchive: staging %s: %w", t.Name, err)
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(t.File)))
	if err != nil {
		return fmt.Errorf("tenantarchive: staging %s: %w", t.Name, err)
	}
	defer f.Close()
	tag, err := im.tx.Conn().PgConn().CopyFrom(ctx, bufio.NewReaderSize(f, 1<<20),
		"COPY pg_temp."+stage+" ("+columnList("", t.Columns)+") FROM STDIN WITH (FORMAT csv, HEADER true)")
	if err != nil {
		return fmt.Errorf("tenantarchive: staging %s: %w", t.Name, err)
	}
	if tag.RowsAffected() != t.Rows {
		return fmt.Errorf("%w: %s staged %d rows, the manifest says %d", ErrTampered, t.Name, tag.RowsAffected(), t.Rows)
	}
	if _, err := im.tx.Exec(ctx, "GRANT SELECT ON pg_temp."+stage+" TO "+im.app+", "+im.platform); err != nil {
		return fmt.Errorf("tenantarchive: staging %s: %w", t.Name, err)
	}
	return nil
}

// load writes the staged rows of t into r as r's role.
func (im *importer) load(ctx context.Context, t Table, r rls.Relation, stage string) error {
	target, cols := qualified(r.Schema, r.Name), columnList("", t.Columns)
	from := "pg_temp." + stage
	switch {
	case r.Class == rls.ClassRegistry:
		return im.loadRegistry(ctx, t, r, stage)
	case r.Table.Audit && r.Name == "chain_heads":
		return nil // made by the replay of the events, checked by verify
	case r.Table.Audit && r.Name == "events":
		return im.replay(ctx, t, r, stage)
	}
	if err := im.as(ctx, im.roleOf(r)); err != nil {
		return err
	}
	tag, err := im.tx.Exec(ctx, "INSERT INTO "+target+" ("+cols+") OVERRIDING SYSTEM VALUE SELECT "+cols+" FROM "+from)
	if err != nil {
		return fmt.Errorf("tenantarchive: loading %s: %w", t.Name, err)
	}
	if tag.RowsAffected() != t.Rows {
		return fmt.Errorf("tenantarchive: loading %s: %d rows written, want %d", t.Name, tag.RowsAffected(), t.Rows)
	}
	return nil
}

// loadRegistry imports the tenant's own row of the registry of tenants,
// and requires every other staged row to exist in the target by its
// primary key.
func (im *importer) loadRegistry(ctx context.Context, t Table, r rls.Relation, stage string) error {
	if err := im.as(ctx, im.platform); err != nil {
		return err
	}
	target, from := qualified(r.Schema, r.Name), "pg_temp."+stage
	own := "false"
	if r.Table.ListsTenants != "" {
		own = "s." + ident(r.Table.ListsTenants) + " = " + im.cur
		cols := columnList("", t.Columns)
		if _, err := im.tx.Exec(ctx, "INSERT INTO "+target+" ("+cols+") SELECT "+cols+" FROM "+from+" AS s WHERE "+own); err != nil {
			return fmt.Errorf("tenantarchive: loading the tenant's row of %s: %w", t.Name, err)
		}
	}
	key, err := primaryKey(ctx, im.tx, t.Name)
	if err != nil {
		return err
	}
	if len(key) == 0 {
		key = t.Columns
	}
	var match []string
	for _, k := range key {
		match = append(match, "r."+ident(k)+" IS NOT DISTINCT FROM s."+ident(k))
	}
	var missing int64
	err = im.tx.QueryRow(ctx, "SELECT count(*) FROM "+from+" AS s WHERE NOT ("+own+") AND NOT EXISTS (SELECT FROM "+target+" AS r WHERE "+
		strings.Join(match, " AND ")+")").Scan(&missing)
	if err != nil {
		return fmt.Errorf("tenantarchive: checking %s: %w", t.Name, err)
	}
	if missing > 0 {
		return fmt.Errorf("%w: %d rows of %s that the tenant's rows reference are not in the target (by %s)", ErrRegistryRow, missing, t.Name, strings.Join(key, ", "))
	}
	return nil
}

// replayBatch is how many audit events one round trip replays.
const replayBatch = 500

// replay appends the staged audit events to the tenant's chain in seq
// order, each under a context that declares its own actor and request id
// (system work, which the events' trigger admits for any actor kind), and
// advances the chain's head with each.
func (im *importer) replay(ctx context.Context, t Table, r rls.Relation, stage string) error {
	if err := im.as(ctx, im.platform); err != nil {
		return err
	}
	heads := qualified(r.Schema, "chain_heads")
	events, from, cols := qualified(r.Schema, r.Name), "pg_temp."+stage, columnList("", t.Columns)
	zero := `'\x` + strings.Repeat("00", 32) + `'::bytea`
	if _, err := im.tx.Exec(ctx, "INSERT INTO "+heads+" (tenant_id, seq, hash) VALUES ("+im.cur+", 0, "+zero+")"); err != nil {
		return fmt.Errorf("tenantarchive: starting the audit chain: %w", err)
	}
	subjects := im.m.Principals().SubjectKey
	var last int64
	for {
		type ev struct {
			Seq     int64
			Actor   *string
			Request string
		}
		rows, err := im.tx.Query(ctx, "SELECT seq, actor_id::text, request_id FROM "+from+" WHERE seq > $1 ORDER BY seq LIMIT $2", last, replayBatch)
		if err != nil {
			return fmt.Errorf("tenantarchive: reading the staged audit events: %w", err)
		}
		evs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ev])
		if err != nil {
			return fmt.Errorf("tenantarchive: reading the staged audit events: %w", err)
		}
		if len(evs) == 0 {
			break
		}
		b := &pgx.Batch{}
		for _, e := range evs {
			p := tenancy.Principal{Kind: tenancy.KindSystem, Tenant: im.tenant, RequestID: e.Request}
			if e.Actor != nil {
				if p.Subject, err = subjects.Parse(*e.Actor); err != nil {
					return fmt.Errorf("%w: audit event %d: its actor is not a subject key", ErrChain, e.Seq)
				}
			}
			enc, err := rls.EncodePrincipal(p)
			if err != nil {
				return fmt.Errorf("%w: audit event %d: %w", ErrChain, e.Seq, err)
			}
			b.Queue("SELECT pg_catalog.set_config($1, $2, true)", rls.SettingPrincipal, enc)
			b.Queue("INSERT INTO "+events+" ("+cols+") SELECT "+cols+" FROM "+from+" WHERE seq = $1", e.Seq)
			b.Queue("UPDATE "+heads+" AS h SET seq = e.seq, hash = e.hash FROM "+from+" AS e WHERE e.seq = $1 AND h.tenant_id = "+im.cur, e.Seq)
			last = e.Seq
		}
		if err := im.tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("tenantarchive: replaying audit events up to seq %d: %w", last, err)
		}
	}
	return im.context(ctx, im.principal)
}

// verify checks, before the commit, what the target now holds: the
// manifest's number of the tenant's rows in each tenant relation, and the
// audit chain, verified and at the manifest's head.
func (im *importer) verify(ctx context.Context, man *Manifest, rels map[string]rls.Relation) error {
	for _, t := range man.Tables {
		r := rels[t.Name]
		if r.Class != rls.ClassTenant {
			continue
		}
		if err := im.as(ctx, im.roleOf(r)); err != nil {
			return err
		}
		var n int64
		if err := im.tx.QueryRow(ctx, "SELECT count(*) FROM "+qualified(r.Schema, r.Name)+" WHERE "+ident(r.TenantColumn)+" = "+im.cur).Scan(&n); err != nil {
			return fmt.Errorf("tenantarchive: counting %s: %w", t.Name, err)
		}
		if n != t.Rows {
			return fmt.Errorf("tenantarchive: %s holds %d of the tenant's rows after the import, the manifest %d", t.Name, n, t.Rows)
		}
	}
	if man.AuditHead == nil {
		return nil
	}
	if err := im.as(ctx, im.platform); err != nil {
		return err
	}
	rep, err := audit.Verify(ctx, savepoints{im.tx}, im.tenant)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrChain, err)
	}
	if rep.Head.Seq != man.AuditHead.Seq || hex.EncodeToString(rep.Head.Hash[:]) != man.AuditHead.Hash {
		return fmt.Errorf("%w: the chain ends at seq %d, the manifest's head is seq %d", ErrChain, rep.Head.Seq, man.AuditHead.Seq)
	}
	return im.context(ctx, im.principal)
}

// savepoints lets audit.Verify read the import's own transaction: its
// transactions are savepoints of it.
type savepoints struct{ tx pgx.Tx }

func (s savepoints) BeginTx(ctx context.Context, _ pgx.TxOptions) (pgx.Tx, error) {
	return s.tx.Begin(ctx)
}

var _ audit.Beginner = savepoints{}
