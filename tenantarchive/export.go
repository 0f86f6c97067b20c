package tenantarchive

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// ExportConfig says how [Export] writes an archive.
type ExportConfig struct {
	// Reason says why the tenant is exported, in words an auditor can read
	// (tenantdb.CheckReason); it is recorded in the tenant's audit chain.
	// Required.
	Reason string
	// SchemaVersion is the version of the schema the rows come from (for
	// goose apps, the latest applied version), written to the manifest;
	// [Import] compares it with the target's when given one. Optional.
	SchemaVersion string
	// SigningKey, when set, signs the manifest (Ed25519, the audit
	// package's key files: audit.LoadOrCreateKey), so that an import with
	// the public key refuses an archive rewritten with recomputed digests.
	SigningKey ed25519.PrivateKey
	// Progress, when set, is called as each table is written: every few
	// MiB and once at its end (Progress.Done). It runs on Export's
	// goroutine and must return quickly.
	Progress func(Progress)
}

// Progress reports how far an [Export] or [Import] is.
type Progress struct {
	// Table is the relation being written, "schema.name"; Index its
	// 1-based position among Tables.
	Table         string
	Index, Tables int
	// Rows and Bytes are the table's rows and bytes so far. While an
	// export's table is streaming, only Bytes moves; Rows is exact when
	// Done.
	Rows, Bytes int64
	// Done says the table is complete.
	Done bool
}

// progressEvery is how many bytes of a table pass between two Progress
// calls.
const progressEvery = 4 << 20

// Export writes tenant's archive into dir, which must not exist or be
// empty, from one consistent snapshot, through db.ReadTenant: an audited
// entry point (cfg.Reason, recorded once in the tenant's chain before
// anything is read) whose reads of tenant relations run as the app role
// under the guard and row-level security, and whose reads of the audit
// log run as the platform role in the same snapshot.
//
// The archive holds one CSV file (with a header line) for every tenant
// relation of db's model, with the tenant's rows, and for every registry
// that a tenant relation references by a foreign key (and the registry of
// tenants, rls.Table.ListsTenants), with the rows referenced; and
// manifest.json ([Manifest]). Rows stream from the server to the files
// (COPY ... TO STDOUT), so memory does not grow with the tenant's size.
//
// Export refuses, before reading any row, with [ErrIncomplete] when
// rls.CheckExport finds tenant data outside the model's tenant relations
// or a tenant relation references a relation that is neither a tenant
// relation nor a registry, and with [ErrExists] when dir holds anything.
// It fails as tenantdb.Pool.ReadTenant does (a reason, a system pool and
// a recorder are required). On any failure it removes what it wrote. It
// is safe for concurrent use.
func Export(ctx context.Context, db *tenantdb.Pool, tenant tenancy.ID, dir string, cfg ExportConfig) (*Manifest, error) {
	if err := tenantdb.CheckReason(cfg.Reason); err != nil {
		return nil, err
	}
	created, err := emptyDir(dir)
	if err != nil {
		return nil, err
	}
	m := db.Model()
	man := &Manifest{Format: Format, Version: Version, Tenant: tenant.String(), KeyType: m.TenantKey().String(),
		SchemaVersion: cfg.SchemaVersion}
	err = db.ReadTenant(ctx, tenant, cfg.Reason, func(ctx context.Context, r *tenantdb.TenantReader) error {
		return export(ctx, r, m, dir, man, cfg)
	})
	if err == nil {
		man.Seal(cfg.SigningKey)
		err = writeManifest(dir, man)
	}
	if err != nil {
		cleanup(dir, created)
		return nil, err
	}
	return man, nil
}

// systemQuerier is the reader's system transaction as a querier.
type systemQuerier struct{ r *tenantdb.TenantReader }

func (q systemQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return q.r.SystemQuery(ctx, sql, args...)
}

// plan is one table file to write: its relation, columns and query.
type plan struct {
	rel    rls.Relation
	class  string
	cols   []string
	query  string
	system bool // read by the platform role (the audit log)
}

