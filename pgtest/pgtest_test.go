package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// TestAppRoleIsProductionLike proves what every isolation test relies on:
// the App role cannot bypass row-level security and owns nothing.
func TestAppRoleIsProductionLike(t *testing.T) {
	db := New(t)
	db.Exec(t, Owner, "create table patients (clinic_id uuid not null, id uuid primary key)")
	db.Exec(t, Owner, "grant select on patients to "+pgx.Identifier{db.RoleName(App)}.Sanitize())

	ctx := context.Background()
	const owned = `select count(*) from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = current_user`
	owner := db.Conn(t, Owner)
	var n int
	if err := owner.QueryRow(ctx, owned).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the ownership query finds nothing even for the owner; it would prove nothing for the app role")
	}

	app := db.Conn(t, App)
	var user string
	var super, bypass, createDB, createRole bool
	err := app.QueryRow(ctx, `select current_user, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole
		from pg_roles where rolname = current_user`).Scan(&user, &super, &bypass, &createDB, &createRole)
	if err != nil {
		t.Fatal(err)
	}
	if user != db.RoleName(App) {
		t.Fatalf("connected as %q, want %q", user, db.RoleName(App))
	}
	if super || bypass || createDB || createRole {
		t.Errorf("app role: superuser=%v bypassrls=%v createdb=%v createrole=%v; want all false", super, bypass, createDB, createRole)
	}
	if err := app.QueryRow(ctx, owned).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("app role owns %d relations, want 0", n)
	}
	if _, err := app.Exec(ctx, "create table sneaky (id int)"); err == nil {
		t.Error("app role created a table in schema public")
	}

	var platformSuper, platformBypass bool
	if err := db.Conn(t, Platform).QueryRow(ctx, `select rolsuper, rolbypassrls from pg_roles where rolname = current_user`).
		Scan(&platformSuper, &platformBypass); err != nil {
		t.Fatal(err)
	}
	if platformSuper || platformBypass {
		t.Errorf("platform role: superuser=%v bypassrls=%v; want false", platformSuper, platformBypass)
	}
}

// TestDatabasesAreSeparate: one test's roles cannot reach another test's
// database.
func TestDatabasesAreSeparate(t *testing.T) {
	a, b := New(t), New(t)
	if a.Name == b.Name || a.RoleName(App) == b.RoleName(App) {
		t.Fatalf("two databases share names: %s/%s", a.Name, b.RoleName(App))
	}
	b.Conn(t, App) // b's own role can connect
	cs := b.srv.roleConnString(a.RoleName(App), a.Password(App), b.Name)
	conn, err := pgx.Connect(context.Background(), cs)
	if err == nil {
		conn.Close(context.Background())
		t.Fatalf("%s connected to %s", a.RoleName(App), b.Name)
	}
}

// TestCleanupDropsEverything: the database and its roles are gone after the
// test that made them.
func TestCleanupDropsEverything(t *testing.T) {
	var name string
	var roles []string
	t.Run("inner", func(t *testing.T) {
		db := New(t)
		name = db.Name
		for _, r := range []Role{Owner, App, Platform} {
			roles = append(roles, db.RoleName(r))
		}
	})
	srv, err := shared()
	if err != nil {
		t.Fatal(err)
	}
	var dbs, rs int
	ctx := context.Background()
	if err := srv.admin.QueryRow(ctx, "select count(*) from pg_database where datname = $1", name).Scan(&dbs); err != nil {
		t.Fatal(err)
	}
	if err := srv.admin.QueryRow(ctx, "select count(*) from pg_roles where rolname = any($1)", roles).Scan(&rs); err != nil {
		t.Fatal(err)
	}
	if dbs != 0 || rs != 0 {
		t.Errorf("after cleanup: %d databases named %s, %d of roles %v", dbs, name, rs, roles)
	}
}

// TestServerFromURL: TENANCY_TEST_DATABASE_URL in both URL and
// keyword/value forms gives working databases and role logins.
func TestServerFromURL(t *testing.T) {
	local, err := shared()
	if err != nil {
		skipOrFail(t, err)
		return
	}
	if local.source != "pglocal" {
		t.Skipf("needs the pglocal server to point a URL at; using %s", local.source)
	}
	kv := local.adminConnString("postgres")
	// host=/dir port=N user=postgres dbname=postgres sslmode=disable -> URL form
	fields := map[string]string{}
	for _, f := range strings.Fields(kv) {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	u := fmt.Sprintf("postgres://%s@/postgres?host=%s&port=%s&sslmode=disable",
		fields["user"], url.QueryEscape(fields["host"]), fields["port"])

	for name, cs := range map[string]string{"keyword/value": kv, "URL": u} {
		t.Run(name, func(t *testing.T) {
			srv, err := openURL(context.Background(), cs)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.admin.Close) // registered first, so it runs after the drop
			db := newDB(t, srv)
			var user, dbname string
			if err := db.Conn(t, App).QueryRow(context.Background(), "select current_user, current_database()").Scan(&user, &dbname); err != nil {
				t.Fatal(err)
			}
			if user != db.RoleName(App) || dbname != db.Name {
				t.Errorf("connected as %s to %s, want %s to %s", user, dbname, db.RoleName(App), db.Name)
			}
		})
	}
}

