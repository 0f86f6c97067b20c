package apptest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// SuperConn connects to the app's database as the superuser; the
// connection closes when the test ends.
func (a *App) SuperConn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, a.SuperURL)
	if err != nil {
		t.Fatalf("superuser connection: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// SuperExec runs sql as the superuser, failing the test on error.
func (a *App) SuperExec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := a.SuperConn(t).Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// SuperStrings runs a one-column query as the superuser and returns the
// column as text.
func (a *App) SuperStrings(t testing.TB, sql string, args ...any) []string {
	t.Helper()
	rows, err := a.SuperConn(t).Query(context.Background(), `select x::text from (`+sql+`) q(x)`, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// SuperCount runs a query of one integer (a count) as the superuser.
func (a *App) SuperCount(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := a.SuperConn(t).QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
