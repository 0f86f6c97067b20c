package pglocal_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

// TestRestart restarts a cluster as pg_ctl restart -m fast would: an open
// transaction is rolled back and its connection ended (57P01), committed
// data stays, the server comes back on the same port under a new process,
// and Stop still stops it.
func TestRestart(t *testing.T) {
	requireBinaries(t)
	c := start(t, pglocal.Config{})
	cs := c.SuperuserConnString("postgres")
	exec1(t, cs, "create table kept (v int); insert into kept values (1)")
	ctx := context.Background()
	open, err := pgx.Connect(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close(ctx)
	tx, err := open.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "insert into kept values (2)"); err != nil {
		t.Fatal(err)
	}
	port, pid, done := c.Port(), c.PID(), c.Done()

	if err := c.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	select {
	case <-done:
	default:
		t.Error("the first server process's Done channel is still open")
	}
	if c.PID() == pid || c.Port() != port {
		t.Errorf("after Restart: pid %d (was %d), port %d (was %d); want a new process on the same port", c.PID(), pid, c.Port(), port)
	}
	err = tx.Commit(ctx)
	var pgErr *pgconn.PgError
	if err == nil || errors.As(err, &pgErr) && pgErr.Code != "57P01" {
		t.Errorf("commit across the restart: %v; want the connection ended", err)
	}
	if got := query(t, cs, "select string_agg(v::text, ',' order by v) from kept"); got != "1" {
		t.Errorf("rows after the restart: %q; want the committed row only", got)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop after Restart: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done is open after Stop")
	}
}
