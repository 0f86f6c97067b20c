// Package app wires the reference app together: the database (embedded or
// given), migrations, demo data, the SDK's layers, and the HTTP server.
package app

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/api"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/embedded"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/load"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/signin"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/web"
	"github.com/mydentalpractice/tenancy/impersonation"
	"github.com/mydentalpractice/tenancy/internal/pglocal"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
	"github.com/mydentalpractice/tenancy/tenantriver"
)

// Config says how to run the app.
type Config struct {
	Addr string // HTTP listen address

	// DatabaseURL connects as the app role; MigrationDatabaseURL as the
	// owner role; PlatformDatabaseURL as the platform role. With
	// DatabaseURL empty the app runs its own PostgreSQL in DataDir.
	DatabaseURL          string
	MigrationDatabaseURL string
	PlatformDatabaseURL  string
	// AuditAdminDatabaseURL connects as an administrator who can SET ROLE
	// to the audit owner (AuditRole): a superuser, or a member of it. The
	// audit log's migrations run on it (migrations.AuditVersions): the
	// first start, and an upgrade that gives an audit log the owner role
	// owned to the audit owner. Without it, the app refuses to start while
	// one of them is pending. The embedded database uses its superuser.
	AuditAdminDatabaseURL string
	// AuditRole is the audit log's owner, a NOLOGIN role made with the
	// others (tenancy rls roles). Default "tenancy_audit"
	// (rls.DefaultAuditRole); the embedded database's is "dental_audit".
	AuditRole string

	// DataDir holds the embedded PostgreSQL's data (DataDir/pgdata) and the
	// token signing key (DataDir/jwt-signing-key.pem).
	DataDir string
	// KeyFile overrides where the signing key is kept.
	KeyFile string
	// CheckpointInterval is how often a signed checkpoint of the audit
	// chains' heads is written to DataDir/audit-checkpoints, signed with
	// the audit signing key DataDir/audit-signing-key.pem (made on first
	// run, mode 0600; its public key beside it, .pub). Zero means an
	// hour. In production keep both off the database's machine, away from
	// its administrators: a checkpoint they can rewrite proves nothing.
	CheckpointInterval time.Duration

	// MaxConns caps the app role's connection pool (DB_MAX_CONNS in
	// main). Zero means pgxpool's default, the larger of 4 and the number
	// of CPUs. Requests beyond it wait for a connection, at most until
	// their deadline, and then answer 503 with Retry-After.
	MaxConns int32
	// ClinicShare is what one clinic's requests may hold of the app
	// role's pool at once (tenantdb.Share; DB_CLINIC_SHARE in main sets
	// its Conns, with a Wait of 2s): a clinic over it waits its turn, and
	// past the Wait answers 503 "busy" with Retry-After, while the other
	// clinics' requests find connections. The zero Share is no limit.
	ClinicShare tenantdb.Share
	// ContextMode is how tenantdb sets each transaction's clinic context
	// (tenantdb.Config.ContextMode): tenantdb.ContextSetLocal sends SET
	// LOCAL statements, which Citus propagates to its workers. When it is
	// zero, Run reads DB_CONTEXT_MODE ("set-config", the default, or
	// "set-local"), so that main and the app's test suites select it the
	// same way. In the SET LOCAL mode the app role's pool uses pgx's exec
	// mode (tenantdb needs exec or simple_protocol there), unless
	// DatabaseURL chose simple_protocol.
	ContextMode tenantdb.ContextMode
	// RequestTimeout bounds every API request, the wait for a database
	// connection and each statement included (REQUEST_TIMEOUT in main).
	// Zero means 15s.
	RequestTimeout time.Duration

	// SignInAttempts is how many sign-in (and portal enrolment) attempts
	// one address may make for one email per minute (signin.Config.Attempts;
	// tests raise it). Zero means 10; a negative number is refused.
	SignInAttempts int

	// Seed writes the demo data when the database has no clinic yet.
	// Always true for the embedded database.
	Seed bool

	Log *slog.Logger
	Out io.Writer // where the start-up banner goes
	// Ready, if set, receives the base URL once the server listens.
	Ready chan<- string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// SecureCookies marks the web UI's cookies Secure (with the __Host-
	// prefix): set it whenever people reach the app over HTTPS.
	SecureCookies bool
	// API, if set, receives the API server once it is built, before it
	// serves: tests read its route table, the leak harness's inventory.
	API func(*api.Server)
	// Web, if set, receives the web UI's server once it is built, before
	// it serves: tests read its route table, the page leak harness's
	// inventory.
	Web func(*web.Server)

	// SummaryEvery, if positive, is how often the app checks that every
	// clinic's summary of the previous day (UTC) was written, and writes
	// the missing ones through the cross-clinic entry point
	// (tenantdb.Pool.EveryTenant), each in the clinic's audit log. main
	// sets an hour; zero means off.
	SummaryEvery time.Duration

	// ReminderLead is how long before an appointment its reminder is
	// written to the clinic's outbox, by a background job enqueued when it
	// is booked or moved. Zero means 24 hours.
	ReminderLead time.Duration

	// IdentityProvider, if set, is an external OpenID provider whose
	// access tokens the API accepts for clinic staff, beside the app's
	// own sign-in (OIDC_ISSUER and OIDC_AUDIENCE in main).
	IdentityProvider *IdentityProvider
}

