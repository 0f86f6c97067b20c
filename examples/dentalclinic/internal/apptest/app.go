package apptest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/api"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/embedded"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/web"
	"github.com/mydentalpractice/tenancy/internal/pglocal"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestSignInAttempts is the sign-in rate limit (app.Config.SignInAttempts)
// of the apps the harness starts, unless Options.DefaultSignInLimit: high
// enough that no test is refused for signing in often.
const TestSignInAttempts = 100000

// Options says how to run an app. The zero Options is the app's defaults
// on a fresh pgtest database, with the harness's sign-in limit.
type Options struct {
	// MaxConns is app.Config.MaxConns; zero for the default.
	MaxConns int32
	// RequestTimeout is app.Config.RequestTimeout; zero for the default.
	RequestTimeout time.Duration
	// Cluster runs a private PostgreSQL cluster that the test may restart
	// (App.Cluster), instead of a database on the shared test server.
	Cluster bool
	// Bouncer puts pgbouncer in transaction mode, with one server
	// connection per role, between the app and the database (the app and
	// platform roles; migrations connect directly).
	Bouncer bool
	// Log receives the app's log; nil discards it.
	Log io.Writer
	// IdentityProvider is app.Config.IdentityProvider.
	IdentityProvider *app.IdentityProvider
	// SummaryEvery is app.Config.SummaryEvery.
	SummaryEvery time.Duration
	// ClinicShare is app.Config.ClinicShare.
	ClinicShare tenantdb.Share
	// DefaultSignInLimit runs the app with its own sign-in rate limit
	// (app.Config.SignInAttempts zero) instead of TestSignInAttempts.
	DefaultSignInLimit bool
	// DB, if set, is the test database to run on instead of a fresh one:
	// a second instance on the database of a first. Not with Cluster.
	DB *pgtest.DB
	// Dir, if set, is the data directory instead of a fresh one: the
	// signing keys that instances of one deployment share.
	Dir string
}

// App is an app started by Start or Shared. Its methods may be called
// from the test's goroutines, except Stop.
type App struct {
	// Base is the app's base URL, such as "http://127.0.0.1:41234".
	Base string
	// DB is the app's test database; nil with Options.Cluster.
	DB *pgtest.DB
	// Cluster is the app's private cluster with Options.Cluster, else nil.
	Cluster *pglocal.Cluster
	// API is the app's API server, for its route table.
	API *api.Server
	// Web is the app's web UI server, for its route table.
	Web *web.Server
	// Dir is the app's data directory: the signing keys and the audit
	// checkpoints.
	Dir string
	// SuperURL connects to the app's database as a superuser.
	SuperURL string

	cancel  context.CancelFunc
	errc    chan error
	stopped bool
}

