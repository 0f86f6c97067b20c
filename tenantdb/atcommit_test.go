package tenantdb_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// refuseDeletes refuses every statement that starts with "delete".
type refuseDeletes struct{}

func (refuseDeletes) Check(sql string, _ []any, _ tenancy.ID) error {
	if len(sql) >= 6 && sql[:6] == "delete" {
		return errRefused
	}
	return nil
}

// TestQueueAtCommit: statements queued for COMMIT are checked at once,
// run with COMMIT in its round trip, and take the work down with them
// when they fail.
func TestQueueAtCommit(t *testing.T) {
	db := schema(t)
	pool, rt := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{Guard: refuseDeletes{}})
	ctx := staffCtx(clinicA, staffA)
	admin := db.Conn(t, pgtest.Admin)
	count := func(name string) int {
		t.Helper()
		var n int
		if err := admin.QueryRow(context.Background(), "select count(*) from patients where name = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	insert := "insert into patients (clinic_id, id, name) values ($1, gen_random_uuid(), $2)"

	// Warm the statement cache, so that round trips count executions only.
	for range 2 {
		if err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
			if _, err := tx.Exec(ctx, insert, clinicA, "warm"); err != nil {
				return err
			}
			return tx.QueueAtCommit(insert, clinicA, "warm")
		}); err != nil {
			t.Fatal(err)
		}
	}

	var tripsBare, tripsQueued int
	rt.reset()
	if err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
		_, err := tx.Exec(ctx, insert, clinicA, "bare")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	tripsBare = rt.count()
	rt.reset()
	err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
		if _, err := tx.Exec(ctx, insert, clinicA, "first"); err != nil {
			return err
		}
		if err := tx.QueueAtCommit("delete from patients"); !errors.Is(err, errRefused) {
			t.Errorf("QueueAtCommit of a refused statement = %v, want the refusal", err)
		}
		for _, name := range []string{"queued-1", "queued-2"} {
			if err := tx.QueueAtCommit(insert, clinicA, name); err != nil {
				return err
			}
		}
		if n := count("queued-1"); n != 0 {
			t.Errorf("a queued statement ran before the commit")
		}
		// The refusal left the transaction usable.
		_, err := tx.Exec(ctx, insert, clinicA, "second")
		return err
	})
	tripsQueued = rt.count()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"first", "second", "queued-1", "queued-2"} {
		if n := count(name); n != 1 {
			t.Errorf("%d patients named %q after the commit, want 1", n, name)
		}
	}
	if tripsQueued != tripsBare+1 {
		t.Errorf("%d round trips with two queued statements and two others, want %d (the bare work's %d and the second statement's)", tripsQueued, tripsBare+1, tripsBare)
	}

	// A queued statement that fails rolls the work back.
	err = p.Tx(ctx, func(tx *tenantdb.Tx) error {
		if _, err := tx.Exec(ctx, insert, clinicA, "doomed"); err != nil {
			return err
		}
		return tx.QueueAtCommit("insert into patients (clinic_id, id, name) values ($1, null, 'x')", clinicA)
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23502" {
		t.Errorf("Tx whose queued statement fails = %v, want not_null_violation", err)
	}
	if n := count("doomed"); n != 0 {
		t.Errorf("%d rows kept from work whose queued statement failed", n)
	}

	// Work that fails runs nothing queued; a Tx kept past its function
	// queues nothing.
	boom := errors.New("boom")
	var kept *tenantdb.Tx
	err = p.Tx(ctx, func(tx *tenantdb.Tx) error {
		kept = tx
		if err := tx.QueueAtCommit(insert, clinicA, "after-failure"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count("after-failure") != 0 {
		t.Errorf("failed work = %v with %d queued rows written, want boom and none", err, count("after-failure"))
	}
	if err := kept.QueueAtCommit(insert, clinicA, "late"); !errors.Is(err, tenantdb.ErrTxDone) {
		t.Errorf("QueueAtCommit on a finished Tx = %v, want ErrTxDone", err)
	}

	// The pool's connection is idle and usable after a queued commit.
	if err := p.QueryRow(ctx, "select count(*) from patients").Scan(new(int)); err != nil {
		t.Errorf("a statement after the queued commits: %v", err)
	}
}

// TestQueueAtCommitFreezesArgs: what COMMIT sends is what the guard judged
// when the statement was queued, whatever the caller changes afterwards;
// an argument that could still change is refused; work whose transaction
// a failed statement aborted answers ErrCommitRollback.
func TestQueueAtCommitFreezesArgs(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	ctx := staffCtx(clinicA, staffA)
	admin := db.Conn(t, pgtest.Admin)
	insert := "insert into patients (clinic_id, id, name) values ($1, gen_random_uuid(), $2)"
	err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
		args := []any{clinicA, ""}
		for _, name := range []string{"alias-1", "alias-2", "alias-3"} {
			args[1] = name // one slice, reused
			if err := tx.QueueAtCommit(insert, args...); err != nil {
				return err
			}
		}
		name := "pointed-1"
		if err := tx.QueueAtCommit(insert, clinicA, &name); err != nil {
			return err
		}
		name = "pointed-2"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := admin.Query(context.Background(), "select name from patients where name like 'alias-%' or name like 'pointed-%' order by name")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alias-1", "alias-2", "alias-3", "pointed-1"}; !slices.Equal(got, want) {
		t.Errorf("committed %v, want %v: what was queued", got, want)
	}
	_ = p.Tx(ctx, func(tx *tenantdb.Tx) error {
		if err := tx.QueueAtCommit(insert, clinicA, map[string]int{"a": 1}); !errors.Is(err, tenantdb.ErrUnsupportedArg) {
			t.Errorf("QueueAtCommit with a map argument: %v, want ErrUnsupportedArg", err)
		}
		return nil
	})

	err = p.Tx(ctx, func(tx *tenantdb.Tx) error {
		if _, err := tx.Exec(ctx, "insert into patients (clinic_id, id, name) values ($1, null, 'x')", clinicA); err == nil {
			t.Error("inserting a null id succeeded")
		}
		return tx.QueueAtCommit(insert, clinicA, "after-a-failure") // the failure is ignored
	})
	if !errors.Is(err, tenantdb.ErrCommitRollback) {
		t.Errorf("queued work after a failed statement: %v, want ErrCommitRollback", err)
	}
}

// TestQueueAtCommitAndSavepoints: a savepoint rolled back takes what was
// queued inside it (a nested PgxTx), and a ROLLBACK TO SAVEPOINT sent as
// SQL after statements were queued is refused, unsent, so that no queued
// statement commits while the work around it was undone.
func TestQueueAtCommitAndSavepoints(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	ctx := staffCtx(clinicA, staffA)
	admin := db.Conn(t, pgtest.Admin)
	insert := "insert into patients (clinic_id, id, name) values ($1, gen_random_uuid(), $2)"
	count := func(name string) int {
		t.Helper()
		var n int
		if err := admin.QueryRow(context.Background(), "select count(*) from patients where name = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
		if err := tx.QueueAtCommit(insert, clinicA, "before"); err != nil {
			return err
		}
		undone, err := tx.Pgx().Begin(ctx)
		if err != nil {
			return err
		}
		if err := tx.QueueAtCommit(insert, clinicA, "in-undone"); err != nil {
			return err
		}
		if err := undone.Rollback(ctx); err != nil {
			return err
		}
		kept, err := tx.Pgx().Begin(ctx)
		if err != nil {
			return err
		}
		if err := tx.QueueAtCommit(insert, clinicA, "in-kept"); err != nil {
			return err
		}
		if err := kept.Commit(ctx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "savepoint s"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, insert, clinicA, "raw-undone"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "rollback to savepoint s"); !errors.Is(err, tenantdb.ErrTxControl) {
			t.Errorf("ROLLBACK TO SAVEPOINT after queueing: %v, want ErrTxControl", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"before": 1, "in-undone": 0, "in-kept": 1, "raw-undone": 1} {
		if got := count(name); got != want {
			t.Errorf("%d patients named %q, want %d", got, name, want)
		}
	}
	// Without anything queued, a rollback to a savepoint is the
	// application's to send.
	err = p.Tx(ctx, func(tx *tenantdb.Tx) error {
		if _, err := tx.Exec(ctx, "savepoint s"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "rollback to savepoint s")
		return err
	})
	if err != nil {
		t.Errorf("a rollback to a savepoint with nothing queued: %v", err)
	}
}
