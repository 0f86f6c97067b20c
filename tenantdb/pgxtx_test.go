package tenantdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// enqueue is library code that takes a pgx.Tx, as a job queue's insert
// does: it works in a pseudo-nested transaction and commits it.
func enqueue(ctx context.Context, tx pgx.Tx, name string, fail bool) error {
	sub, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	defer sub.Rollback(ctx) // after Commit: pgx.ErrTxClosed, ignored as libraries do
	if _, err := sub.Exec(ctx, "insert into patients (clinic_id, id, name) values ($1, $2, $3)", clinicA, uuid.New(), name); err != nil {
		return err
	}
	if fail {
		return errors.New("the library gave up")
	}
	return sub.Commit(ctx)
}

// TestPgxTx: the pgx.Tx view of a tenant transaction runs every
// statement through the guard, nests with savepoints, and cannot end the
// tenant transaction or reach its connection.
func TestPgxTx(t *testing.T) {
	db := schema(t)
	pool, rt := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{Guard: refuseDeletes{}})
	ctx := staffCtx(clinicA, staffA)
	admin := db.Conn(t, pgtest.Admin)
	named := func(name string) int {
		t.Helper()
		var n int
		if err := admin.QueryRow(context.Background(), "select count(*) from patients where name = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const read = "select count(*) from patients"
	var kept pgx.Tx
	err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
		v := tx.Pgx()
		kept = v
		var n int
		// RLS scopes the view too: B's 7 patients (proved by schema) unseen.
		if err := v.QueryRow(ctx, read).Scan(&n); err != nil || n != 5 {
			t.Errorf("through the view: %d patients (%v), want A's 5", n, err)
		}
		rows, err := v.Query(ctx, "select name from patients")
		if err != nil {
			return err
		}
		if rows.Conn() != nil {
			t.Error("the view's rows lead to the connection")
		}
		rows.Close()

		// The guard applies to every method, nested or not.
		rt.reset()
		if _, err := v.Exec(ctx, "delete from patients"); !errors.Is(err, errRefused) {
			t.Errorf("Exec of a refused statement = %v", err)
		}
		if _, err := v.Query(ctx, "delete from patients returning id"); !errors.Is(err, errRefused) {
			t.Errorf("Query of a refused statement = %v", err)
		}
		b := &pgx.Batch{}
		b.Queue("delete from patients")
		if err := v.SendBatch(ctx, b).Close(); !errors.Is(err, errRefused) {
			t.Errorf("SendBatch of a refused statement = %v", err)
		}
		for _, sql := range []string{"commit", "rollback", "begin", "end"} {
			if _, err := v.Exec(ctx, sql); !errors.Is(err, tenantdb.ErrTxControl) {
				t.Errorf("Exec(%q) = %v, want ErrTxControl", sql, err)
			}
		}
		// The tenant transaction's own end is refused.
		if err := v.Commit(ctx); !errors.Is(err, tenantdb.ErrTxControl) {
			t.Errorf("Commit of the view = %v, want ErrTxControl", err)
		}
		if err := v.Rollback(ctx); !errors.Is(err, tenantdb.ErrTxControl) {
			t.Errorf("Rollback of the view = %v, want ErrTxControl", err)
		}
		if _, err := v.Prepare(ctx, "select count(*) from patients", "delete from patients"); !errors.Is(err, tenantdb.ErrNotSupported) {
			t.Errorf("Prepare = %v, want ErrNotSupported", err)
		}
		if got := rt.count(); got != 0 {
			t.Errorf("%d round trips for refused calls", got)
		}
		if v.Conn() != nil || v.LargeObjects() != (pgx.LargeObjects{}) {
			t.Error("the view leads to the connection")
		}

		// Nested transactions are savepoints.
		if err := enqueue(ctx, v, "enqueued", false); err != nil {
			return err
		}
		if err := enqueue(ctx, v, "given-up", true); err == nil {
			t.Error("the failing library call succeeded")
		}
		sub, err := v.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := sub.Exec(ctx, "delete from patients where clinic_id = $1", clinicA); !errors.Is(err, errRefused) {
			t.Errorf("a nested view's Exec of a refused statement = %v", err)
		}
		if err := enqueue(ctx, sub, "nested-twice", false); err != nil {
			return err
		}
		if sub.Conn() != nil {
			t.Error("the nested view leads to the connection")
		}
		n2, err := sub.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(patientRows(clinicA, "view-copy", 3)))
		if err != nil || n2 != 3 {
			t.Errorf("nested CopyFrom = %d, %v", n2, err)
		}
		if err := sub.Commit(ctx); err != nil {
			return err
		}
		if _, err := sub.Exec(ctx, read); err == nil {
			t.Error("a committed nested view still runs statements")
		}
		if err := v.QueryRow(ctx, read).Scan(&n); err != nil || n != 5+1+1+3 {
			t.Errorf("after the nested work: %d patients (%v), want 10", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The tenant transaction committed what the savepoints kept, no more.
	for name, want := range map[string]int{"enqueued": 1, "given-up": 0, "nested-twice": 1, "view-copy-1": 1} {
		if got := named(name); got != want {
			t.Errorf("%d rows named %q committed, want %d", got, name, want)
		}
	}
	// After its function returned, the view refuses everything.
	if _, err := kept.Exec(ctx, read); !errors.Is(err, tenantdb.ErrTxDone) {
		t.Errorf("Exec on a finished view = %v, want ErrTxDone", err)
	}
	if _, err := kept.Begin(ctx); !errors.Is(err, tenantdb.ErrTxDone) {
		t.Errorf("Begin on a finished view = %v, want ErrTxDone", err)
	}
	if _, err := kept.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(nil)); !errors.Is(err, tenantdb.ErrTxDone) {
		t.Errorf("CopyFrom on a finished view = %v, want ErrTxDone", err)
	}

	// A library's error rolls the tenant transaction back when fn
	// returns it.
	err = p.Tx(ctx, func(tx *tenantdb.Tx) error {
		if err := enqueue(ctx, tx.Pgx(), "then-failed", false); err != nil {
			return err
		}
		return errors.New("the work failed after the library call")
	})
	if err == nil || named("then-failed") != 0 {
		t.Errorf("Tx = %v, %d rows of its library call committed; want an error and none", err, named("then-failed"))
	}
}