// IdentityProvider is an external OpenID provider (Auth0, Keycloak,
// Zitadel, Okta, …) whose access tokens the API accepts for clinic staff.
// The provider puts three claims in them, named by ClaimClinic, ClaimStaff
// and ClaimRoles (Auth0 Actions, Keycloak mappers and Zitadel actions all
// add such claims): the clinic's id, the staff member's id in this app, and
// the staff roles the provider grants. The API admits a token only for an
// enabled staff account of that clinic holding every role it claims.
type IdentityProvider struct {
	// Issuer is the provider's issuer identifier, an https URL;
	// discovery and the key set are read from it. Required.
	Issuer string
	// Audience is this API's identifier at the provider. Required.
	Audience string
	// AllowJWTType accepts access tokens typed "JWT" (Keycloak, Zitadel,
	// Auth0's default profile) besides RFC 9068's "at+jwt".
	AllowJWTType bool
	// HTTPClient reaches the provider; nil means a default client.
	HTTPClient *http.Client
	// RefreshInterval is how often the key set is fetched again; zero
	// means jwtctx's default.
	RefreshInterval time.Duration
}

// The claims of an IdentityProvider's access tokens.
const (
	ClaimClinic = "https://mydentalpractice.example/clinic_id"
	ClaimStaff  = "https://mydentalpractice.example/staff_id"
	ClaimRoles  = "https://mydentalpractice.example/roles"
)

// provider connects to cfg's identity provider: discovery and the first
// key set fetch, bounded by ctx. Nil cfg means none.
func (cfg *IdentityProvider) provider(ctx context.Context, log *slog.Logger) (*jwtctx.Provider, error) {
	if cfg == nil {
		return nil, nil
	}
	p, err := jwtctx.NewProvider(ctx, jwtctx.ProviderConfig{
		Issuer: cfg.Issuer, Audience: cfg.Audience, AllowJWTType: cfg.AllowJWTType,
		HTTPClient: cfg.HTTPClient, RefreshInterval: cfg.RefreshInterval,
		Claims: jwtctx.ClaimMapping{
			Tenant:  jwtctx.TenantClaim{Path: jwtctx.ClaimPath{ClaimClinic}},
			Kind:    jwtctx.KindClaim{Fixed: kinds.Staff},
			Subject: jwtctx.ClaimPath{ClaimStaff},
			Roles:   jwtctx.RolesClaim{Path: jwtctx.ClaimPath{ClaimRoles}},
		},
		OnRefreshError: func(err error) { log.Warn("identity provider", "err", err) },
	})
	if err != nil {
		return nil, fmt.Errorf("identity provider: %w", err)
	}
	return p, nil
}

