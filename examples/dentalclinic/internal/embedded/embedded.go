// Package embedded prepares the reference app's own PostgreSQL server, the
// one started from the host's binaries when no DATABASE_URL is given (and
// the clinic-scale benchmarks' server, laid out the same way): its four
// roles and its database.
package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

// Roles are the role names of the embedded database.
var Roles = migrations.Roles{Owner: "dental_owner", App: "dental_app", Platform: "dental_platform", Audit: "dental_audit"}

// Database is the name of the embedded database.
const Database = "dentalclinic"

// Conns are connection strings to the embedded database, one per role.
type Conns struct {
	Owner    string // migrations, the seed and the sign-in functions; BYPASSRLS
	App      string // every request; row-level security binds it
	Platform string // registry work and cross-clinic audit reads
	// Admin is the server's superuser, for the audit log's migrations:
	// only an administrator who can SET ROLE to the audit owner installs
	// it (migrations.Conns.AuditAdmin). Nothing else uses it.
	Admin string
	// AuditRole names the audit owner, which no connection can name (it
	// cannot log in): Roles.Audit.
	AuditRole string
}

// Migrations returns the connections that migrations.Up runs on.
func (c Conns) Migrations() migrations.Conns {
	return migrations.Conns{Owner: c.Owner, AuditAdmin: c.Admin}
}

// Bootstrap makes the four roles and the database on c if they are
// missing. The login roles get fresh random passwords at every call, so
// none is ever stored; the owner may bypass row-level security (it runs
// the migrations and owns the sign-in functions), the app and platform
// roles may not, and only they may connect besides the owner. The audit
// owner (Roles.Audit) cannot log in and is a member of no other role: it
// owns the audit log, which the superuser installs as it.
func Bootstrap(ctx context.Context, c *pglocal.Cluster) (Conns, error) {
	conn, err := pgx.Connect(ctx, c.SuperuserConnString("postgres"))
	if err != nil {
		return Conns{}, fmt.Errorf("embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	pw := map[string]string{}
	for _, r := range []struct{ name, attrs string }{
		{Roles.Owner, "BYPASSRLS"}, {Roles.App, "NOBYPASSRLS"}, {Roles.Platform, "NOBYPASSRLS"},
	} {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		pw[r.name] = hex.EncodeToString(b)
		var exists bool
		if err := conn.QueryRow(ctx, "select exists (select 1 from pg_roles where rolname = $1)", r.name).Scan(&exists); err != nil {
			return Conns{}, fmt.Errorf("embedded PostgreSQL: %w", err)
		}
		verb := "CREATE"
		if exists {
			verb = "ALTER"
		}
		sql := fmt.Sprintf("%s ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE %s PASSWORD '%s'", verb,
			pgx.Identifier{r.name}.Sanitize(), r.attrs, pw[r.name])
		if _, err := conn.Exec(ctx, sql); err != nil {
			return Conns{}, fmt.Errorf("embedded PostgreSQL: role %s: %w", r.name, err)
		}
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`DO $$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %[1]s) THEN CREATE ROLE %[2]s; END IF;
		END $$;
		ALTER ROLE %[2]s NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION`,
		"'"+Roles.Audit+"'", pgx.Identifier{Roles.Audit}.Sanitize())); err != nil {
		return Conns{}, fmt.Errorf("embedded PostgreSQL: role %s: %w", Roles.Audit, err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "select exists (select 1 from pg_database where datname = $1)", Database).Scan(&exists); err != nil {
		return Conns{}, fmt.Errorf("embedded PostgreSQL: %w", err)
	}
	if !exists {
		for _, sql := range []string{
			fmt.Sprintf("CREATE DATABASE %s OWNER %s", Database, Roles.Owner),
			fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", Database),
			fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s, %s", Database, Roles.App, Roles.Platform),
		} {
			if _, err := conn.Exec(ctx, sql); err != nil {
				return Conns{}, fmt.Errorf("embedded PostgreSQL: %w", err)
			}
		}
	}
	cs := func(role string) string {
		return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable", c.Host(), c.Port(), role, pw[role], Database)
	}
	return Conns{Owner: cs(Roles.Owner), App: cs(Roles.App), Platform: cs(Roles.Platform), Admin: c.SuperuserConnString(Database), AuditRole: Roles.Audit}, nil
}
