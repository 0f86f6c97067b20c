package scale

import (
	"context"
	"path/filepath"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/embedded"
	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

// Roles are the role names of a scale database: the same as the app's
// embedded database, so that the app can also be pointed at it.
var Roles = embedded.Roles

// Database is the name of a scale database.
const Database = embedded.Database

// Conns are connection strings to a scale database, one per role: Owner
// (migrations and the generator; BYPASSRLS), App (row-level security binds
// it) and Platform (registry work).
type Conns = embedded.Conns

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
	cs, err := embedded.Bootstrap(ctx, c)
	return cs, err
}
