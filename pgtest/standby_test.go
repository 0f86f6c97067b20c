package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestStandby starts a standby of a test database's server: the rows the
// primary holds (counted there first) are on the standby, as the app role
// too; a write after PauseReplay does not arrive until ResumeReplay and
// CatchUp; the standby refuses writes.
func TestStandby(t *testing.T) {
	ctx := context.Background()
	db := New(t)
	db.Exec(t, Owner, "create table t (v int); grant select, insert on t to "+pgx.Identifier{db.RoleName(App)}.Sanitize())
	db.Exec(t, App, "insert into t values (1), (2)")
	count := func(conn *pgx.Conn) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, "select count(*) from t").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(db.Conn(t, App)); n != 2 {
		t.Fatalf("primary: %d rows, want 2", n)
	}
	s := db.Standby(t)
	app := s.Conn(t, App)
	if n := count(app); n != 2 {
		t.Fatalf("standby as app: %d rows, want 2", n)
	}
	s.PauseReplay(t)
	db.Exec(t, App, "insert into t values (3)")
	time.Sleep(200 * time.Millisecond)
	if n := count(app); n != 2 {
		t.Fatalf("standby with replay paused: %d rows, want still 2", n)
	}
	s.ResumeReplay(t)
	s.CatchUp(t)
	if n := count(app); n != 3 {
		t.Fatalf("standby after resume: %d rows, want 3", n)
	}
	if _, err := app.Exec(ctx, "insert into t values (4)"); err == nil {
		t.Fatal("insert on the standby: nil error, want a refusal")
	}
}