func TestOverrideConnString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://admin:pw@db.example:5433/postgres?sslmode=require", "postgres://u:p%27w@db.example:5433/d1?sslmode=require"},
		{"host=db port=5433 user=admin password=pw dbname=postgres", `host=db port=5433 user=admin password=pw dbname=postgres dbname='d1' user='u' password='p\'w'`},
	}
	for _, tt := range tests {
		got := overrideConnString(tt.in, "u", "p'w", "d1")
		if got != tt.want {
			t.Errorf("overrideConnString(%q) = %q, want %q", tt.in, got, tt.want)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Fatalf("result does not parse: %v", err)
		}
		if cfg.User != "u" || cfg.Password != "p'w" || cfg.Database != "d1" {
			t.Errorf("parsed %q as user %q password %q db %q", got, cfg.User, cfg.Password, cfg.Database)
		}
	}
}

func TestBadURLDoesNotEchoPassword(t *testing.T) {
	_, err := openURL(context.Background(), "postgres://admin:hunter2@host:notaport/db")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("openURL error = %v; want an error without the password", err)
	}
}

// recorder is a testing.TB that records Skip and Fatal instead of acting,
// so the skip-or-fail decision itself can be tested.
type recorder struct {
	testing.TB      // nil: only the methods below are called
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func runRecorded(f func(testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// TestNoServer: with no URL and no binaries, a database test is
// skipped with the reason, and with CI set it fails with advice instead.
func TestNoServer(t *testing.T) {
	t.Setenv("PG_BIN", t.TempDir()) // a PG_BIN without binaries: pglocal finds nothing
	t.Setenv(EnvDatabaseURL, "")
	_, err := open(context.Background(), func(string) string { return "" })
	if !errors.Is(err, errNoServer) {
		t.Fatalf("open without any server = %v, want errNoServer", err)
	}
	for _, hint := range []string{"apt-get install postgresql", EnvDatabaseURL} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("error %q does not mention %q", err, hint)
		}
	}

	t.Setenv("CI", "")
	r := runRecorded(func(tb testing.TB) { skipOrFail(tb, err) })
	if r.skipped == "" || r.failed != "" {
		t.Errorf("without CI: skipped=%q failed=%q; want a skip", r.skipped, r.failed)
	}

	t.Setenv("CI", "true")
	r = runRecorded(func(tb testing.TB) { skipOrFail(tb, err) })
	if r.failed == "" || r.skipped != "" {
		t.Errorf("with CI: skipped=%q failed=%q; want a failure", r.skipped, r.failed)
	}
	if !strings.Contains(r.failed, "apt-get install postgresql") || !strings.Contains(r.failed, EnvDatabaseURL) {
		t.Errorf("CI failure %q does not say how to get a database", r.failed)
	}

	// Any other setup error fails even outside CI: it is a broken
	// environment, not a missing one.
	t.Setenv("CI", "")
	r = runRecorded(func(tb testing.TB) { skipOrFail(tb, errors.New("initdb: disk full")) })
	if r.failed == "" {
		t.Errorf("a setup error was skipped: %q", r.skipped)
	}
}

func TestNewShared(t *testing.T) {
	db, err := NewShared()
	if err != nil {
		SkipOrFail(t, err)
		return
	}
	var name string
	if err := db.Conn(t, App).QueryRow(context.Background(), "select current_database()").Scan(&name); err != nil || name != db.Name {
		t.Fatalf("shared database: %q, %v", name, err)
	}
}

func TestNewMigrated(t *testing.T) {
	var ran int
	db := NewMigrated(t, func(ctx context.Context, db *DB) error {
		ran++
		conn, err := pgx.Connect(ctx, db.ConnString(Owner))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "create table public.orgs (id bigint primary key); grant select on public.orgs to "+
			pgx.Identifier{db.RoleName(App)}.Sanitize())
		return err
	})
	if ran != 1 {
		t.Fatalf("the migration ran %d times, want once", ran)
	}
	// The owner made the table, and granted the app role what it said.
	var owner string
	if err := db.Conn(t, App).QueryRow(context.Background(),
		"select tableowner from pg_catalog.pg_tables where tablename = 'orgs'").Scan(&owner); err != nil || owner != db.RoleName(Owner) {
		t.Fatalf("orgs is owned by %q (%v), want %s", owner, err, db.RoleName(Owner))
	}
	if _, err := db.Conn(t, App).Exec(context.Background(), "select * from public.orgs"); err != nil {
		t.Errorf("the app role cannot read what the migration granted: %v", err)
	}
}
