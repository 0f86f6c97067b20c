package pglocal

import "errors"

var (
	// ErrNoBinaries is returned (wrapped) when no PostgreSQL server
	// binaries can be found. Its message names the package to install.
	ErrNoBinaries = errors.New("pglocal: PostgreSQL server binaries not found")

	// ErrStopped is returned by methods of a [Cluster] that has been stopped.
	ErrStopped = errors.New("pglocal: cluster stopped")
)

const installHint = "install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; " +
	"Fedora: dnf install postgresql-server; macOS: brew install postgresql), " +
	"or set PG_BIN to the directory holding initdb and postgres"