// sessionMaxLifetime is the longest lifetime of a token the app accepts;
// revocationPoll is how soon another instance's revocation takes effect.
const (
	sessionMaxLifetime = 12 * time.Hour
	revocationPoll     = 5 * time.Second
)

// Run runs the app until ctx is cancelled, then shuts down gracefully.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	conns := connStrings{app: cfg.DatabaseURL, owner: cfg.MigrationDatabaseURL, platform: cfg.PlatformDatabaseURL,
		auditAdmin: cfg.AuditAdminDatabaseURL, audit: cmp.Or(cfg.AuditRole, rls.DefaultAuditRole)}
	seedDemo := cfg.Seed
	if conns.app == "" {
		fmt.Fprintf(cfg.Out, "Starting the embedded PostgreSQL in %s ...\n", filepath.Join(cfg.DataDir, "pgdata"))
		cluster, err := pglocal.Start(ctx, pglocal.Config{DataDir: filepath.Join(cfg.DataDir, "pgdata")})
		if err != nil {
			return fmt.Errorf("embedded PostgreSQL (set DATABASE_URL to use your own server): %w", err)
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				cfg.Log.Error("stopping the embedded PostgreSQL", "err", err)
			}
		}()
		if conns, err = bootstrap(ctx, cluster); err != nil {
			return err
		}
		seedDemo = true
	}
	if conns.owner == "" {
		return errors.New("MIGRATION_DATABASE_URL (the owner role, which runs the migrations) is required with DATABASE_URL")
	}
	if conns.platform == "" {
		return errors.New("PLATFORM_DATABASE_URL (the platform role, for the clinic registry and the audit chains) is required with DATABASE_URL")
	}

	roles, err := roleNames(ctx, conns)
	if err != nil {
		return err
	}
	if _, err := migrations.Up(ctx, migrations.Conns{Owner: conns.owner, AuditAdmin: conns.auditAdmin}, roles); err != nil {
		return err
	}
	seeded := false
	if seedDemo {
		if seeded, err = seedIfEmpty(ctx, conns.owner, cfg.Now()); err != nil {
			return err
		}
		if seeded {
			cfg.Log.Info("wrote the demo data")
		}
	}

	appPoolCfg, err := pgxpool.ParseConfig(conns.app)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	if cfg.MaxConns > 0 {
		appPoolCfg.MaxConns = cfg.MaxConns
	}
	contextMode := cfg.ContextMode
	if contextMode == tenantdb.ContextSetConfig {
		if contextMode, err = tenantdb.ParseContextMode(os.Getenv("DB_CONTEXT_MODE")); err != nil {
			return fmt.Errorf("DB_CONTEXT_MODE: %w", err)
		}
	}
	if contextMode == tenantdb.ContextSetLocal && appPoolCfg.ConnConfig.DefaultQueryExecMode != pgx.QueryExecModeSimpleProtocol {
		appPoolCfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	platformPool, err := pgxpool.New(ctx, conns.platform)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer platformPool.Close()

	// Tenant work runs as the app role, through tenantdb's own pool (the
	// app keeps no raw pool of that role: sign-in and the revocation list
	// go through its pre-auth handle), for principals that jwtctx's
	// middleware verified. The tenant-less path (registry work) runs as
	// the platform role and is recorded in the platform-wide audit chain;
	// work in one named clinic without a signed-in caller (setting up a
	// clinic, enrolling by invite) goes through InTenant, recorded in that
	// clinic's chain.
	model, err := migrations.Model(roles)
	if err != nil {
		return err
	}
	// Each clinic's load (statements, time, refusals, waits, jobs), for
	// the platform console: the SDK's per-tenant metrics.
	clinicLoad, err := load.New(load.Config{})
	if err != nil {
		return err
	}
	defer clinicLoad.Close(context.Background())
	db, err := tenantdb.OpenConfig(ctx, appPoolCfg, tenantdb.Config{
		Observe: clinicLoad.Observe,
		Model:   model, Sources: []tenancy.Source{jwtctx.Source(), tenantriver.Source()}, System: platformPool, OnSystem: audit.OnSystem,
		Share: cfg.ClinicShare, ContextMode: contextMode,
	})
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer db.Close()
	if seeded {
		// Every clinic's audit chain starts when the clinic does (the admin
		// console's set-up goes through InTenant too), so a checkpoint
		// finds a chain for every clinic of the registry.
		for _, c := range seed.Clinics {
			if err := db.InTenant(ctx, c.ID, "seed: open the clinic's audit chain", func(context.Context, *tenantdb.Tx) error { return nil }); err != nil {
				return fmt.Errorf("seed: %s: %w", c.Name, err)
			}
		}
	}
	key, csrfKey, sealKey, err := signingKey(cfg.keyFile())
	if err != nil {
		return err
	}
	// Background jobs (appointment reminders) run as the owner role on
	// River; each carries the principal of the transaction that enqueued
	// it, and works in that clinic through db.
	bg, err := newJobs(ctx, cfg, conns.owner, model, sealKey, clinicLoad.JobRun)
	if err != nil {
		return err
	}
	defer bg.stop()
	// Revoked tokens (logout, a disabled or changed account, an archived
	// patient) are refused here at once and stored, so that they stay
	// refused after a restart and on the other instances within
	// revocationPoll; ended and expired impersonation grants are refused by
	// the database, on every instance.
	logouts := &jwtctx.MemoryRevoker{}
	revocations := store.NewRevocations(logouts, db.PreAuth(), sessionMaxLifetime)
	if err := revocations.Load(ctx); err != nil {
		return err
	}
	go revocations.Follow(ctx, revocationPoll, func(err error) {
		cfg.Log.WarnContext(ctx, "loading token revocations", "err", err)
	})
	grants, err := impersonation.NewGrantRevoker(platformPool, logouts, cfg.Now)
	if err != nil {
		return err
	}
	idp, err := cfg.IdentityProvider.provider(ctx, cfg.Log)
	if err != nil {
		return err
	}
	var providers []*jwtctx.Provider
	if idp != nil {
		defer idp.Close()
		providers = append(providers, idp)
	}
	tokens, err := jwtctx.New(jwtctx.Config{
		Issuer: "dentalclinic", Audience: "dentalclinic-api", Providers: providers,
		SigningKey: key, Revoker: grants, Now: cfg.Now,
		Principals:  model.Principals(),
		MaxLifetime: sessionMaxLifetime, MaxImpersonationLifetime: impersonation.MaxGrantDuration,
	})
	if err != nil {
		return err
	}
	impersonations, err := impersonation.New(impersonation.Config{
		Platform: platformPool, Issuer: tokens, Revoker: grants, Audit: migrations.Audit, Roles: []string{migrations.RoleSupport}, Now: cfg.Now,
		Principals: model.Principals(),
	})
	if err != nil {
		return err
	}
	auditKey, err := startCheckpoints(ctx, cfg, platformPool)
	if err != nil {
		return err
	}
	if cfg.SummaryEvery > 0 {
		// Stopped when Run returns, and waited for before the pools close.
		sctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); summarizeDaily(sctx, cfg, db, platformPool) }()
		defer func() { stop(); <-done }()
	}
	st := store.New(db, platformPool, store.Options{Jobs: bg, ExportDir: filepath.Join(cfg.DataDir, exportDir), Revoker: revocations, Now: cfg.Now})
	bg.setStore(st, db, auditKey)
	if err := bg.start(ctx); err != nil {
		return err
	}
	// Offboardings under way end with the app, and are waited for before
	// the pools close.
	offboard := &offboarder{store: st, db: db, dir: filepath.Join(cfg.DataDir, offboardDir), key: auditKey, log: cfg.Log, ctx: ctx}
	defer offboard.wait()
	signIn, err := signin.New(signin.Config{
		Store: st, Tokens: tokens, Revoker: revocations, Attempts: cfg.SignInAttempts, Now: cfg.Now, Log: cfg.Log,
	})
	if err != nil {
		return err
	}
	apiHandler, err := api.New(api.Config{
		Store: st, SignIn: signIn, DB: db, Tokens: tokens,
		Impersonations: impersonations, Log: cfg.Log, RequestTimeout: cfg.RequestTimeout,
		ReceiptKey: auditKey, Offboard: offboard,
	})
	if err != nil {
		return err
	}
	if cfg.API != nil {
		cfg.API(apiHandler)
	}
	webHandler, err := web.New(web.Config{
		Store: st, DB: db, SignIn: signIn, Tokens: tokens, Revoker: revocations, Impersonations: impersonations,
		CSRFKey: csrfKey, SecureCookies: cfg.SecureCookies, Log: cfg.Log, Now: cfg.Now, Load: clinicLoad, Offboard: offboard,
	})
	if err != nil {
		return err
	}
	if cfg.Web != nil {
		cfg.Web(webHandler)
	}
	return serve(ctx, cfg, mount(apiHandler, webHandler))
}

