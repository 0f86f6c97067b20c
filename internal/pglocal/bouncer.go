package pglocal

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BouncerConfig says how to start pgbouncer in front of a server.
type BouncerConfig struct {
	// ServerHost and ServerPort locate the PostgreSQL server. Required.
	ServerHost string
	ServerPort int

	// Users maps the roles clients may log in as to their passwords;
	// pgbouncer uses the same password towards the server (SCRAM both
	// ways). Required.
	Users map[string]string

	// PoolMode is "transaction" (the default), "session" or "statement".
	PoolMode string

	// PoolSize is the number of server connections per database and user.
	// Default 1, which makes every client of a user share one server
	// connection: the harshest setting for leaking session state.
	PoolSize int

	// Log, when set, receives pgbouncer's log.
	Log io.Writer
}

// Bouncer is a running pgbouncer started by [StartBouncer]. Its methods are
// safe for concurrent use.
type Bouncer struct {
	cluster *Cluster // run directory, process and stop logic are shared
	port    int
}

// FindBouncer returns the path of the pgbouncer binary, from PATH or
// /usr/sbin (where Debian installs it), or an error saying how to install
// it.
func FindBouncer() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer", "/usr/local/bin/pgbouncer"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: pgbouncer not found; install it (Debian/Ubuntu: apt-get install pgbouncer; macOS: brew install pgbouncer)", ErrNoBinaries)
}

// StartBouncer starts pgbouncer on a free loopback port and returns once it
// accepts connections. As root it runs as the postgres system user, as the
// server does. Stop it with [Bouncer.Stop].
func StartBouncer(ctx context.Context, cfg BouncerConfig) (*Bouncer, error) {
	bin, err := FindBouncer()
	if err != nil {
		return nil, err
	}
	if cfg.ServerHost == "" || cfg.ServerPort == 0 || len(cfg.Users) == 0 {
		return nil, fmt.Errorf("pglocal: pgbouncer needs a server host, port and users")
	}
	if cfg.PoolMode == "" {
		cfg.PoolMode = "transaction"
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 1
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, defaultStartTimeout)
	defer cancel()

	c := &Cluster{binDir: filepath.Dir(bin), cred: cred, temporary: true, stopSignal: syscall.SIGTERM, program: "pgbouncer"}
	if c.runDir, err = makeRunDir(cred); err != nil {
		return nil, err
	}
	c.dataDir = c.runDir
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(c.runDir)
		}
	}()
	if c.port, err = freePort(); err != nil {
		return nil, err
	}

	var users strings.Builder
	for _, u := range slices.Sorted(maps.Keys(cfg.Users)) {
		fmt.Fprintf(&users, "%s %s\n", quoteBouncer(u), quoteBouncer(cfg.Users[u]))
	}
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = scram-sha-256
auth_file = %s
pool_mode = %s
default_pool_size = %d
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile =
pidfile =
`, cfg.ServerHost, cfg.ServerPort, c.port, filepath.Join(c.runDir, "userlist.txt"), cfg.PoolMode, cfg.PoolSize)
	for name, content := range map[string]string{"userlist.txt": users.String(), "pgbouncer.ini": ini} {
		p := filepath.Join(c.runDir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return nil, fmt.Errorf("pglocal: %w", err)
		}
		if cred != nil {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, fmt.Errorf("pglocal: %w", err)
			}
		}
	}

	logFile, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	defer logFile.Close()
	cmd := c.command(context.Background(), "pgbouncer", filepath.Join(c.runDir, "pgbouncer.ini"))
	var out io.Writer = logFile
	if cfg.Log != nil {
		out = io.MultiWriter(logFile, cfg.Log)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	c.cmd = cmd
	c.done = make(chan struct{})
	if err := startLocked(cmd, c.done, &c.waitErr); err != nil {
		return nil, fmt.Errorf("pglocal: starting pgbouncer: %w", err)
	}

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port))
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			break
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("pglocal: pgbouncer exited during start-up (%v):\n%s", c.waitErr, c.logTail(30))
		case <-ctx.Done():
			c.kill()
			return nil, fmt.Errorf("pglocal: pgbouncer not ready: %w:\n%s", ctx.Err(), c.logTail(30))
		case <-time.After(10 * time.Millisecond):
		}
	}
	ok = true
	return &Bouncer{cluster: c, port: c.port}, nil
}

// Port returns the loopback TCP port pgbouncer listens on.
func (b *Bouncer) Port() int { return b.port }

// Host returns "127.0.0.1".
func (b *Bouncer) Host() string { return "127.0.0.1" }

// Stop stops pgbouncer (SIGTERM: it closes its connections at once) and
// removes its files. It is idempotent.
func (b *Bouncer) Stop() error { return b.cluster.Stop() }

// LogTail returns up to the last n lines of pgbouncer's log.
func (b *Bouncer) LogTail(n int) string { return b.cluster.logTail(n) }

// quoteBouncer quotes a value for pgbouncer's auth file.
func quoteBouncer(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
