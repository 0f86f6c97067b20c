package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testApp is the whole app (API and web UI) running on loopback on a test
// database of its own, with the demo data.
type testApp struct {
	base string
	db   *pgtest.DB
	// super reads the database as its superuser, to prove what the pages
	// must (and must not) show exists.
	super *pgxpool.Pool
}

var (
	appOnce sync.Once
	theApp  *testApp
	appErr  error
)

var (
	riverside = seed.Clinics[0]
	hillcrest = seed.Clinics[1]
	lakeside  = seed.Clinics[2]
)

// startApp runs the app once for this package's tests, as internal/app's
// tests do: migrations as the owner, the demo seed, the app as the app
// role, on a loopback port.
func startApp(t *testing.T) *testApp {
	t.Helper()
	appOnce.Do(func() {
		db, err := pgtest.NewShared()
		if err != nil {
			appErr = err
			return
		}
		ctx := context.Background()
		super, err := pgxpool.New(ctx, db.ConnString(pgtest.Admin))
		if err != nil {
			appErr = err
			return
		}
		if _, err := super.Exec(ctx, "alter role "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls"); err != nil {
			appErr = err
			return
		}
		base, err := runApp(db, true, false)
		if err != nil {
			appErr = err
			return
		}
		theApp = &testApp{base: base, db: db, super: super}
	})
	if appErr != nil {
		pgtest.SkipOrFail(t, appErr)
	}
	return theApp
}

// runApp starts one instance of the app on db and returns its base URL.
// The instance runs until the test binary exits.
func runApp(db *pgtest.DB, seedDemo, secureCookies bool) (string, error) {
	dir, err := os.MkdirTemp("", "dentalclinic-web-test-")
	if err != nil {
		return "", err
	}
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- app.Run(context.Background(), app.Config{
			Addr:                  "127.0.0.1:0",
			DatabaseURL:           db.ConnString(pgtest.App),
			MigrationDatabaseURL:  db.ConnString(pgtest.Owner),
			PlatformDatabaseURL:   db.ConnString(pgtest.Platform),
			AuditAdminDatabaseURL: db.ConnString(pgtest.Admin),
			AuditRole:             db.RoleName(pgtest.Audit),
			DataDir:               dir,
			Seed:                  seedDemo,
			SecureCookies:         secureCookies,
			// The package's tests sign the demo staff in many times a
			// minute; the limit itself is the sign-in service's and the
			// API's tests' (api.TestSignInRateLimit).
			SignInAttempts: apptest.TestSignInAttempts,
			Log:            slog.New(slog.NewTextHandler(io.Discard, nil)),
			Ready:          ready,
		})
	}()
	select {
	case base := <-ready:
		return base, nil
	case err := <-errc:
		return "", fmt.Errorf("app stopped: %w", err)
	case <-time.After(2 * time.Minute):
		return "", fmt.Errorf("app did not start")
	}
}

// one reads a single value as the database superuser.
func (a *testApp) one(t *testing.T, dst any, sql string, args ...any) {
	t.Helper()
	if err := a.super.QueryRow(context.Background(), sql, args...).Scan(dst); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// patientID returns the id of the patient named given family at clinic.
func (a *testApp) patientID(t *testing.T, clinic seed.Clinic, given, family string) tenancy.ID {
	t.Helper()
	var id tenancy.ID
	a.one(t, &id, `select id from patients where clinic_id = $1 and given_name = $2 and family_name = $3`, clinic.ID, given, family)
	return id
}

// client is a plain HTTP client with its own cookie jar, that does not
// follow redirects, so tests see each answer.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: base, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       time.Minute,
	}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(method, path string, form url.Values, header map[string]string) page {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (c *client) get(path string) page { c.t.Helper(); return c.do("GET", path, nil, nil) }

func (c *client) post(path string, form url.Values) page {
	c.t.Helper()
	return c.do("POST", path, form, nil)
}

// signIn signs in through the staff (or portal) form and fails the test
// unless it is sent on to want.
func (c *client) signIn(email string, portal bool, want string) page {
	c.t.Helper()
	path := "/signin"
	if portal {
		path = "/portal/signin"
	}
	p := c.post(path, url.Values{"email": {email}, "password": {seed.Password}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != want {
		c.t.Fatalf("sign-in of %s: %d to %q, want 303 to %q\n%s", email, p.status, p.header.Get("Location"), want, p.body)
	}
	return p
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf reads the CSRF token from the forms of a signed-in page.
func csrf(t *testing.T, p page) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in the page (%d)", p.status)
	}
	return m[1]
}