func (cfg Config) keyFile() string {
	if cfg.KeyFile != "" {
		return cfg.KeyFile
	}
	return filepath.Join(cfg.DataDir, "jwt-signing-key.pem")
}

// Where the audit signing key, the checkpoints and the clinics' exports
// are kept.
const (
	auditKeyFile  = "audit-signing-key.pem"
	checkpointDir = "audit-checkpoints"
	exportDir     = "exports"
)

// startCheckpoints loads (or makes) the audit signing key, writes a signed
// checkpoint of every clinic's audit chain head now, and then every
// cfg.CheckpointInterval until ctx ends, through the platform role. It
// returns the key, which also signs the owners' receipts.
func startCheckpoints(ctx context.Context, cfg Config, platform *pgxpool.Pool) (ed25519.PrivateKey, error) {
	path := filepath.Join(cfg.DataDir, auditKeyFile)
	key, err := audit.LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path + ".pub"); errors.Is(err, os.ErrNotExist) {
		pub, err := audit.MarshalPublicKey(key.Public().(ed25519.PublicKey))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path+".pub", pub, 0o644); err != nil {
			return nil, fmt.Errorf("audit public key: %w", err)
		}
	}
	cps, err := audit.NewDirStore(filepath.Join(cfg.DataDir, checkpointDir))
	if err != nil {
		return nil, err
	}
	acfg := migrations.Audit
	acfg.TenantRegistry = "public.clinics.id"
	cp, err := audit.NewCheckpointer(audit.CheckpointerConfig{DB: platform, Audit: acfg, KeyType: tenancy.KeyUUID, Key: key, Store: cps})
	if err != nil {
		return nil, err
	}
	if _, err := cp.Checkpoint(ctx); err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	interval := cfg.CheckpointInterval
	if interval <= 0 {
		interval = time.Hour
	}
	go func() {
		_ = cp.Run(ctx, interval, func(err error) {
			cfg.Log.WarnContext(ctx, "writing an audit checkpoint", "err", err)
		})
	}()
	return key, nil
}

