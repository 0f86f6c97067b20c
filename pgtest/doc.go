// Package pgtest hands each test a fresh PostgreSQL database with
// production-like roles, so isolation tests run against the real thing.
//
// # Where the server comes from
//
// The first test that calls [New] in a test binary picks a server, in order:
//
//  1. TENANCY_TEST_DATABASE_URL, a connection string for a superuser of a
//     server you run (pgtest creates and drops databases and roles on it);
//  2. a throwaway cluster started by internal/pglocal from the host's
//     PostgreSQL binaries (one per test binary; [Main] stops it);
//  3. otherwise the test is skipped with the reason, except that with the
//     CI environment variable set it fails, so CI can never pass by
//     skipping its database tests.
//
// # Roles
//
// Every [DB] gets three roles of its own, named after the database:
//   - [Owner] owns the database and its public schema and runs migrations;
//   - [App] is the application's login role: NOSUPERUSER, NOBYPASSRLS, no
//     CREATEDB or CREATEROLE, owning nothing;
//   - [Platform] is the platform operators' login role, also NOSUPERUSER and
//     NOBYPASSRLS.
//
// [Admin] is the server's superuser, for setting up fixtures and for
// privileged reads that prove data exists. Isolation tests must connect as
// App.
//
// # Migrations
//
// [NewMigrated] hands a test a database with the application's own schema:
// it calls the application's migration function, which runs as [Owner]
// and grants to the role names of the DB:
//
//	db := pgtest.NewMigrated(t, func(ctx context.Context, db *pgtest.DB) error {
//		return migrations.Up(ctx, db.ConnString(pgtest.Owner), db.RoleName(pgtest.App))
//	})
//	pool := db.Pool(t, pgtest.App) // the role row-level security binds
//
// Use [Main] in TestMain so the cluster is stopped when the tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// # Security
//
// pgtest creates and drops databases and roles with the superuser it is
// given: point TENANCY_TEST_DATABASE_URL only at a server that exists for
// tests. The roles get random names and passwords per database, and
// nothing it makes outlives [Main].
package pgtest
