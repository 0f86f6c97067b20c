// Command dentalclinic is the reference app of the tenancy SDK:
// MyDentalPractice, where every dental clinic is a tenant.
//
// Run it with
//
//	go run ./examples/dentalclinic
//
// With no DATABASE_URL it starts its own PostgreSQL from the host's server
// binaries, keeping the data in a persistent directory (-data), migrates,
// writes the demo clinics on first run, and prints the address and the
// demo sign-ins.
//
// In production set DATABASE_URL (the app role, which must not be able to
// bypass row-level security), MIGRATION_DATABASE_URL (the owner role) and
// PLATFORM_DATABASE_URL (the platform role); DB_CLINIC_SHARE caps the
// connections one clinic's requests hold at once; AUDIT_ROLE names the audit
// log's owner (a NOLOGIN role, default tenancy_audit), and
// AUDIT_ADMIN_DATABASE_URL connects as an administrator who can SET ROLE
// to it (a superuser or a member of it), needed only while an audit log
// migration is pending (the first start, or the upgrade that hands the
// audit log to its owner). DB_MAX_CONNS caps the app
// role's connection pool and REQUEST_TIMEOUT bounds each request (default
// 15s); DB_CONTEXT_MODE=set-local sets each transaction's clinic context
// with SET LOCAL, as Citus needs (app.Config.ContextMode); a request that cannot get a connection or finish its queries in
// time answers 503 with Retry-After.
//
// OIDC_ISSUER and OIDC_AUDIENCE (both or neither) make the API accept the
// access tokens of an external OpenID provider for clinic staff, beside
// its own sign-in; OIDC_ALLOW_JWT_TYP=1 accepts tokens typed "JWT". The
// claims the provider must add are in app.IdentityProvider's doc.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
	// The clinics' time zones, even on a host without a zone database (a
	// scratch or distroless image): every time is shown in the clinic's
	// zone, and a zone that cannot be loaded fails the page.
	_ "time/tzdata"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func main() {
	cfg := app.Config{
		DatabaseURL:           os.Getenv("DATABASE_URL"),
		MigrationDatabaseURL:  os.Getenv("MIGRATION_DATABASE_URL"),
		PlatformDatabaseURL:   os.Getenv("PLATFORM_DATABASE_URL"),
		AuditAdminDatabaseURL: os.Getenv("AUDIT_ADMIN_DATABASE_URL"),
		AuditRole:             os.Getenv("AUDIT_ROLE"),
		KeyFile:               os.Getenv("SIGNING_KEY_FILE"),
		Seed:                  os.Getenv("SEED_DEMO") == "1",
		SecureCookies:         os.Getenv("SECURE_COOKIES") == "1",
		Out:                   os.Stdout,
		SummaryEvery:          time.Hour,
	}
	if v := os.Getenv("DB_MAX_CONNS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "DB_MAX_CONNS=%q: want a positive whole number\n", v)
			os.Exit(2)
		}
		cfg.MaxConns = int32(n)
	}
	if v := os.Getenv("DB_CLINIC_SHARE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "DB_CLINIC_SHARE=%q: want a positive whole number of connections\n", v)
			os.Exit(2)
		}
		cfg.ClinicShare = tenantdb.Share{Conns: n, Wait: 2 * time.Second}
	}
	if v := os.Getenv("REQUEST_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			fmt.Fprintf(os.Stderr, "REQUEST_TIMEOUT=%q: want a positive duration such as 15s\n", v)
			os.Exit(2)
		}
		cfg.RequestTimeout = d
	}
	switch iss, aud := os.Getenv("OIDC_ISSUER"), os.Getenv("OIDC_AUDIENCE"); {
	case iss != "" && aud != "":
		cfg.IdentityProvider = &app.IdentityProvider{Issuer: iss, Audience: aud, AllowJWTType: os.Getenv("OIDC_ALLOW_JWT_TYP") == "1"}
	case iss != "" || aud != "":
		fmt.Fprintln(os.Stderr, "OIDC_ISSUER and OIDC_AUDIENCE go together: set both to accept an identity provider's tokens, or neither")
		os.Exit(2)
	}
	flag.StringVar(&cfg.Addr, "addr", envOr("ADDR", "127.0.0.1:8080"), "HTTP listen address (env ADDR)")
	flag.StringVar(&cfg.DataDir, "data", envOr("DENTALCLINIC_DATA_DIR", defaultDataDir()),
		"directory for the embedded PostgreSQL and the signing key (env DENTALCLINIC_DATA_DIR)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := app.Run(ctx, cfg); err != nil {
		cfg.Log.Error("dentalclinic stopped", "err", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// defaultDataDir is the user's data directory, or /var/lib for root, since
// the embedded server then runs as the postgres user, who cannot enter
// root's home.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/mydentalpractice"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "mydentalpractice")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "mydentalpractice")
	}
	return filepath.Join(os.TempDir(), "mydentalpractice")
}