func export(ctx context.Context, r *tenantdb.TenantReader, m *rls.Model, dir string, man *Manifest, cfg ExportConfig) error {
	sys := systemQuerier{r}
	findings, err := rls.CheckExport(ctx, sys, m)
	if err != nil {
		return err
	}
	if len(findings) > 0 {
		var objs []string
		for _, f := range findings {
			objs = append(objs, string(f.Code)+" "+f.Object)
		}
		return fmt.Errorf("%w: %s", ErrIncomplete, strings.Join(objs, "; "))
	}
	rows, err := r.SystemQuery(ctx, "SELECT pg_catalog.transaction_timestamp()")
	if err != nil {
		return fmt.Errorf("tenantarchive: %w", err)
	}
	now, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[time.Time])
	if err != nil {
		return fmt.Errorf("tenantarchive: %w", err)
	}
	man.ExportedAt = now.UTC().Truncate(time.Microsecond)
	plans, err := planExport(ctx, sys, m)
	if err != nil {
		return err
	}
	if head, ok := auditHeads(m); ok {
		h := Head{Hash: strings.Repeat("00", 32)}
		var hash []byte
		rows, err := r.SystemQuery(ctx, "SELECT seq, hash FROM "+head+" WHERE tenant_id = "+helperCall(m))
		if err != nil {
			return fmt.Errorf("tenantarchive: reading the audit head: %w", err)
		}
		_, err = pgx.ForEachRow(rows, []any{&h.Seq, &hash}, func() error { h.Hash = hex.EncodeToString(hash); return nil })
		if err != nil {
			return fmt.Errorf("tenantarchive: reading the audit head: %w", err)
		}
		man.AuditHead = &h
	}
	if err := os.Mkdir(filepath.Join(dir, DataDir), 0o700); err != nil {
		return fmt.Errorf("tenantarchive: %w", err)
	}
	for i, p := range plans {
		t := Table{Name: p.rel.Qualified(), Class: p.class, File: fmt.Sprintf("%s/%04d.csv", DataDir, i+1), Columns: p.cols}
		prog := Progress{Table: t.Name, Index: i + 1, Tables: len(plans)}
		if err := writeTable(ctx, r, dir, &t, p, prog, cfg.Progress); err != nil {
			return err
		}
		man.Tables = append(man.Tables, t)
	}
	return nil
}

// auditHeads returns the quoted name of the audit log's chain heads, when
// the model has the audit tables.
func auditHeads(m *rls.Model) (string, bool) {
	for _, r := range m.TenantRelations() {
		if r.Table.Audit && r.Name == "chain_heads" {
			return qualified(r.Schema, r.Name), true
		}
	}
	return "", false
}

// planExport lists the files to write: the registries the tenant's rows
// reference, then every tenant relation, each sorted by name.
func planExport(ctx context.Context, q querier, m *rls.Model) ([]plan, error) {
	tenants := m.TenantRelations()
	var names []string
	for _, t := range tenants {
		names = append(names, t.Qualified())
	}
	fks, err := foreignKeys(ctx, q, names)
	if err != nil {
		return nil, err
	}
	cur := helperCall(m)
	// The registries referenced, and by which keys.
	refs := map[string][]string{} // registry -> conditions
	for _, t := range m.Relations() {
		if t.Table.ListsTenants != "" {
			refs[t.Qualified()] = append(refs[t.Qualified()], "r."+ident(t.Table.ListsTenants)+" = "+cur)
		}
	}
	for _, fk := range fks {
		s, n := splitName(fk.To)
		to := m.Relation(s, n)
		switch to.Class {
		case rls.ClassTenant:
			continue // in the archive already
		case rls.ClassRegistry:
		default:
			return nil, fmt.Errorf("%w: foreign key %s of %s references %s, which the model classifies as %s, not a registry",
				ErrIncomplete, fk.Name, fk.From, fk.To, to.Class)
		}
		fs, fn := splitName(fk.From)
		from := m.Relation(fs, fn)
		cond := fmt.Sprintf("(%s) IN (SELECT %s FROM %s AS t WHERE t.%s = %s)",
			columnList("r", fk.ToCols), columnList("t", fk.FromCols), qualified(fs, fn), ident(from.TenantColumn), cur)
		if !slices.Contains(refs[fk.To], cond) {
			refs[fk.To] = append(refs[fk.To], cond)
		}
	}
	var regs []string
	for reg := range refs {
		regs = append(regs, reg)
	}
	slices.Sort(regs)
	all := append(slices.Clone(regs), names...)
	cols, err := columnsOf(ctx, q, all)
	if err != nil {
		return nil, err
	}
	var plans []plan
	for _, reg := range regs {
		s, n := splitName(reg)
		c := cols[reg]
		if len(c) == 0 {
			return nil, fmt.Errorf("%w: registry %s is not in the catalog", ErrIncomplete, reg)
		}
		q := fmt.Sprintf("SELECT %s FROM %s AS r WHERE %s", columnList("r", c), qualified(s, n), strings.Join(refs[reg], " OR "))
		plans = append(plans, plan{rel: m.Relation(s, n), class: ClassRegistry, cols: c, query: q})
	}
	for _, t := range tenants {
		c := cols[t.Qualified()]
		if len(c) == 0 {
			return nil, fmt.Errorf("%w: tenant relation %s is not in the catalog", ErrIncomplete, t.Qualified())
		}
		q := fmt.Sprintf("SELECT %s FROM %s AS t WHERE t.%s = %s", columnList("t", c), qualified(t.Schema, t.Name), ident(t.TenantColumn), cur)
		plans = append(plans, plan{rel: t, class: ClassTenant, cols: c, query: q, system: t.Table.Audit})
	}
	return plans, nil
}

