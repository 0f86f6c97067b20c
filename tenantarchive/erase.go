package tenantarchive

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Retention is the rule by which [Erase] treats the tenant's audit chain.
// It must be declared ([EraseConfig.Retention]): the chain is never
// deleted silently.
type Retention string

// RetainAuditChain keeps the tenant's audit log (its events, chain head
// and impersonation grants) and seals the chain with a last event,
// [ActionErased], whose resource id is the erasure record's digest. It is
// the only rule: the audit log is append-only and belongs to a NOLOGIN
// owner that none of the application's roles can become, so no role the
// SDK runs as can delete it, and a record of who did what must outlive
// the tenant's data (its events hold ids and stated reasons, no tenant
// data).
const RetainAuditChain Retention = "keep-audit-chain"

// Batch sizes of [EraseConfig.BatchSize].
const (
	DefaultBatchSize = 1000
	MaxBatchSize     = 100_000
)

// The audit events [Erase] writes to the tenant's chain.
const (
	// ActionEraseRows is the action of the event that each delete
	// transaction appends, in that transaction: ResourceType
	// [ResourceErasure], ResourceID the relation and the number of rows
	// deleted ("public.patients 1000"). The erasure's totals are the sum
	// of these events, so a run killed mid-way loses no count.
	ActionEraseRows = "tenant.erase.rows"
	// ActionErased is the action of the erasure's last event: ResourceType
	// [ResourceErasure], ResourceID the record's digest ([Erasure.Digest]).
	ActionErased = "tenant.erased"
	// ResourceErasure is the ResourceType of both.
	ResourceErasure = "tenantarchive.erasure"
)

// EraseConfig says how [Erase] erases a tenant.
type EraseConfig struct {
	// Reason says why the tenant is erased, in words an auditor can read
	// (tenantdb.CheckReason, at most audit.MaxReasonLen bytes); it is
	// recorded in the tenant's chain with each run and each batch, and in
	// the record. Required.
	Reason string
	// Retention is the rule for the audit chain: [RetainAuditChain].
	// Required, so that what happens to the chain is a decision.
	Retention Retention
	// BatchSize is how many rows one delete transaction takes at most,
	// 1 to [MaxBatchSize]; zero means [DefaultBatchSize]. Smaller batches
	// hold fewer locks for less time.
	BatchSize int
	// SigningKey, when set, signs the record (Ed25519, the audit
	// package's key files: audit.LoadOrCreateKey).
	SigningKey ed25519.PrivateKey
	// Progress, when set, is called after each delete transaction commits
	// (the last one of a relation with Done set). It runs on Erase's
	// goroutine and must return quickly.
	Progress func(EraseProgress)
}

// EraseProgress reports how far an [Erase] is.
type EraseProgress struct {
	// Table is the relation being erased, "schema.name"; Index its 1-based
	// position among Tables, in deletion order.
	Table         string
	Index, Tables int
	// Deleted is the number of rows this run deleted from Table so far.
	Deleted int64
	// Done says Table holds none of the tenant's rows any more.
	Done bool
}

// erasePlan is one relation to delete from, in order.
type erasePlan struct {
	rel   rls.Relation
	del   string // the batched DELETE
	tree  bool   // its rows reference each other: batches take leaves only
	count string // counts the tenant's rows of rel
}