// Start migrates and seeds a database of the test's own and runs the app
// on it, on a loopback port. The app stops when the test ends, if the test
// did not stop it (App.Stop). Without a PostgreSQL server the test skips,
// or fails under CI (pgtest.SkipOrFail).
func Start(t *testing.T, o Options) *App {
	t.Helper()
	a, err := Launch(t, o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Launch is Start for a test of the app's start-up: it returns the error
// that kept the app from starting rather than failing the test. A started
// app stops when the test ends.
func Launch(t *testing.T, o Options) (*App, error) {
	t.Helper()
	ctx := context.Background()
	a := &App{Dir: o.Dir}
	if a.Dir == "" {
		a.Dir = t.TempDir()
	}
	var conns connStrings
	if o.Cluster {
		if _, err := pglocal.FindBinDir(); err != nil {
			pgtest.SkipOrFail(t, err)
		}
		c, err := pglocal.Start(ctx, pglocal.Config{})
		if err != nil {
			t.Fatalf("private cluster: %v", err)
		}
		t.Cleanup(func() {
			if err := c.Stop(); err != nil {
				t.Errorf("stopping the private cluster: %v", err)
			}
		})
		cs, err := embedded.Bootstrap(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		conns = connStrings{app: cs.App, owner: cs.Owner, platform: cs.Platform, auditAdmin: cs.Admin, audit: embedded.Roles.Audit}
		a.Cluster = c
		a.SuperURL = c.SuperuserConnString(embedded.Database)
	} else {
		a.DB = o.DB
		if a.DB == nil {
			a.DB = pgtest.New(t)
		}
		a.DB.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{a.DB.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls")
		conns = dbConns(t, a.DB, o)
		a.SuperURL = a.DB.ConnString(pgtest.Admin)
	}
	if err := a.launch(o, conns); err != nil {
		return nil, err
	}
	t.Cleanup(func() { a.Stop(t) })
	return a, nil
}

var (
	sharedMu   sync.Mutex
	sharedApps = map[string]*sharedApp{}
)

type sharedApp struct {
	once sync.Once
	app  *App
	err  error
}

// Shared returns the app named name, started on first use with o and
// running as long as the test binary, on a shared pgtest database of its
// own: for the tests of a package that need no settings of their own.
// Tests sharing an app share its data: each makes the records it changes
// (NewStaff, its own patients) rather than changing the demo data. Later
// calls with the same name ignore o.
func Shared(t *testing.T, name string, o Options) *App {
	t.Helper()
	sharedMu.Lock()
	s, ok := sharedApps[name]
	if !ok {
		s = &sharedApp{}
		sharedApps[name] = s
	}
	sharedMu.Unlock()
	s.once.Do(func() { s.app, s.err = launchShared(name, o) })
	if s.err != nil {
		pgtest.SkipOrFail(t, s.err)
	}
	return s.app
}

func launchShared(name string, o Options) (*App, error) {
	if o.Cluster {
		return nil, fmt.Errorf("apptest: a shared app (%s) runs on the shared test server, not a private cluster", name)
	}
	db, err := pgtest.NewShared()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, db.ConnString(pgtest.Admin))
	if err != nil {
		return nil, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "alter role "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls"); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dentalclinic-"+name+"-")
	if err != nil {
		return nil, err
	}
	a := &App{DB: db, Dir: dir, SuperURL: db.ConnString(pgtest.Admin)}
	if err := a.launch(o, dbConns(nil, db, o)); err != nil {
		return nil, err
	}
	return a, nil
}

type connStrings struct{ app, owner, platform, auditAdmin, audit string }

// dbConns returns the roles' connection strings to db, through pgbouncer
// when o says so. The owner runs the migrations and may bypass RLS, as in
// production.
func dbConns(t *testing.T, db *pgtest.DB, o Options) connStrings {
	conns := connStrings{app: db.ConnString(pgtest.App), owner: db.ConnString(pgtest.Owner), platform: db.ConnString(pgtest.Platform),
		auditAdmin: db.ConnString(pgtest.Admin), audit: db.RoleName(pgtest.Audit)}
	if o.Bouncer {
		t.Helper()
		via := db.Bouncer(t, 1, pgtest.App, pgtest.Platform)
		// pgbouncer in transaction mode: no named prepared statements.
		conns.app = via(pgtest.App) + " default_query_exec_mode=exec"
		conns.platform = via(pgtest.Platform) + " default_query_exec_mode=exec"
	}
	return conns
}

// launch runs the app on conns and waits until it listens.
func (a *App) launch(o Options, conns connStrings) error {
	var logw io.Writer = io.Discard
	if o.Log != nil {
		logw = o.Log
	}
	attempts := TestSignInAttempts
	if o.DefaultSignInLimit {
		attempts = 0
	}
	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.errc = make(chan error, 1)
	ready := make(chan string, 1)
	go func() {
		a.errc <- app.Run(runCtx, app.Config{
			Addr: "127.0.0.1:0", DatabaseURL: conns.app, MigrationDatabaseURL: conns.owner, PlatformDatabaseURL: conns.platform,
			AuditAdminDatabaseURL: conns.auditAdmin, AuditRole: conns.audit,
			DataDir: a.Dir, Seed: true, MaxConns: o.MaxConns, RequestTimeout: o.RequestTimeout,
			Log: slog.New(slog.NewTextHandler(logw, nil)), Ready: ready,
			API:              func(s *api.Server) { a.API = s },
			Web:              func(s *web.Server) { a.Web = s },
			IdentityProvider: o.IdentityProvider, SummaryEvery: o.SummaryEvery, ClinicShare: o.ClinicShare,
			SignInAttempts: attempts,
		})
	}()
	select {
	case a.Base = <-ready:
		return nil
	case err := <-a.errc:
		cancel()
		return fmt.Errorf("apptest: the app did not start: %w", err)
	case <-time.After(2 * time.Minute):
		cancel()
		return fmt.Errorf("apptest: the app did not start within 2 minutes")
	}
}

// Stop shuts the app down gracefully and waits for app.Run to return,
// failing the test if it returns an error or takes over 30s. Stopping a
// stopped app does nothing. Start's apps stop when their test ends;
// Shared's apps run until the binary exits.
func (a *App) Stop(t *testing.T) {
	t.Helper()
	if a.stopped {
		return
	}
	a.stopped = true
	a.cancel()
	select {
	case err := <-a.errc:
		if err != nil {
			t.Errorf("app.Run returned %v after shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the app did not stop within 30s of its context ending")
	}
}

// BeginShutdown cancels the app's context, as a signal would: the
// listener closes and requests in flight complete. WaitExit waits for the
// app to stop.
func (a *App) BeginShutdown() { a.cancel() }

// WaitExit waits up to d for app.Run to return after BeginShutdown, and
// returns whether it did and its error. After it returns true, Stop does
// nothing.
func (a *App) WaitExit(d time.Duration) (exited bool, err error) {
	select {
	case err := <-a.errc:
		a.stopped = true
		return true, err
	case <-time.After(d):
		return false, nil
	}
}

// Model returns the app's isolation model (migrations.Model) for the roles
// of its test database; the app must have one (not Options.Cluster).
func (a *App) Model(t testing.TB) *rls.Model {
	t.Helper()
	return Model(t, a.DB)
}

// Model returns the app's isolation model for the roles of db.
func Model(t testing.TB, db *pgtest.DB) *rls.Model {
	t.Helper()
	m, err := migrations.Model(migrations.Roles{Owner: db.RoleName(pgtest.Owner), App: db.RoleName(pgtest.App), Platform: db.RoleName(pgtest.Platform), Audit: db.RoleName(pgtest.Audit)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
