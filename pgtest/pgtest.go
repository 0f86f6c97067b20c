package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Role names one of the roles of a [DB].
type Role int

// The roles of a test database.
const (
	// Admin is the server's superuser.
	Admin Role = iota
	// Owner owns the database and its public schema; migrations run as it.
	Owner
	// App is the application's login role: no superuser, no BYPASSRLS,
	// owns nothing.
	App
	// Platform is the platform operators' login role: no superuser, no
	// BYPASSRLS.
	Platform
	// Audit is the audit log's owner (rls.Config.AuditRole): NOLOGIN, no
	// superuser, no BYPASSRLS, a member of no other role. No one connects
	// as it: [DB.ConnString] and [DB.Conn] of Audit connect as [Admin]
	// and SET ROLE to it, as an administrator installing the audit schema
	// would.
	Audit
)

var roleSuffixes = [...]string{Owner: "owner", App: "app", Platform: "platform", Audit: "audit"}

// String returns "admin", "owner", "app", "platform" or "audit".
func (r Role) String() string {
	if r == Admin {
		return "admin"
	}
	if r > Admin && int(r) < len(roleSuffixes) {
		return roleSuffixes[r]
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// DB is a database made for one test, with its own roles. It and its roles
// are dropped when the test ends. A DB is safe for concurrent use.
type DB struct {
	// Name is the database's name.
	Name string

	srv       *server
	roles     [len(roleSuffixes)]string
	passwords [len(roleSuffixes)]string
}

// New returns a fresh, empty database for t with its own Owner, App and
// Platform roles (see the package documentation for where the server comes
// from). It skips t when no server can be had, or fails it when the CI
// environment variable is set.
func New(t testing.TB) *DB {
	t.Helper()
	srv, err := shared()
	if err != nil {
		skipOrFail(t, err)
		return nil
	}
	return newDB(t, srv)
}

// Migration applies an application's schema to db: its migrations, run as
// db's [Owner] (db.ConnString(pgtest.Owner)), with the role names
// (db.RoleName) wherever they grant. It is called once per database.
type Migration func(ctx context.Context, db *DB) error

// NewMigrated is [New] followed by migrate: a fresh database with the
// application's schema, for tests that need the real one. A migration
// error fails t, naming the database.
func NewMigrated(t testing.TB, migrate Migration) *DB {
	t.Helper()
	db := New(t)
	if db == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := migrate(ctx, db); err != nil {
		t.Fatalf("pgtest: migrating %s: %v", db.Name, err)
	}
	return db
}

func newDB(t testing.TB, srv *server) *DB {
	t.Helper()
	db, err := create(srv)
	if db != nil {
		t.Cleanup(func() {
			if err := db.drop(); err != nil {
				t.Error(err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// create makes the roles and the database. On error it returns the DB
// made so far, so the caller can drop it.
func create(srv *server) (*DB, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	suffix := randomHex(5)
	db := &DB{Name: "pgt_" + suffix, srv: srv}
	for r := Owner; int(r) < len(roleSuffixes); r++ {
		db.roles[r] = db.Name + "_" + roleSuffixes[r]
		db.passwords[r] = randomHex(16)
	}
	for r := Owner; int(r) < len(roleSuffixes); r++ {
		// PASSWORD takes no parameter; the password is random hex, safe to inline.
		sql := fmt.Sprintf("create role %s login password '%s' nosuperuser nobypassrls nocreatedb nocreaterole noreplication",
			ident(db.roles[r]), db.passwords[r])
		if r == Audit {
			db.passwords[r] = ""
			sql = fmt.Sprintf("create role %s nologin nosuperuser nobypassrls nocreatedb nocreaterole noreplication", ident(db.roles[r]))
		}
		if _, err := srv.admin.Exec(ctx, sql); err != nil {
			return db, fmt.Errorf("pgtest: creating role %s: %w", db.roles[r], err)
		}
	}
	for _, sql := range []string{
		fmt.Sprintf("create database %s owner %s template template0 encoding 'UTF8' lc_collate 'C' lc_ctype 'C'", ident(db.Name), ident(db.roles[Owner])),
		fmt.Sprintf("revoke all on database %s from public", ident(db.Name)),
		fmt.Sprintf("grant connect, temporary on database %s to %s, %s", ident(db.Name), ident(db.roles[App]), ident(db.roles[Platform])),
	} {
		if _, err := srv.admin.Exec(ctx, sql); err != nil {
			return db, fmt.Errorf("pgtest: %s: %w", sql, err)
		}
	}
	return db, nil
}

// NewShared returns a fresh database like [New] that lives until [Main]
// ends, for a fixture shared by the tests of a package (an app started
// once). It needs [Main] in TestMain, which drops it. Without a server it
// returns an error wrapping the reason; call [SkipOrFail] with it.
func NewShared() (*DB, error) {
	srv, err := shared()
	if err != nil {
		return nil, err
	}
	db, err := create(srv)
	if db != nil {
		sharedMu.Lock()
		detached = append(detached, db)
		sharedMu.Unlock()
	}
	return db, err
}

// SkipOrFail skips t for a missing server (fails it when CI is set), and
// fails it for any other error, as New does.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	skipOrFail(t, err)
}

var detached []*DB

func (db *DB) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.srv.admin.Exec(ctx, fmt.Sprintf("drop database if exists %s with (force)", ident(db.Name))); err != nil {
		return fmt.Errorf("pgtest: dropping database %s: %w", db.Name, err)
	}
	for r := Owner; int(r) < len(roleSuffixes); r++ {
		if _, err := db.srv.admin.Exec(ctx, "drop role if exists "+ident(db.roles[r])); err != nil {
			return fmt.Errorf("pgtest: dropping role %s: %w", db.roles[r], err)
		}
	}
	return nil
}

// RoleName returns the name of role r in the server, such as
// "pgt_0a1b2c3d4e_app". Admin's name is the server's superuser.
func (db *DB) RoleName(r Role) string {
	if r == Admin {
		return db.srv.adminUser
	}
	return db.roles[r]
}

// Password returns the login password of role r; Admin's is empty (it
// logs in by other means), and so is Audit's (it cannot log in).
func (db *DB) Password(r Role) string {
	if r == Admin {
		return ""
	}
	return db.passwords[r]
}

// ConnString returns a connection string for role r to this database,
// suitable for [pgx.Connect], [pgxpool.New] and database/sql with pgx's
// stdlib driver. Audit's connects as Admin with the session's role set
// to Audit (options=-c role=...), since the audit owner cannot log in.
func (db *DB) ConnString(r Role) string {
	if r == Admin {
		return db.srv.adminConnString(db.Name)
	}
	if r == Audit {
		return overrideRole(db.srv.adminConnString(db.Name), db.roles[Audit])
	}
	return db.srv.roleConnString(db.roles[r], db.passwords[r], db.Name)
}

// ContextModeEnv is the environment variable that selects the tenant
// context mode the test suites run in: unset (or "set-config") for
// tenantdb's default, "set-local" for tenantdb.ContextSetLocal.
const ContextModeEnv = "TENANCY_CONTEXT_MODE"

// ContextMode returns the value of [ContextModeEnv], for
// tenantdb.ParseContextMode: the one place the test suites read it, so
// that TENANCY_CONTEXT_MODE=set-local go test ./... runs them in the SET
// LOCAL mode. In that mode [DB.Pool] of App uses pgx's exec mode, which
// tenantdb needs there; [DB.ConnString] and [DB.Conn] keep pgx's default.
func ContextMode() string { return os.Getenv(ContextModeEnv) }

// SetLocalExecMode sets pc's exec mode to pgx's exec mode when the suite
// runs in the SET LOCAL context mode ([ContextMode]) and pc uses one of
// pgx's caching modes, which tenantdb refuses there. It is for tests that
// build a pool for tenantdb from [DB.ConnString] themselves.
func SetLocalExecMode(pc *pgxpool.Config) {
	if ContextMode() != "set-local" {
		return
	}
	switch pc.ConnConfig.DefaultQueryExecMode {
	case pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol:
	default:
		pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
}

// Conn connects to this database as r. The connection is closed when the
// test ends; failure to connect fails the test.
func (db *DB) Conn(t testing.TB, r Role) *pgx.Conn {
	t.Helper()
	return connect(t, db.ConnString(r), r.String())
}

// Pool opens a connection pool to this database as r. It is closed when the
// test ends; failure fails the test.
func (db *DB) Pool(t testing.TB, r Role) *pgxpool.Pool {
	t.Helper()
	return openPool(t, db.ConnString(r), r.String(), r == App)
}

// connect opens one connection to connString for a test, within 30
// seconds, closed when the test ends; what names it in a failure.
func connect(t testing.TB, connString, what string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("pgtest: connecting as %s: %v", what, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// openPool opens and pings a pool to connString for a test, closed when
// the test ends; what names it in a failure. forTenantdb puts the pool in
// pgx's exec mode when the suite runs in the SET LOCAL context mode
// ([SetLocalExecMode]).
func openPool(t testing.TB, connString, what string, forTenantdb bool) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := pgxpool.ParseConfig(connString)
	if err != nil {
		t.Fatalf("pgtest: pool as %s: %v", what, err)
	}
	if forTenantdb {
		SetLocalExecMode(pc)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatalf("pgtest: pool as %s: %v", what, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		t.Fatalf("pgtest: pool as %s: %v", what, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Exec runs sql (with args) on this database as r and fails the test on
// error. It is meant for fixtures.
func (db *DB) Exec(t testing.TB, r Role, sql string, args ...any) {
	t.Helper()
	conn := db.Conn(t, r)
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("pgtest: as %s: %v\n%s", r, err, sql)
	}
}

// Main runs the tests of a package and then stops the server that pgtest
// started for them, if any. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
