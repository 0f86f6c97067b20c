// Package pglocal starts and stops a throwaway PostgreSQL cluster from the
// host's own server binaries, with no Docker and no network access.
//
// Tests use it through package pgtest with a temporary data directory and
// fast, non-durable settings; the reference app's embedded default uses it
// with a persistent data directory.
//
// # Finding the binaries
//
// [FindBinDir] looks, in order, at the PG_BIN environment variable, at
// initdb on PATH, at `pg_config --bindir`, and at the newest
// /usr/lib/postgresql/*/bin (Debian and Ubuntu). When none holds initdb and
// postgres, the error wraps [ErrNoBinaries] and says which package to
// install.
//
// # Running as root
//
// PostgreSQL refuses to run as root. When the calling process is root,
// pglocal runs initdb and the server as the "postgres" system user (which
// Debian's postgresql package creates) and hands the directories to it.
// A persistent data directory must then be reachable by that user; [Start]
// says which parent directory blocks it.
//
// # Lifetime
//
// The server is a child process in its own process group, so a terminal's
// Ctrl-C reaches the application first and the application decides when
// to stop the database. If the process that started it dies, even from a
// panic or SIGKILL, the kernel sends the server SIGINT (a fast shutdown)
// through the parent-death signal. Temporary directories left by such a
// death are removed by a later [Start].
//
// # Security
//
// The superuser can log in only through the Unix socket, whose directory is
// private to the server's user (mode 0700); the loopback TCP port accepts
// only password (SCRAM) logins, and the superuser has no password. The
// server listens on 127.0.0.1 only.
package pglocal
