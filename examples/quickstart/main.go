// Command quickstart is a small project tracker built on the tenancy SDK:
// organizations are the tenants, keyed by a bigint org_id, with members,
// guests, projects and tasks. It shows the SDK's three layers in about 400
// lines: the organization comes only from a verified token (jwtctx), the
// app's SQL passes a guard on PostgreSQL's parser (tenantdb), and forced
// row-level security, generated from the same model, has the last word.
//
// It needs a PostgreSQL cluster with the model's three roles (print the
// SQL that makes them with -roles-sql) and two connection strings:
//
//	DATABASE_URL            as tracker_app, the role row-level security binds
//	MIGRATION_DATABASE_URL  as tracker_owner, which owns the tables
//
// It migrates, writes two demo organizations on first run, prints a token
// for each demo user, and serves on ADDR (default 127.0.0.1:8080).
//
// With OIDC_ISSUER and OIDC_AUDIENCE set it also accepts the access tokens
// of that OpenID provider (Auth0, Keycloak, Zitadel, …), whose claims say
// the user's organization, id and kind (see providerClaims).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func main() {
	rolesSQL := flag.String("roles-sql", "", "print the SQL that makes the model's roles for `database`, and exit")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *rolesSQL); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, rolesSQL string) error {
	model, err := newModel(defaultRoles)
	if err != nil {
		return err
	}
	if rolesSQL != "" {
		sql, err := model.RolesSQL(rolesSQL)
		fmt.Print(sql)
		return err
	}
	appURL, ownerURL, addr := os.Getenv("DATABASE_URL"), os.Getenv("MIGRATION_DATABASE_URL"), os.Getenv("ADDR")
	if appURL == "" || ownerURL == "" {
		return errors.New("set DATABASE_URL (the app role, " + model.Config().AppRole + ") and MIGRATION_DATABASE_URL (the owner role, " +
			model.Config().OwnerRole + "); run with -roles-sql DBNAME for the SQL that makes the roles")
	}
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	// Records logged with a request's context name its organization and request.
	log := slog.New(tenancy.LogHandler(slog.NewTextHandler(os.Stderr, nil)))
	if err := migrate(ctx, ownerURL, model); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db, err := openPool(ctx, appURL, model, log)
	if err != nil {
		return err
	}
	defer db.Close()
	users, err := seed(ctx, db)
	if err != nil {
		return err
	}
	var providers []*jwtctx.Provider
	if iss, aud := os.Getenv("OIDC_ISSUER"), os.Getenv("OIDC_AUDIENCE"); iss != "" || aud != "" {
		p, err := identityProvider(ctx, iss, aud, nil)
		if err != nil {
			return err
		}
		defer p.Close()
		providers = append(providers, p)
	}
	auth, err := newAuthority(model, providers...)
	if err != nil {
		return err
	}
	fmt.Println("Demo tokens, valid for an hour (the signing key lives only in this process):")
	for _, u := range users {
		token, err := auth.Issue(u.Principal, time.Hour)
		if err != nil {
			return err
		}
		fmt.Printf("\n%s, %s of org %s:\n%s\n", u.Name, u.Principal.Kind, u.Principal.Tenant, token)
	}
	m := http.NewServeMux()
	if err := (&server{db: db, log: log}).routes(m, auth); err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: m, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Printf("\nServing on http://%s\n", addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openPool opens the app role's tenant-scoped pool, which refuses to start
// unless the role is bound by row-level security and every tenant table
// of the model has it, forced. Work in a named tenant without a signed-in
// user (the seed) is logged by OnSystem; extra sources are the tests'.
func openPool(ctx context.Context, appURL string, model *rls.Model, log *slog.Logger, sources ...tenancy.Source) (*tenantdb.Pool, error) {
	return tenantdb.Open(ctx, appURL, tenantdb.Config{
		Model:   model,
		Sources: append([]tenancy.Source{jwtctx.Source()}, sources...),
		OnSystem: func(ctx context.Context, _ pgx.Tx, use tenantdb.SystemUse) error {
			log.InfoContext(ctx, "work without a signed-in user", "entry", use.Entry, "org", use.Tenant, "reason", use.Reason)
			return nil
		},
	})
}

// providerClaims says where an identity provider's access token holds the
// organization, the user and the kind: custom claims, which Auth0 Actions,
// Keycloak mappers and Zitadel actions can all add. A kind other than
// "member" or "guest" is refused.
var providerClaims = jwtctx.ClaimMapping{
	Tenant:  jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"https://tracker.example/org_id"}},
	Subject: jwtctx.ClaimPath{"https://tracker.example/user_id"},
	Kind: jwtctx.KindClaim{Path: jwtctx.ClaimPath{"https://tracker.example/kind"},
		Values: map[string]tenancy.Kind{"member": member, "guest": guest}},
}

// identityProvider reads the discovery document and key set of the OpenID
// provider at issuer, whose access tokens name audience; client reaches it
// (nil for a default client).
func identityProvider(ctx context.Context, issuer, audience string, client *http.Client) (*jwtctx.Provider, error) {
	p, err := jwtctx.NewProvider(ctx, jwtctx.ProviderConfig{
		Issuer: issuer, Audience: audience, Claims: providerClaims, HTTPClient: client,
		AllowJWTType: true, // most providers type access tokens "JWT"; the audience tells them from ID tokens
	})
	if err != nil {
		return nil, fmt.Errorf("OIDC_ISSUER %s: %w", issuer, err)
	}
	return p, nil
}

// newAuthority makes a token authority with a fresh Ed25519 key, for the
// principals the model declares, that also accepts the access tokens of
// providers.
func newAuthority(model *rls.Model, providers ...*jwtctx.Provider) (*jwtctx.Authority, error) {
	key, err := jwtctx.GenerateKey("quickstart-1")
	if err != nil {
		return nil, err
	}
	return jwtctx.New(jwtctx.Config{
		Issuer:     "quickstart",
		Audience:   "quickstart-api",
		SigningKey: key,
		Revoker:    jwtctx.NoRevocation, // demo tokens live an hour; a real service revokes on logout
		Principals: model.Principals(),
		Providers:  providers,
	})
}