// connStrings are the connections of the app's roles, the audit log's
// administrator's (empty: none), and the audit owner's name.
type connStrings struct{ app, owner, platform, auditAdmin, audit string }

// bootstrap makes the embedded server's roles and database
// (embedded.Bootstrap).
func bootstrap(ctx context.Context, c *pglocal.Cluster) (connStrings, error) {
	cs, err := embedded.Bootstrap(ctx, c)
	return connStrings{app: cs.App, owner: cs.Owner, platform: cs.Platform, auditAdmin: cs.Admin, audit: embedded.Roles.Audit}, err
}

// roleNames reads the three login roles' names from their connections;
// the audit owner cannot log in, so its name is configured.
func roleNames(ctx context.Context, cs connStrings) (migrations.Roles, error) {
	r := migrations.Roles{Audit: cs.audit}
	for _, x := range []struct {
		conn string
		name *string
	}{{cs.owner, &r.Owner}, {cs.app, &r.App}, {cs.platform, &r.Platform}} {
		cfg, err := pgx.ParseConfig(x.conn)
		if err != nil {
			return r, fmt.Errorf("database URL: %w", err)
		}
		*x.name = cfg.User
	}
	if r.Platform == r.Owner || r.Platform == r.App || r.App == r.Owner {
		return r, errors.New("DATABASE_URL, MIGRATION_DATABASE_URL and PLATFORM_DATABASE_URL must connect as three different roles")
	}
	if r.Audit == r.Owner || r.Audit == r.App || r.Audit == r.Platform {
		return r, errors.New("AUDIT_ROLE, the audit log's owner, must be another role than those of DATABASE_URL, MIGRATION_DATABASE_URL and PLATFORM_DATABASE_URL")
	}
	return r, nil
}

