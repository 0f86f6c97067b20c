package pglocal

import (
	"io"
	"time"
)

// Config says how to start a cluster. The zero Config starts a temporary
// cluster on a free loopback port with the binaries [FindBinDir] finds.
type Config struct {
	// BinDir holds initdb and postgres. Empty means [FindBinDir].
	BinDir string

	// DataDir is the cluster's data directory. Empty means a temporary
	// directory, removed by [Cluster.Stop], with fast non-durable settings
	// (fsync, synchronous_commit and full_page_writes off): a crash of the
	// machine may lose it, which does not matter for tests. A non-empty
	// DataDir is created and initialised on first use, reused afterwards,
	// kept by Stop, and runs with PostgreSQL's durable defaults.
	DataDir string

	// Port is the loopback TCP port. Zero picks a free one.
	Port int

	// Superuser is the name of the bootstrap superuser. Default "postgres".
	Superuser string

	// StartTimeout bounds initdb plus server start-up. Default 60s.
	StartTimeout time.Duration

	// Settings are extra server settings, passed as -c name=value. They
	// override pglocal's own.
	Settings map[string]string

	// Log, when set, receives the server's log output as well as the log
	// file that errors quote.
	Log io.Writer
}

const (
	defaultSuperuser    = "postgres"
	defaultStartTimeout = 60 * time.Second
	stopTimeout         = 30 * time.Second
)