// Erase deletes every row of tenant from every tenant relation of db's
// isolation model (the one list of tables: nothing else is consulted),
// children before parents in the catalog's foreign-key order, in
// transactions of at most cfg.BatchSize rows each, so other tenants keep
// working; then proves it, and returns the record ([Erasure]).
//
// It runs through db.EraseTenant, an audited entry point (cfg.Reason,
// recorded in the tenant's chain before anything is deleted). Before any
// delete it refuses, with [ErrIncomplete], when rls.CheckExport finds
// tenant data that the model's tenant relations do not hold, and, with
// [ErrUnerasable], a tenant relation it could not empty: one without a
// primary key, in a cycle of foreign keys between relations, on which the
// app role lacks DELETE, or a model without the audit tables. A relation
// with a foreign key to itself (a tree) is emptied leaves first: each
// batch takes rows that no other row of the tenant references; rows that
// reference each other in a cycle stop it with [ErrUnerasable].
// It refuses a zero tenant, a reason without visible text and a missing
// or unknown retention rule ([ErrRetention]) before any network use; a
// tenant that the registry of tenants does not list with [ErrErased] when
// its chain holds an erasure, and [ErrUnknownTenant] otherwise, read in
// db.System work (recorded in the platform's chain) before the tenant's
// own chain is touched: a refused erasure of an erased tenant leaves its
// chain sealed.
//
// Each delete runs as the app role, under the guard and row-level
// security, with the tenant's context: a bug here can delete no other
// tenant's rows. Each commits with an [ActionEraseRows] event in the
// tenant's chain, so a run that is killed loses nothing: running Erase
// again continues (deletes of what is gone are no-ops) and the record
// counts every run's deletes.
//
// The proof: after the last delete, one snapshot counts the tenant's rows
// in every tenant relation of the model; any left (something wrote for
// the tenant meanwhile) fails with [ErrNotErased], and Erase can be run
// again. Then one platform transaction counts what the retention rule
// keeps (the audit log), appends the [ActionErased] event carrying the
// record's digest, and removes the tenant's row of the registry of
// tenants, last. The returned record, signed with cfg.SigningKey when
// set, is for the platform to keep; the chain, which outlives the tenant,
// holds its digest and head ([VerifyErasure]).
//
// Stop the tenant's traffic first (revoke its tokens, stop its jobs): what
// is written for the tenant after the census is not in the proof. It is
// safe for concurrent use, though two erasures of one tenant at once
// only duplicate work.
func Erase(ctx context.Context, db *tenantdb.Pool, tenant tenancy.ID, cfg EraseConfig) (*Erasure, error) {
	if tenant.IsZero() {
		return nil, fmt.Errorf("%w: Erase needs a tenant", tenancy.ErrNoTenant)
	}
	if err := tenantdb.CheckReason(cfg.Reason); err != nil {
		return nil, err
	}
	if len(cfg.Reason) > audit.MaxReasonLen {
		return nil, fmt.Errorf("%w: the reason is longer than %d bytes", audit.ErrInvalidEvent, audit.MaxReasonLen)
	}
	if cfg.Retention != RetainAuditChain {
		return nil, fmt.Errorf("%w: EraseConfig.Retention is %q, want %q", ErrRetention, cfg.Retention, RetainAuditChain)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxBatchSize {
		return nil, fmt.Errorf("tenantarchive: EraseConfig.BatchSize %d is not 1 to %d", cfg.BatchSize, MaxBatchSize)
	}
	m := db.Model()
	if _, ok := auditHeads(m); !ok {
		return nil, fmt.Errorf("%w: the model has no audit tables, in which erase records its progress and its end", ErrUnerasable)
	}
	// Whether the tenant is there to erase, read as recorded platform
	// work: a tenant erased before, or never listed, gets nothing in its
	// own chain, so an erased tenant's chain stays sealed.
	err := db.System(ctx, cfg.Reason, func(tx *tenantdb.SystemTx) error { return registered(ctx, tx, m, tenant) })
	if err != nil {
		return nil, err
	}
	var rec *Erasure
	err = db.EraseTenant(ctx, tenant, cfg.Reason, func(ctx context.Context, e *tenantdb.TenantEraser) error {
		plans, err := planErase(ctx, e, m, cfg.BatchSize)
		if err != nil {
			return err
		}
		for i, p := range plans {
			if err := eraseRelation(ctx, e, p, cfg, i+1, len(plans)); err != nil {
				return err
			}
		}
		if err := census(ctx, e, m); err != nil {
			return err
		}
		rec, err = seal(ctx, e, m, cfg)
		return err
	})
	if err != nil {
		return nil, err
	}
	rec.sign(cfg.SigningKey)
	return rec, nil
}

// eraser's system transaction as a querier of the catalog.
type sysQuerier struct{ tx *tenantdb.SystemTx }

func (q sysQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return q.tx.Query(ctx, sql, args...)
}

// planErase checks that erase can reach all of the tenant's data and
// returns the relations to delete from, children first.
func planErase(ctx context.Context, e *tenantdb.TenantEraser, m *rls.Model, batch int) ([]erasePlan, error) {
	var plans []erasePlan
	err := e.System(ctx, func(ctx context.Context, tx *tenantdb.SystemTx) error {
		q := sysQuerier{tx}
		findings, err := rls.CheckExport(ctx, q, m)
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
		if err := registered(ctx, tx, m, e.Tenant()); err != nil {
			return err
		}
		var names []string
		rels := map[string]rls.Relation{}
		for _, r := range m.TenantRelations() {
			if !r.Table.Audit {
				names = append(names, r.Qualified())
				rels[r.Qualified()] = r
			}
		}
		fks, err := foreignKeys(ctx, q, names)
		if err != nil {
			return err
		}
		self := map[string][]foreignKey{} // keys of a relation to itself: rows that reference rows of the same table
		for _, fk := range fks {
			if fk.From == fk.To {
				self[fk.From] = append(self[fk.From], fk)
			}
		}
		order, err := loadOrder(names, fks)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUnerasable, err)
		}
		slices.Reverse(order) // children first
		cur := helperCall(m)
		app := m.Config().AppRole
		for _, name := range order {
			r := rels[name]
			var canDelete bool
			if err := tx.QueryRow(ctx, "SELECT pg_catalog.has_table_privilege($1, pg_catalog.to_regclass($2), 'DELETE')",
				app, qualified(r.Schema, r.Name)).Scan(&canDelete); err != nil {
				return fmt.Errorf("tenantarchive: reading the privileges on %s: %w", name, err)
			}
			if !canDelete {
				return fmt.Errorf("%w: the app role may not DELETE from %s", ErrUnerasable, name)
			}
			key, err := primaryKey(ctx, q, name)
			if err != nil {
				return err
			}
			if len(key) == 0 {
				return fmt.Errorf("%w: %s has no primary key to delete by", ErrUnerasable, name)
			}
			tbl, tc := qualified(r.Schema, r.Name), ident(r.TenantColumn)
			// In a table whose rows reference each other (a tree), a batch
			// takes only rows that no other row of the tenant references:
			// the leaves, then their parents, down to the roots.
			leaves := ""
			for _, fk := range self[name] {
				leaves += fmt.Sprintf(" AND NOT EXISTS (SELECT FROM %s AS c WHERE c.%s = %s AND (%s) = (%s) AND (%s) <> (%s))",
					tbl, tc, cur, columnList("c", fk.FromCols), columnList("s", fk.ToCols), columnList("c", key), columnList("s", key))
			}
			del := fmt.Sprintf("DELETE FROM %s AS t WHERE t.%s = %s AND (%s) IN (SELECT %s FROM %s AS s WHERE s.%s = %s%s LIMIT %d)",
				tbl, tc, cur, columnList("t", key), columnList("s", key), tbl, tc, cur, leaves, batch)
			plans = append(plans, erasePlan{rel: r, del: del, tree: len(self[name]) > 0, count: countSQL(m, r)})
		}
		return nil
	})
	return plans, err
}

