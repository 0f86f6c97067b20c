package pglocal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Cluster is a running PostgreSQL server started by [Start]. Its methods
// are safe for concurrent use.
type Cluster struct {
	binDir    string
	dataDir   string
	runDir    string // private directory: socket, log, and for temporary clusters the data
	temporary bool
	port      int
	superuser string
	cred      *syscall.Credential // nil unless the server runs as another user

	cfg Config // as given to Start, for Restart

	// procMu guards cmd, done and waitErr against Restart, which replaces
	// them.
	procMu     sync.Mutex
	cmd        *exec.Cmd
	program    string         // for messages; "" means postgres
	stopSignal syscall.Signal // 0 means SIGINT, PostgreSQL's fast shutdown
	done       chan struct{}  // closed when the server process has exited
	waitErr    error          // set before done is closed

	stopOnce sync.Once
	stopErr  error
}

// Start initialises the data directory if needed and starts a server,
// returning once it accepts connections. ctx bounds start-up only (together
// with Config.StartTimeout); cancelling it later does not stop the server:
// call [Cluster.Stop].
//
// On failure nothing is left running and the error quotes the end of the
// server's log.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Superuser == "" {
		cfg.Superuser = defaultSuperuser
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()

	binDir := cfg.BinDir
	if binDir == "" {
		var err error
		if binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	} else if err := hasServer(binDir); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoBinaries, err)
	}

	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	reapStale()

	c := &Cluster{binDir: binDir, superuser: cfg.Superuser, cred: cred, temporary: cfg.DataDir == "", cfg: cfg}
	if c.runDir, err = makeRunDir(cred); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(c.runDir)
		}
	}()

	if c.temporary {
		c.dataDir = filepath.Join(c.runDir, "data")
	} else {
		if c.dataDir, err = filepath.Abs(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("pglocal: data directory: %w", err)
		}
		if err := prepareDataDir(c.dataDir, cred); err != nil {
			return nil, err
		}
	}
	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	if err := c.startOnPort(ctx, cfg); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// startOnPort starts the server on cfg.Port, or on a free port when it is
// zero.
func (c *Cluster) startOnPort(ctx context.Context, cfg Config) error {
	for attempt := 0; ; attempt++ {
		c.port = cfg.Port
		if c.port == 0 {
			var err error
			if c.port, err = freePort(); err != nil {
				return err
			}
		}
		err := c.start(ctx, cfg)
		if err == nil {
			return nil
		}
		// Another process may take a free port between our probe and the
		// server's bind: try again with a new one.
		if cfg.Port == 0 && attempt < 4 && errors.Is(err, errPortInUse) {
			continue
		}
		return err
	}
}

// serverCredential returns the credential to run the server with: nil when
// the caller is not root, else the "postgres" system user.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pglocal: running as root, and PostgreSQL refuses to run as root, "+
			"but there is no \"postgres\" system user to run it as (%v); %s, or run as an unprivileged user", err, installHint)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("pglocal: user postgres has a non-numeric uid or gid")
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// makeRunDir creates the private directory for the socket and the log
// (and a temporary cluster's data), owned by the server's user.
func makeRunDir(cred *syscall.Credential) (string, error) {
	base := os.TempDir()
	// A Unix socket path is limited to about 107 bytes.
	if len(base) > 60 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, runDirPrefix)
	if err != nil {
		return "", fmt.Errorf("pglocal: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("pglocal: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sock"), 0o700); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("pglocal: %w", err)
	}
	if cred != nil {
		for _, p := range []string{dir, filepath.Join(dir, "sock")} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				os.RemoveAll(dir)
				return "", fmt.Errorf("pglocal: %w", err)
			}
		}
	}
	return dir, nil
}

// prepareDataDir creates a persistent data directory and makes sure the
// server's user can reach and own it.
func prepareDataDir(dir string, cred *syscall.Credential) error {
	// Parents we create must let the server's user through; the data
	// directory itself is private (initdb insists on 0700 or 0750).
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("pglocal: data directory: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("pglocal: data directory: %w", err)
	}
	if cred == nil {
		return nil
	}
	if blocked := firstUnreachable(filepath.Dir(dir), cred); blocked != "" {
		return fmt.Errorf("pglocal: the data directory %s is not reachable by the postgres user, "+
			"which the server runs as when started by root: %s is not searchable by it; "+
			"choose a data directory outside it (for example under /var/lib or /tmp)", dir, blocked)
	}
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("pglocal: data directory: %w", err)
	}
	return nil
}