func seedIfEmpty(ctx context.Context, ownerConn string, now time.Time) (bool, error) {
	conn, err := pgx.Connect(ctx, ownerConn)
	if err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	defer conn.Close(ctx)
	seeded := false
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "lock table clinics in exclusive mode"); err != nil {
			return err
		}
		empty, err := seed.Empty(ctx, tx)
		if err != nil || !empty {
			return err
		}
		seeded = true
		return seed.Write(ctx, tx, now)
	})
	return seeded, err
}

// mount serves the JSON API (under /api/, and its health, readiness and
// key-set endpoints) beside the web UI, which has every other path.
func mount(apiHandler, webHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/api/", "/healthz", "/readyz", "/.well-known/"} {
		mux.Handle(p, apiHandler)
	}
	mux.Handle("/", webHandler)
	return mux
}

// signingKey loads the Ed25519 signing key from path, or makes one and
// keeps it there (mode 0600) so tokens survive restarts. It also derives
// the web UI's CSRF key from it, so every instance sharing the signing key
// shares the CSRF key, and the key that seals the jobs' principals (jobKey).
func signingKey(path string) (jwtctx.Key, []byte, []byte, error) {
	k, priv, err := loadSigningKey(path)
	if err != nil {
		return jwtctx.Key{}, nil, nil, err
	}
	mac := hmac.New(sha256.New, priv.Seed())
	mac.Write([]byte("dentalclinic web csrf key v1"))
	return k, mac.Sum(nil), jobKey(priv.Seed()), nil
}

func loadSigningKey(path string) (jwtctx.Key, ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return jwtctx.Key{}, nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return jwtctx.Key{}, nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return jwtctx.Key{}, nil, err
		}
		b = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return jwtctx.Key{}, nil, fmt.Errorf("signing key: %w", err)
		}
	} else if err != nil {
		return jwtctx.Key{}, nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return jwtctx.Key{}, nil, fmt.Errorf("signing key %s: not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return jwtctx.Key{}, nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return jwtctx.Key{}, nil, fmt.Errorf("signing key %s: not Ed25519", path)
	}
	pub := priv.Public().(ed25519.PublicKey)
	key, err := jwtctx.NewEd25519Key("ed25519-"+hex.EncodeToString(pub[:6]), priv)
	return key, priv, err
}

func serve(ctx context.Context, cfg Config, handler http.Handler) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s (choose another address with ADDR or -addr): %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	base := "http://" + ln.Addr().String()
	banner(cfg.Out, base)
	if cfg.Ready != nil {
		cfg.Ready <- base
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func banner(out io.Writer, base string) {
	fmt.Fprintf(out, "\nMyDentalPractice is running at %s (sign in at %s/signin)\n\n", base, base)
	fmt.Fprintf(out, "Demo sign-ins (password %q for all):\n", seed.Password)
	for _, c := range seed.Clinics {
		fmt.Fprintf(out, "  %-26s", c.Name)
		for _, s := range seed.StaffRoles {
			fmt.Fprintf(out, " %s", seed.StaffEmail(s.Local, c))
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "  %-26s %s (portal, at Riverside and Hillcrest)\n", "Patient", seed.PortalEmail)
	fmt.Fprintf(out, "  %-26s %s\n\n", "Platform admin", seed.AdminEmail)
	fmt.Fprintf(out, "Try:\n  curl -s %s/api/v1/auth/login -H 'Content-Type: application/json' \\\n    -d '{\"email\":\"owner@riverside.example\",\"password\":%q}'\n", base, seed.Password)
	fmt.Fprintln(out, "Ctrl-C stops it.")
}
