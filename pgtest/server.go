package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

// EnvDatabaseURL names the environment variable with a superuser
// connection string for an existing server.
const EnvDatabaseURL = "TENANCY_TEST_DATABASE_URL"

// errNoServer is wrapped when no server can be had; only it may skip a
// test (outside CI). Any other setup error fails the test.
var errNoServer = errors.New("pgtest: no PostgreSQL server for tests")

const noServerHint = "set " + EnvDatabaseURL + " to a superuser connection string " +
	"(for example postgres://postgres:secret@127.0.0.1:5432/postgres), " +
	"or install the PostgreSQL server binaries (Debian/Ubuntu: apt-get install postgresql; " +
	"Fedora: dnf install postgresql-server; macOS: brew install postgresql)"

// server is the PostgreSQL server shared by the tests of one binary.
type server struct {
	source    string // for messages: where the server came from
	adminUser string
	admin     *pgxpool.Pool // superuser connections to the maintenance database
	host      string        // where role logins go: a host name, IP or socket directory
	port      int

	adminConnString func(dbname string) string
	roleConnString  func(user, password, dbname string) string
	stop            func() error

	cluster *pglocal.Cluster // the pglocal server, for DB.Standby; nil for TENANCY_TEST_DATABASE_URL
}

var (
	sharedMu  sync.Mutex
	sharedSrv *server
	sharedErr error
)

// Source returns where the tests' server comes from ("TENANCY_TEST_DATABASE_URL",
// or "pglocal"), starting it if needed, or an error.
func Source() (string, error) {
	srv, err := shared()
	if err != nil {
		return "", err
	}
	return srv.source, nil
}

func shared() (*server, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedSrv == nil && sharedErr == nil {
		sharedSrv, sharedErr = open(context.Background(), os.Getenv)
	}
	return sharedSrv, sharedErr
}

func shutdown() error {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedSrv == nil {
		return nil
	}
	var errs []error
	for _, db := range detached {
		errs = append(errs, db.drop())
	}
	detached = nil
	sharedSrv.admin.Close()
	errs = append(errs, sharedSrv.stop())
	err := errors.Join(errs...)
	sharedSrv, sharedErr = nil, errors.New("pgtest: server already shut down")
	return err
}

// open finds a server as the package documentation describes.
func open(ctx context.Context, getenv func(string) string) (*server, error) {
	if u := getenv(EnvDatabaseURL); u != "" {
		return openURL(ctx, u)
	}
	if _, err := pglocal.FindBinDir(); err == nil {
		return openLocal(ctx)
	} else if !errors.Is(err, pglocal.ErrNoBinaries) {
		return nil, err
	} else {
		return nil, fmt.Errorf("%w: %v; %s", errNoServer, err, noServerHint)
	}
}

func openURL(ctx context.Context, connString string) (*server, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		// pgx's error may quote the password; say only which variable is wrong.
		return nil, fmt.Errorf("pgtest: %s is not a valid connection string", EnvDatabaseURL)
	}
	with := func(user, password, dbname string) string {
		return overrideConnString(connString, user, password, dbname)
	}
	srv := &server{
		source:          EnvDatabaseURL,
		adminUser:       cfg.User,
		host:            cfg.Host,
		port:            int(cfg.Port),
		adminConnString: func(dbname string) string { return with("", "", dbname) },
		roleConnString:  with,
		stop:            func() error { return nil },
	}
	return srv, srv.connectAdmin(ctx, connString)
}

// overrideConnString replaces the user, password (when user is set) and
// database of a URL or keyword/value connection string.
func overrideConnString(connString, user, password, dbname string) string {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err == nil {
			if user != "" {
				u.User = url.UserPassword(user, password)
			}
			u.Path = "/" + dbname
			return u.String()
		}
	}
	// In keyword/value form a later keyword overrides an earlier one.
	s := connString + " dbname=" + quoteValue(dbname)
	if user != "" {
		s += " user=" + quoteValue(user) + " password=" + quoteValue(password)
	}
	return s
}

func quoteValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func openLocal(ctx context.Context) (*server, error) {
	c, err := pglocal.Start(ctx, pglocal.Config{})
	if err != nil {
		return nil, err
	}
	srv := &server{
		source:          "pglocal",
		adminUser:       c.Superuser(),
		host:            c.Host(),
		port:            c.Port(),
		adminConnString: c.SuperuserConnString,
		roleConnString: func(user, password, dbname string) string {
			return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable",
				c.Host(), c.Port(), quoteValue(user), quoteValue(password), quoteValue(dbname))
		},
		stop:    c.Stop,
		cluster: c,
	}
	if err := srv.connectAdmin(ctx, c.SuperuserConnString("postgres")); err != nil {
		c.Stop()
		return nil, err
	}
	return srv, nil
}

// connectAdmin opens the admin pool and checks that it is a superuser.
func (s *server) connectAdmin(ctx context.Context, connString string) error {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return fmt.Errorf("pgtest: admin connection string: %w", err)
	}
	cfg.MaxConns = 4
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("pgtest: connecting to %s: %w", s.source, err)
	}
	var super bool
	if err := pool.QueryRow(ctx, "select rolsuper from pg_roles where rolname = current_user").Scan(&super); err != nil {
		pool.Close()
		return fmt.Errorf("pgtest: connecting to %s: %w", s.source, err)
	}
	if !super {
		pool.Close()
		return fmt.Errorf("pgtest: the %s user %q is not a superuser; pgtest creates and drops databases and roles with it", s.source, cfg.ConnConfig.User)
	}
	s.admin = pool
	return nil
}

// skipOrFail reports that no database is available: a skip, except in CI.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errNoServer) && os.Getenv("CI") == "" {
		t.Skipf("%v (set CI=true to make this a failure)", err)
		return
	}
	if errors.Is(err, errNoServer) {
		t.Fatalf("%v (CI is set, so the database tests fail instead of skipping)", err)
		return
	}
	t.Fatalf("pgtest: %v", err)
}

// overrideRole adds the session's role (a run-time parameter, which pgx
// sends at start-up) to a URL or keyword/value connection string.
func overrideRole(connString, role string) string {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err == nil {
			q := u.Query()
			q.Set("role", role)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return connString + " role=" + quoteValue(role)
}
