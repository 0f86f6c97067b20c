package pgtest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

// Bouncer starts pgbouncer in transaction pooling mode in front of this
// database's server, with poolSize server connections per role (1 makes
// all clients of a role share one server connection), and returns a
// function giving each role's connection string through it. pgbouncer
// stops when the test ends.
//
// Without a pgbouncer binary the test is skipped, or fails when the CI
// environment variable is set.
func (db *DB) Bouncer(t testing.TB, poolSize int, roles ...Role) func(Role) string {
	t.Helper()
	if _, err := pglocal.FindBouncer(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set, so this fails instead of skipping)", err)
		}
		t.Skip(err)
	}
	users := make(map[string]string, len(roles))
	for _, r := range roles {
		if r == Admin {
			t.Fatal("pgtest: the Admin role cannot log in through pgbouncer")
		}
		users[db.roles[r]] = db.passwords[r]
	}
	b, err := pglocal.StartBouncer(context.Background(), pglocal.BouncerConfig{
		ServerHost: db.srv.host, ServerPort: db.srv.port, Users: users, PoolSize: poolSize,
	})
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("pgtest: stopping pgbouncer: %v", err)
		}
	})
	return func(r Role) string {
		return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable",
			b.Host(), b.Port(), quoteValue(db.roles[r]), quoteValue(db.passwords[r]), quoteValue(db.Name))
	}
}