// registered checks that the registry of tenants lists tenant, when the
// model has one: if not, the tenant was erased before ([ErrErased]) or
// never existed ([ErrUnknownTenant]).
func registered(ctx context.Context, tx *tenantdb.SystemTx, m *rls.Model, tenant tenancy.ID) error {
	table, column, ok := m.TenantList()
	if !ok {
		return nil
	}
	var listed, erased bool
	// By the key's text: this runs in System work too, which has no tenant
	// context, and the key types' text forms are canonical.
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM "+table+" WHERE "+column+"::text = $1)", tenant.String()).Scan(&listed); err != nil {
		return fmt.Errorf("tenantarchive: reading the registry of tenants: %w", err)
	}
	if listed {
		return nil
	}
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM audit.events WHERE tenant_id = $1 AND action = $2)", tenant, ActionErased).Scan(&erased); err != nil {
		return fmt.Errorf("tenantarchive: reading the audit chain: %w", err)
	}
	if erased {
		return ErrErased
	}
	return fmt.Errorf("%w: %s does not list it", ErrUnknownTenant, table)
}

// eraseRelation deletes the tenant's rows of p in batches, each batch a
// transaction of the app role that records its count in the chain.
func eraseRelation(ctx context.Context, e *tenantdb.TenantEraser, p erasePlan, cfg EraseConfig, index, total int) error {
	prog := EraseProgress{Table: p.rel.Qualified(), Index: index, Tables: total}
	for {
		var n int64
		err := e.Tx(ctx, func(ctx context.Context, tx *tenantdb.Tx) error {
			tag, err := tx.Exec(ctx, p.del)
			if err != nil {
				return fmt.Errorf("tenantarchive: erasing %s: %w", prog.Table, err)
			}
			if n = tag.RowsAffected(); n == 0 {
				return nil
			}
			_, err = audit.Record(ctx, tx, audit.Event{Action: ActionEraseRows, ResourceType: ResourceErasure,
				ResourceID: prog.Table + " " + strconv.FormatInt(n, 10), Outcome: audit.Success, Reason: cfg.Reason})
			if err != nil {
				return fmt.Errorf("tenantarchive: recording the erasure of %s: %w", prog.Table, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		prog.Deleted += n
		// A tree's batch may be short while rows are left (only leaves
		// qualify): it is done when a batch finds none.
		if n < int64(cfg.BatchSize) && (!p.tree || n == 0) {
			prog.Done = true
		}
		if cfg.Progress != nil {
			cfg.Progress(prog)
		}
		if prog.Done && p.tree {
			return treeLeft(ctx, e, p)
		}
		if prog.Done {
			return nil
		}
	}
}

// treeLeft fails with ErrUnerasable when rows of the tree p are left
// that no batch could take: rows that reference each other in a cycle.
func treeLeft(ctx context.Context, e *tenantdb.TenantEraser, p erasePlan) error {
	var n int64
	err := e.Read(ctx, func(ctx context.Context, tx *tenantdb.Tx) error {
		return tx.QueryRow(ctx, p.count).Scan(&n)
	})
	if err != nil {
		return fmt.Errorf("tenantarchive: counting %s: %w", p.rel.Qualified(), err)
	}
	if n > 0 {
		return fmt.Errorf("%w: %d rows of %s reference each other in a cycle, which no batch can delete", ErrUnerasable, n, p.rel.Qualified())
	}
	return nil
}

// census counts, in one snapshot as the app role, the tenant's rows in
// every tenant relation that the erasure empties, and fails with
// ErrNotErased when any is left.
func census(ctx context.Context, e *tenantdb.TenantEraser, m *rls.Model) error {
	var left []string
	err := e.Read(ctx, func(ctx context.Context, tx *tenantdb.Tx) error {
		left = left[:0]
		for _, r := range m.TenantRelations() {
			if r.Table.Audit {
				continue
			}
			var n int64
			if err := tx.QueryRow(ctx, countSQL(m, r)).Scan(&n); err != nil {
				return fmt.Errorf("tenantarchive: counting %s: %w", r.Qualified(), err)
			}
			if n != 0 {
				left = append(left, fmt.Sprintf("%s %d", r.Qualified(), n))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("%w: rows left: %s", ErrNotErased, strings.Join(left, ", "))
	}
	return nil
}

func countSQL(m *rls.Model, r rls.Relation) string {
	return "SELECT count(*) FROM " + qualified(r.Schema, r.Name) + " AS t WHERE t." + ident(r.TenantColumn) + " = " + helperCall(m)
}

// seal writes the record: in one platform transaction, the deletes that
// every run recorded, the rows the retention rule keeps, the erasure's
// event (its digest) and the removal of the tenant's registry row.
func seal(ctx context.Context, e *tenantdb.TenantEraser, m *rls.Model, cfg EraseConfig) (*Erasure, error) {
	rec := &Erasure{Format: ErasureFormat, Version: ErasureVersion, Tenant: e.Tenant().String(), KeyType: m.TenantKey().String(),
		Reason: cfg.Reason, Retention: cfg.Retention, BatchSize: cfg.BatchSize, Checked: true}
	err := e.System(ctx, func(ctx context.Context, tx *tenantdb.SystemTx) error {
		if err := tx.QueryRow(ctx, "SELECT pg_catalog.transaction_timestamp()").Scan(&rec.ErasedAt); err != nil {
			return fmt.Errorf("tenantarchive: %w", err)
		}
		rec.ErasedAt = rec.ErasedAt.UTC().Truncate(time.Microsecond)
		deleted, err := deletedRows(ctx, tx, e.Tenant())
		if err != nil {
			return err
		}
		rec.Relations = rec.Relations[:0]
		for _, r := range m.TenantRelations() {
			er := ErasedRelation{Name: r.Qualified(), Class: ClassErased, Deleted: deleted[r.Qualified()]}
			if r.Table.Audit {
				er.Class = ClassKept
				if err := tx.QueryRow(ctx, countSQL(m, r)).Scan(&er.Remaining); err != nil {
					return fmt.Errorf("tenantarchive: counting %s: %w", r.Qualified(), err)
				}
			}
			rec.Relations = append(rec.Relations, er)
		}
		table, column, hasList := m.TenantList()
		if hasList {
			for _, r := range m.Relations() {
				if r.Table.ListsTenants != "" {
					rec.Registry = r.Qualified()
				}
			}
		}
		rec.Digest = rec.digest()
		ev, err := audit.Record(ctx, tx, audit.Event{Action: ActionErased, ResourceType: ResourceErasure, ResourceID: rec.Digest,
			Outcome: audit.Success, Reason: cfg.Reason})
		if err != nil {
			return fmt.Errorf("tenantarchive: recording the erasure: %w", err)
		}
		rec.AuditHead = &Head{Seq: ev.Seq, Hash: ev.Hash.String()}
		if hasList {
			tag, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE "+column+" = "+helperCall(m))
			if err != nil {
				return fmt.Errorf("tenantarchive: removing the tenant from the registry of tenants: %w", err)
			}
			if tag.RowsAffected() != 1 {
				return fmt.Errorf("%w: the registry of tenants lost the tenant's row during the erasure", ErrUnknownTenant)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// deletedRows sums the ActionEraseRows events of tenant's chain, per
// relation.
func deletedRows(ctx context.Context, tx *tenantdb.SystemTx, tenant tenancy.ID) (map[string]int64, error) {
	rows, err := tx.Query(ctx, "SELECT resource_id FROM audit.events WHERE tenant_id = $1 AND action = $2 AND resource_type = $3",
		tenant, ActionEraseRows, ResourceErasure)
	if err != nil {
		return nil, fmt.Errorf("tenantarchive: reading the erasure's progress: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("tenantarchive: reading the erasure's progress: %w", err)
	}
	out := map[string]int64{}
	for _, id := range ids {
		i := strings.LastIndexByte(id, ' ')
		n, err := strconv.ParseInt(id[i+1:], 10, 64)
		if i < 0 || err != nil || n < 0 {
			return nil, fmt.Errorf("tenantarchive: reading the erasure's progress: a malformed %s event", ActionEraseRows)
		}
		out[id[:i]] += n
	}
	return out, nil
}

// VerifyErasure checks rec against the tenant's audit chain in db (the
// platform role's pool, which reads every chain): the chain verifies
// (audit.Verify), its head is still rec's audit head, so nothing was
// written for the tenant since it was erased, and the event at that head
// is the erasure's, carrying rec's digest. It returns an error wrapping
// [ErrChain] otherwise. It does not check rec's signature
// ([Erasure.Verify]); parse rec with [ParseErasure] first.
func VerifyErasure(ctx context.Context, db audit.Beginner, rec *Erasure) error {
	kt, err := tenancy.ParseKeyType(rec.KeyType)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrErasure, err)
	}
	tenant, err := kt.Parse(rec.Tenant)
	if err != nil {
		return fmt.Errorf("%w: the tenant is not a key of its type", ErrErasure)
	}
	if rec.AuditHead == nil {
		return fmt.Errorf("%w: the record has no audit head", ErrChain)
	}
	rep, err := audit.Verify(ctx, db, tenant)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrChain, err)
	}
	if rep.Head.Seq != rec.AuditHead.Seq || rep.Head.Hash.String() != rec.AuditHead.Hash {
		return fmt.Errorf("%w: the chain's head is seq %d, the erasure's seq %d: the chain moved after the erasure", ErrChain, rep.Head.Seq, rec.AuditHead.Seq)
	}
	var evs []audit.Event
	err = pgx.BeginTxFunc(ctx, db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		p, err := rls.EncodePrincipal(tenancy.Principal{Kind: tenancy.KindSystem})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_catalog.set_config($1, $2, true)", rls.SettingPrincipal, p); err != nil {
			return err
		}
		evs, err = audit.List(ctx, tx, tenant, rec.AuditHead.Seq-1, 1)
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrChain, err)
	}
	if len(evs) != 1 || evs[0].Action != ActionErased || evs[0].ResourceType != ResourceErasure || evs[0].ResourceID != rec.Digest {
		return fmt.Errorf("%w: the chain's head is not the erasure's event with the record's digest", ErrChain)
	}
	return nil
}
