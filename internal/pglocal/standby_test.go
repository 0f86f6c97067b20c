package pglocal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

// TestStandby starts a hot standby of a running cluster: it holds what the
// primary had (proved on the primary first), is in recovery, receives
// what the primary writes afterwards, refuses writes (25006), and stops
// without stopping the primary.
func TestStandby(t *testing.T) {
	requireBinaries(t)
	primary := start(t, pglocal.Config{})
	pcs := primary.SuperuserConnString("postgres")
	exec1(t, pcs, "create table kept (v int); insert into kept values (1), (2)")
	if got := query(t, pcs, "select count(*)::text from kept"); got != "2" {
		t.Fatalf("primary holds %s rows, want 2", got)
	}

	standby, err := primary.StartStandby(context.Background(), pglocal.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standby.Stop() })
	if standby.Port() == primary.Port() || standby.SocketDir() == primary.SocketDir() {
		t.Fatalf("standby shares the primary's port %d or socket %s", standby.Port(), standby.SocketDir())
	}
	scs := standby.SuperuserConnString("postgres")
	if got := query(t, scs, "select pg_is_in_recovery()::text"); got != "true" {
		t.Fatalf("pg_is_in_recovery() on the standby = %s, want true", got)
	}
	if got := query(t, scs, "select count(*)::text from kept"); got != "2" {
		t.Fatalf("standby holds %s rows, want the primary's 2", got)
	}

	exec1(t, pcs, "insert into kept values (3)")
	deadline := time.Now().Add(30 * time.Second)
	for query(t, scs, "select count(*)::text from kept") != "3" {
		if time.Now().After(deadline) {
			t.Fatalf("the primary's write did not reach the standby in 30s:\n%s", standby.LogTail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, scs)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "insert into kept values (4)")
	conn.Close(ctx)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("a write on the standby: %v, want SQLSTATE 25006 (read-only transaction)", err)
	}

	if err := standby.Stop(); err != nil {
		t.Fatalf("standby Stop: %v", err)
	}
	if got := query(t, pcs, "select count(*)::text from kept"); got != "3" {
		t.Fatalf("primary after the standby stopped: %s rows, want 3", got)
	}
}

// TestStandbyNeedsTemporaryData refuses a persistent data directory.
func TestStandbyNeedsTemporaryData(t *testing.T) {
	requireBinaries(t)
	primary := start(t, pglocal.Config{})
	if _, err := primary.StartStandby(context.Background(), pglocal.Config{DataDir: t.TempDir()}); err == nil {
		t.Fatal("StartStandby with a DataDir: nil error, want a refusal")
	}
}
