package pgtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

// Standby is a hot standby of the server of a [DB], started by
// [DB.Standby]: a physical copy that streams the primary's WAL and answers
// read-only queries, with the same databases, roles and passwords. Its
// methods are safe for concurrent use.
type Standby struct {
	db *DB
	c  *pglocal.Cluster
}

// Standby starts a hot standby of db's server (pg_basebackup -R from it,
// then hot_standby on, on a port of its own), waits until it has replayed
// everything the server had written, and returns it. It is stopped when
// the test ends, before db is dropped.
//
// It needs the server that pgtest starts with internal/pglocal: with
// TENANCY_TEST_DATABASE_URL the test is skipped, or fails when the CI
// environment variable is set. Any other failure fails the test.
func (db *DB) Standby(t testing.TB) *Standby {
	t.Helper()
	if db.srv.cluster == nil {
		msg := fmt.Sprintf("pgtest: a standby needs the server pgtest starts itself, not the one of %s", EnvDatabaseURL)
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (CI is set, so this fails instead of skipping)", msg)
		}
		t.Skip(msg)
	}
	c, err := db.srv.cluster.StartStandby(context.Background(), pglocal.Config{})
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s := &Standby{db: db, c: c}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("pgtest: stopping the standby: %v", err)
		}
	})
	s.CatchUp(t)
	return s
}

// ConnString returns a connection string for role r to the standby's copy
// of the database, as [DB.ConnString] does for the primary.
func (s *Standby) ConnString(r Role) string {
	admin := s.c.SuperuserConnString(s.db.Name)
	switch r {
	case Admin:
		return admin
	case Audit:
		return overrideRole(admin, s.db.roles[Audit])
	}
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable",
		s.c.Host(), s.c.Port(), quoteValue(s.db.roles[r]), quoteValue(s.db.passwords[r]), quoteValue(s.db.Name))
}

// Conn connects to the standby as r; the connection is closed when the
// test ends, and failure fails the test.
func (s *Standby) Conn(t testing.TB, r Role) *pgx.Conn {
	t.Helper()
	return connect(t, s.ConnString(r), r.String()+" on the standby")
}

// Pool opens a connection pool to the standby as r, closed when the test
// ends; failure fails the test. A standby's pools are for tenantdb's
// replicas: in the SET LOCAL context mode every role's pool is in pgx's
// exec mode, so that tenantdb's checks of the role, not of the exec mode,
// answer.
func (s *Standby) Pool(t testing.TB, r Role) *pgxpool.Pool {
	t.Helper()
	return openPool(t, s.ConnString(r), r.String()+" on the standby", true)
}

// CatchUp waits until the standby has replayed everything the primary had
// written when CatchUp was called, and fails the test after 30 seconds
// (as it does while replay is paused).
func (s *Standby) CatchUp(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A WAL record of its own: its end is a position that replay reaches
	// (pg_current_wal_insert_lsn may point past a page header, where no
	// record ends), after every commit made so far.
	var lsn string
	if err := s.db.srv.admin.QueryRow(ctx, "select pg_catalog.pg_logical_emit_message(false, 'pgtest', '')::text").Scan(&lsn); err != nil {
		t.Fatalf("pgtest: catching up: %v", err)
	}
	conn, err := pgx.Connect(ctx, s.c.SuperuserConnString("postgres"))
	if err != nil {
		t.Fatalf("pgtest: catching up: %v", err)
	}
	defer conn.Close(context.Background())
	for {
		var done bool
		if err := conn.QueryRow(ctx, "select pg_catalog.pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn).Scan(&done); err != nil {
			t.Fatalf("pgtest: catching up to %s: %v\n%s", lsn, err, s.c.LogTail(20))
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pgtest: the standby did not replay up to %s in 30s\n%s", lsn, s.c.LogTail(20))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// PauseReplay stops the standby applying the WAL it receives
// (pg_wal_replay_pause), so that it falls behind whatever the primary
// writes next; [Standby.ResumeReplay] lets it catch up.
func (s *Standby) PauseReplay(t testing.TB) {
	t.Helper()
	// Once it returns, no record that the standby has not yet replayed
	// is replayed until ResumeReplay.
	s.exec(t, "select pg_catalog.pg_wal_replay_pause()")
}

// ResumeReplay undoes [Standby.PauseReplay].
func (s *Standby) ResumeReplay(t testing.TB) {
	t.Helper()
	s.exec(t, "select pg_catalog.pg_wal_replay_resume()")
}

// Stop stops the standby now, as a failed replica would stop; Stop is
// also called when the test ends.
func (s *Standby) Stop(t testing.TB) {
	t.Helper()
	if err := s.c.Stop(); err != nil {
		t.Fatalf("pgtest: stopping the standby: %v", err)
	}
}

func (s *Standby) exec(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.c.SuperuserConnString("postgres"))
	if err != nil {
		t.Fatalf("pgtest: standby: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: standby: %s: %v", sql, err)
	}
}
