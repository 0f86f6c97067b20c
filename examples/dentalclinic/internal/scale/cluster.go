package scale

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

// Roles are the role names of a scale database: the same as the app's
// embedded database, so that the app can also be pointed at it.
var Roles = migrations.Roles{Owner: "dental_owner", App: "dental_app", Platform: "dental_platform"}

// Database is the name of a scale database.
const Database = "dentalclinic"

// Conns are connection strings to a scale database, one per role.
type Conns struct {
	Owner    string // migrations and the generator; BYPASSRLS
	App      string // row-level security binds it
	Platform string // registry work
}

// LoadSettings are server settings for bulk loading: fast and not
// durable (a crash of the machine during generation loses the data, which
// is then generated again).
var LoadSettings = map[string]string{
	"fsync":                            "off",
	"synchronous_commit":               "off",
	"full_page_writes":                 "off",
	"shared_buffers":                   "2GB",
	"maintenance_work_mem":             "1GB",
	"max_wal_size":                     "20GB",
	"checkpoint_timeout":               "30min",
	"max_parallel_maintenance_workers": "2",
	"autovacuum":                       "off",
}

// BenchSettings are server settings for measuring against a generated
// database: PostgreSQL's defaults except a realistic cache for 24 GB of
// memory.
var BenchSettings = map[string]string{
	"shared_buffers":       "4GB",
	"effective_cache_size": "12GB",
	"max_connections":      "200",
}

// Cluster is a local PostgreSQL holding a scale database.
type Cluster struct {
	*pglocal.Cluster
	Conns Conns
}

// StartCluster starts (initialising on first use) a PostgreSQL server with
// its data in dataDir/pgdata, the layout of the app's embedded database,
// makes the three roles with fresh random passwords and the database if
// missing, and returns their connection strings. Stop it with Stop.
func StartCluster(ctx context.Context, dataDir string, settings map[string]string) (*Cluster, error) {
	c, err := pglocal.Start(ctx, pglocal.Config{DataDir: filepath.Join(dataDir, "pgdata"), Settings: settings})
	if err != nil {
		return nil, err
	}
	conns, err := bootstrap(ctx, c)
	if err != nil {
		_ = c.Stop()
		return nil, err
	}
	return &Cluster{Cluster: c, Conns: conns}, nil
}

func bootstrap(ctx context.Context, c *pglocal.Cluster) (Conns, error) {
	conn, err := pgx.Connect(ctx, c.SuperuserConnString("postgres"))
	if err != nil {
		return Conns{}, err
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
			return Conns{}, err
		}
		verb := "CREATE"
		if exists {
			verb = "ALTER"
		}
		sql := fmt.Sprintf("%s ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE %s PASSWORD '%s'", verb,
			pgx.Identifier{r.name}.Sanitize(), r.attrs, pw[r.name])
		if _, err := conn.Exec(ctx, sql); err != nil {
			return Conns{}, fmt.Errorf("role %s: %w", r.name, err)
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, "select exists (select 1 from pg_database where datname = $1)", Database).Scan(&exists); err != nil {
		return Conns{}, err
	}
	if !exists {
		for _, sql := range []string{
			fmt.Sprintf("CREATE DATABASE %s OWNER %s", Database, Roles.Owner),
			fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", Database),
			fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s, %s", Database, Roles.App, Roles.Platform),
		} {
			if _, err := conn.Exec(ctx, sql); err != nil {
				return Conns{}, err
			}
		}
	}
	cs := func(role string) string {
		return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable", c.Host(), c.Port(), role, pw[role], Database)
	}
	return Conns{Owner: cs(Roles.Owner), App: cs(Roles.App), Platform: cs(Roles.Platform)}, nil
}