// firstUnreachable returns the first directory from / down to dir that
// the user in cred may not search, or "" when all are searchable.
func firstUnreachable(dir string, cred *syscall.Credential) string {
	var chain []string
	for d := dir; ; d = filepath.Dir(d) {
		chain = append(chain, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	slices.Reverse(chain)
	for _, d := range chain {
		fi, err := os.Stat(d)
		if err != nil {
			return d
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		perm := fi.Mode().Perm()
		var bit os.FileMode
		switch {
		case st.Uid == cred.Uid:
			bit = 0o100
		case st.Gid == cred.Gid:
			bit = 0o010
		default:
			bit = 0o001
		}
		if perm&bit == 0 {
			return d
		}
	}
	return ""
}

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := name
	if !filepath.IsAbs(name) {
		path = filepath.Join(c.binDir, name)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = serverEnv()
	cmd.Dir = c.runDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true}
	return cmd
}

// serverEnv is the environment for initdb and the server: the caller's,
// minus libpq variables that could point them elsewhere, in the C locale.
func serverEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=")
	})
	return append(env, "LC_ALL=C", "LANG=C")
}

// initdb initialises the data directory unless it already holds a cluster.
func (c *Cluster) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		return nil
	}
	args := []string{
		"--pgdata=" + c.dataDir,
		"--username=" + c.superuser,
		"--auth-local=trust",        // the socket directory is private to the server's user
		"--auth-host=scram-sha-256", // TCP logins need a password; the superuser has none
		"--encoding=UTF8", "--locale=C",
		"--no-instructions",
	}
	if c.temporary {
		args = append(args, "--no-sync")
	}
	cmd := c.command(ctx, "initdb", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pglocal: initdb: %w\n%s", err, tail(out, 20))
	}
	return nil
}

var errPortInUse = errors.New("pglocal: port in use")

// start runs the server and waits until it is ready.
func (c *Cluster) start(ctx context.Context, cfg Config) error {
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"port":                    strconv.Itoa(c.port),
		"unix_socket_directories": filepath.Join(c.runDir, "sock"),
		"unix_socket_permissions": "0700",
		"logging_collector":       "off",
		"max_connections":         "200",
	}
	if c.temporary {
		maps.Copy(settings, map[string]string{
			"fsync":              "off",
			"synchronous_commit": "off",
			"full_page_writes":   "off",
			"shared_buffers":     "32MB",
		})
	}
	maps.Copy(settings, cfg.Settings)
	args := []string{"-D", c.dataDir}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-c", k+"="+settings[k])
	}

	logPath := c.logPath()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor

	// The server is not bound to ctx: ctx bounds start-up only.
	cmd := c.command(context.Background(), "postgres", args...)
	var out io.Writer = logFile
	if cfg.Log != nil {
		out = io.MultiWriter(logFile, cfg.Log)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// A fast shutdown if we die, even from SIGKILL: see startLocked.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGINT

	c.cmd = cmd
	c.done = make(chan struct{})
	if err := startLocked(cmd, c.done, &c.waitErr); err != nil {
		return fmt.Errorf("pglocal: starting postgres: %w", err)
	}

	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if c.ready() {
			return nil
		}
		select {
		case <-c.done:
			log := c.logTail(30)
			if strings.Contains(log, "could not bind") || strings.Contains(log, "Address already in use") {
				return fmt.Errorf("%w: %d", errPortInUse, c.port)
			}
			return fmt.Errorf("pglocal: postgres exited during start-up (%v):\n%s", c.waitErr, log)
		case <-ctx.Done():
			c.kill()
			return fmt.Errorf("pglocal: postgres not ready: %w:\n%s", ctx.Err(), c.logTail(30))
		case <-tick.C:
		}
	}
}

// startLocked starts cmd from a goroutine locked to its OS thread, which
// then waits for the process. The kernel delivers the parent-death signal
// when the thread that forked the child exits; Go may retire idle threads,
// so the forking thread is pinned for as long as the child lives.
func startLocked(cmd *exec.Cmd, done chan struct{}, waitErr *error) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread ends with this goroutine, after the child.
		if err := cmd.Start(); err != nil {
			started <- err
			close(done)
			return
		}
		started <- nil
		*waitErr = cmd.Wait()
		close(done)
	}()
	return <-started
}

// ready reports whether postmaster.pid, written by our server process and
// not left by an earlier one, says it accepts connections, as pg_ctl -w
// checks it.
func (c *Cluster) ready() bool {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	const statusLine = 7 // LOCK_FILE_LINE_PM_STATUS - 1
	if len(lines) <= statusLine || strings.TrimSpace(lines[0]) != strconv.Itoa(c.cmd.Process.Pid) {
		return false
	}
	return strings.TrimSpace(lines[statusLine]) == "ready"
}

// PID returns the server's (postmaster's) process id.
func (c *Cluster) PID() int {
	c.procMu.Lock()
	defer c.procMu.Unlock()
	return c.cmd.Process.Pid
}

