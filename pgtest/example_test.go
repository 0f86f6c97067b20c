package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// An application's isolation test gets a database of its own with the
// owner, app and platform roles, migrates it as the owner, writes fixtures
// as the superuser, and reads as the app role, which row-level security
// binds. It needs a PostgreSQL server, so it only compiles here; put
// pgtest.Main in the package's TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func ExampleNew() {
	var t *testing.T // the test's
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, `create table public.tasks (org_id bigint not null, id bigint not null, title text not null,
		primary key (org_id, id))`)
	// ... the application's migrations, as pgtest.Owner, for roles named
	// db.RoleName(pgtest.Owner), db.RoleName(pgtest.App), db.RoleName(pgtest.Platform)
	db.Exec(t, pgtest.Admin, `insert into public.tasks values (1, 1, 'a'), (2, 1, 'b')`)
	app := db.Pool(t, pgtest.App) // connect as the app role for every isolation claim
	_ = app.Ping(context.Background())
}

// NewMigrated gives each test a database with the application's real
// schema: the migration runs as the owner and grants to the DB's roles.
func ExampleNewMigrated() {
	var t *testing.T // the test's
	db := pgtest.NewMigrated(t, func(ctx context.Context, db *pgtest.DB) error {
		conn, err := pgx.Connect(ctx, db.ConnString(pgtest.Owner))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		// The application's migrations; here, one table.
		_, err = conn.Exec(ctx, `create table public.tasks (org_id bigint not null, id bigint not null, primary key (org_id, id));
			grant select, insert on public.tasks to `+pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize())
		return err
	})
	_ = db.Pool(t, pgtest.App)
}