// writeTable streams p's rows into t.File and fills in t's counts and
// digest.
func writeTable(ctx context.Context, r *tenantdb.TenantReader, dir string, t *Table, p plan, prog Progress, report func(Progress)) error {
	f, err := os.OpenFile(filepath.Join(dir, t.File), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("tenantarchive: %w", err)
	}
	defer f.Close()
	buf := bufio.NewWriterSize(f, 1<<20)
	w := &digestWriter{w: buf, h: sha256.New(), prog: prog, report: report}
	var n int64
	if p.system {
		n, err = r.SystemCopy(ctx, w, p.query)
	} else {
		n, err = r.Copy(ctx, w, p.query)
	}
	if err != nil {
		return fmt.Errorf("tenantarchive: exporting %s: %w", t.Name, err)
	}
	if w.err != nil {
		return fmt.Errorf("tenantarchive: writing %s: %w", t.Name, w.err)
	}
	if err := buf.Flush(); err != nil {
		return fmt.Errorf("tenantarchive: writing %s: %w", t.Name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("tenantarchive: writing %s: %w", t.Name, err)
	}
	t.Rows, t.Bytes, t.SHA256 = n, w.n, hex.EncodeToString(w.h.Sum(nil))
	if report != nil {
		prog.Rows, prog.Bytes, prog.Done = n, w.n, true
		report(prog)
	}
	return f.Close()
}

// digestWriter writes to w, hashes, counts, and reports progress.
type digestWriter struct {
	w      io.Writer
	h      hash.Hash
	n      int64
	next   int64
	err    error
	prog   Progress
	report func(Progress)
}

func (d *digestWriter) Write(b []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.w.Write(b)
	d.h.Write(b[:n])
	d.n += int64(n)
	if err != nil {
		d.err = err
		return n, err
	}
	if d.report != nil && d.n >= d.next {
		d.next = d.n + progressEvery
		p := d.prog
		p.Bytes = d.n
		d.report(p)
	}
	return n, nil
}

// emptyDir makes dir (0700) or checks that it is empty; created says
// whether it made it.
func emptyDir(dir string) (created bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.Mkdir(dir, 0o700); err != nil {
			return false, fmt.Errorf("tenantarchive: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("tenantarchive: %w", err)
	case len(entries) > 0:
		return false, ErrExists
	}
	return false, nil
}

// cleanup removes what Export wrote into dir.
func cleanup(dir string, created bool) {
	if created {
		_ = os.RemoveAll(dir)
		return
	}
	_ = os.RemoveAll(filepath.Join(dir, DataDir))
	_ = os.Remove(filepath.Join(dir, ManifestFile))
	_ = os.Remove(filepath.Join(dir, ManifestFile+".tmp"))
}

// writeManifest writes the manifest last, through a synced temporary file
// renamed into place: an archive with a manifest is complete.
func writeManifest(dir string, man *Manifest) error {
	b, err := man.Marshal()
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("tenantarchive: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("tenantarchive: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("tenantarchive: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tenantarchive: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestFile)); err != nil {
		return fmt.Errorf("tenantarchive: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