// Restart stops the server with a fast shutdown and starts it again on the
// same port and data directory, as `pg_ctl restart -m fast` does: open
// transactions roll back, every client connection ends, and until the
// server is back new connections are refused or told that the database
// system is shutting down or starting up. It returns once the server
// accepts connections again; ctx bounds the start (with the Config's
// StartTimeout). It is for tests of what an application does meanwhile.
// A Stop during a Restart waits for it.
func (c *Cluster) Restart(ctx context.Context) error {
	c.procMu.Lock()
	defer c.procMu.Unlock()
	_ = c.cmd.Process.Signal(syscall.SIGINT) // PostgreSQL's fast shutdown
	select {
	case <-c.done:
	case <-time.After(stopTimeout):
		return fmt.Errorf("pglocal: postgres did not stop for the restart:\n%s", c.logTail(30))
	}
	timeout := c.cfg.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.start(ctx, c.cfg)
}

// Stop shuts the server down (fast shutdown: open transactions roll back),
// waits for it to exit, and removes the temporary directories. It escalates
// to an immediate shutdown, then SIGKILL, if the server does not stop in
// time. Stop is idempotent; later calls return the first call's result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.procMu.Lock()
		defer c.procMu.Unlock()
		c.stopErr = c.shutdown()
		if err := os.RemoveAll(c.runDir); err != nil && c.stopErr == nil {
			c.stopErr = fmt.Errorf("pglocal: removing %s: %w", c.runDir, err)
		}
	})
	return c.stopErr
}

func (c *Cluster) shutdown() error {
	first := c.stopSignal
	if first == 0 {
		first = syscall.SIGINT
	}
	program := c.program
	if program == "" {
		program = "postgres"
	}
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{first, stopTimeout}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}} {
		select {
		case <-c.done:
			return nil
		default:
		}
		_ = c.cmd.Process.Signal(step.sig)
		select {
		case <-c.done:
			if step.sig != first {
				return fmt.Errorf("pglocal: %s did not stop on %v; sent %v", program, first, step.sig)
			}
			return nil
		case <-time.After(step.wait):
		}
	}
	return fmt.Errorf("pglocal: %s (pid %d) did not exit", program, c.cmd.Process.Pid)
}

// kill ends a server that failed to start.
func (c *Cluster) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// Done returns a channel that is closed when the server process exits, for
// whatever reason.
// After a [Cluster.Restart] it is the restarted process's channel.
func (c *Cluster) Done() <-chan struct{} {
	c.procMu.Lock()
	defer c.procMu.Unlock()
	return c.done
}

// Port returns the loopback TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// Host returns the TCP host the server listens on, "127.0.0.1".
func (c *Cluster) Host() string { return "127.0.0.1" }

// SocketDir returns the directory of the server's Unix socket. It is
// private to the server's user (and root).
func (c *Cluster) SocketDir() string { return filepath.Join(c.runDir, "sock") }

// DataDir returns the data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// BinDir returns the directory of the server binaries in use.
func (c *Cluster) BinDir() string { return c.binDir }

// Superuser returns the bootstrap superuser's name.
func (c *Cluster) Superuser() string { return c.superuser }

// SuperuserConnString returns a libpq keyword/value connection string for
// the superuser to database dbname, through the Unix socket (the only way
// the superuser may log in).
func (c *Cluster) SuperuserConnString(dbname string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		quoteConnValue(c.SocketDir()), c.port, quoteConnValue(c.superuser), quoteConnValue(dbname))
}

// LogTail returns up to the last n lines of the server's log, for
// diagnostics.
func (c *Cluster) LogTail(n int) string { return c.logTail(n) }

func (c *Cluster) logPath() string { return filepath.Join(c.runDir, "postgres.log") }

func (c *Cluster) logTail(n int) string {
	b, _ := os.ReadFile(c.logPath())
	return tail(b, n)
}

func tail(b []byte, n int) string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// quoteConnValue quotes a value for a libpq keyword/value string.
func quoteConnValue(s string) string {
	if s != "" && !strings.ContainsAny(s, ` '\`) {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pglocal: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

const (
	runDirPrefix = "pglocal-"
	ownerFile    = "owner.pid"
)

// reapStale removes run directories of earlier processes that died without
// stopping their cluster (the parent-death signal stopped the server, but
// nobody removed the files). A directory is removed only when both the
// process that made it and the server recorded in it are gone.
func reapStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), runDirPrefix+"*"))
	if os.TempDir() != "/tmp" {
		more, _ := filepath.Glob(filepath.Join("/tmp", runDirPrefix+"*"))
		dirs = append(dirs, more...)
	}
	for _, dir := range dirs {
		owner, ok := readPID(filepath.Join(dir, ownerFile))
		if !ok || alive(owner) {
			continue
		}
		if pm, ok := readPID(filepath.Join(dir, "data", "postmaster.pid")); ok && alive(pm) {
			continue
		}
		os.RemoveAll(dir)
	}
}

func readPID(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	return pid, err == nil && pid > 0
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
