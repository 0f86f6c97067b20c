package pglocal_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

// requireBinaries skips when the host has no PostgreSQL, unless CI is set,
// where a missing server is a failure of the CI script.
func requireBinaries(t *testing.T) {
	t.Helper()
	if _, err := pglocal.FindBinDir(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %v", err)
		}
		t.Skip(err)
	}
}

func start(t *testing.T, cfg pglocal.Config) *pglocal.Cluster {
	t.Helper()
	c, err := pglocal.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

func query(t *testing.T, connString, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func exec1(t *testing.T, connString, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestStartStop(t *testing.T) {
	requireBinaries(t)
	t0 := time.Now()
	c, err := pglocal.Start(context.Background(), pglocal.Config{})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Since(t0)

	if got := query(t, c.SuperuserConnString("postgres"), "select current_user"); got != "postgres" {
		t.Errorf("current_user = %q", got)
	}
	if got := query(t, c.SuperuserConnString("postgres"), "show fsync"); got != "off" {
		t.Errorf("temporary cluster has fsync = %q, want off", got)
	}
	if got := query(t, c.SuperuserConnString("postgres"), "show listen_addresses"); got != "127.0.0.1" {
		t.Errorf("listen_addresses = %q", got)
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(c.Host(), strconv.Itoa(c.Port())), time.Second)
	if err != nil {
		t.Fatalf("TCP port %d does not answer: %v", c.Port(), err)
	}
	conn.Close()

	// The superuser has no password, so it cannot log in over TCP.
	tcp := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=5", c.Port())
	if conn, err := pgx.Connect(context.Background(), tcp); err == nil {
		conn.Close(context.Background())
		t.Error("the superuser logged in over TCP without a password")
	}

	if os.Geteuid() == 0 {
		owner := fileOwner(t, c.DataDir())
		if owner != "postgres" {
			t.Errorf("running as root, the data directory belongs to %q, want postgres", owner)
		}
	}

	pid := c.PID()
	dir := filepath.Dir(c.SocketDir())
	t1 := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped := time.Since(t1)
	t.Logf("start %v, stop %v", started.Round(time.Millisecond), stopped.Round(time.Millisecond))
	if processAlive(pid) {
		t.Errorf("postmaster %d still running after Stop", pid)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run directory %s still exists after Stop: %v", dir, err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop = %v, want the first result (nil)", err)
	}
}

func TestPersistentDataDir(t *testing.T) {
	requireBinaries(t)
	dir := tempDirForServer(t)
	dataDir := filepath.Join(dir, "new", "parents", "pgdata") // parents are created, passable by the server's user

	c := start(t, pglocal.Config{DataDir: dataDir})
	if got := query(t, c.SuperuserConnString("postgres"), "show fsync"); got != "on" {
		t.Errorf("persistent cluster has fsync = %q, want on", got)
	}
	exec1(t, c.SuperuserConnString("postgres"), "create table kept (v text)")
	exec1(t, c.SuperuserConnString("postgres"), "insert into kept values ('still here')")
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		t.Fatalf("Stop removed the persistent data directory: %v", err)
	}

	c2 := start(t, pglocal.Config{DataDir: dataDir})
	if got := query(t, c2.SuperuserConnString("postgres"), "select v from kept"); got != "still here" {
		t.Errorf("after restart, kept = %q", got)
	}
}

func TestMissingBinaries(t *testing.T) {
	_, err := pglocal.Start(context.Background(), pglocal.Config{BinDir: t.TempDir()})
	if !errors.Is(err, pglocal.ErrNoBinaries) {
		t.Fatalf("Start with an empty BinDir = %v, want ErrNoBinaries", err)
	}
}

func TestPersistentDataDirUnreachableAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the server to the postgres user")
	}
	requireBinaries(t)
	private := t.TempDir() // mode 0700, owned by root
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := pglocal.Start(context.Background(), pglocal.Config{DataDir: filepath.Join(private, "pgdata")})
	if err == nil || !strings.Contains(err.Error(), "not reachable by the postgres user") || !strings.Contains(err.Error(), private) {
		t.Fatalf("Start = %v; want an error naming %s", err, private)
	}
}

// TestServerStopsWhenOwnerDies starts a cluster in a child process that
// then panics without calling Stop. The parent-death signal must stop the
// server, and a later Start must remove the files left behind.
func TestServerStopsWhenOwnerDies(t *testing.T) {
	requireBinaries(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PGLOCAL_HELPER=panic")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	var runDir string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "postmaster %d %s", &pid, &runDir); err == nil {
			break
		}
	}
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err == nil {
		t.Fatal("helper process did not fail; it should have panicked")
	}
	if pid == 0 {
		t.Fatal("helper process never reported its postmaster")
	}
	deadline := time.Now().Add(30 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGQUIT)
			t.Fatalf("postmaster %d outlived the process that started it", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(runDir); err != nil {
		t.Fatalf("expected the dead owner's run directory %s to remain until reaped: %v", runDir, err)
	}
	start(t, pglocal.Config{}) // reaps stale directories
	if _, err := os.Stat(runDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start did not reap %s: %v", runDir, err)
	}
}

// TestUnprivilegedUser runs a cluster as an ordinary user (nobody), as a
// developer without root would. As root it re-runs this test binary as
// nobody; as any other user the rest of the suite already covers it.
func TestUnprivilegedUser(t *testing.T) {
	requireBinaries(t)
	if os.Geteuid() != 0 {
		t.Skip("already unprivileged: every other test here runs the server as this user")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("no user nobody to run as: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	// The test binary lives in a root-only build directory: copy it where
	// nobody can run it, with a temporary directory of its own.
	dir := tempDirForServer(t)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "pglocal.test")
	copyFile(t, os.Args[0], bin)
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, uid, gid); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin)
	cmd.Dir = tmp
	cmd.Env = []string{"PGLOCAL_HELPER=startstop", "TMPDIR=" + tmp, "HOME=" + tmp, "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "helper ok as nobody") {
		t.Fatalf("cluster as nobody: %v\n%s", err, out)
	}
}

// TestMain runs the child-process modes of the tests above before any test:
// a child started with PGLOCAL_HELPER set does only that and exits.
func TestMain(m *testing.M) {
	if mode := os.Getenv("PGLOCAL_HELPER"); mode != "" {
		helper(mode)
		return
	}
	os.Exit(m.Run())
}

func helper(mode string) {
	c, err := pglocal.Start(context.Background(), pglocal.Config{})
	if err != nil {
		fmt.Println("helper:", err)
		os.Exit(2)
	}
	switch mode {
	case "panic":
		fmt.Printf("postmaster %d %s\n", c.PID(), filepath.Dir(c.SocketDir()))
		panic("helper panics with a cluster running")
	case "startstop":
		ctx := context.Background()
		var got string
		conn, err := pgx.Connect(ctx, c.SuperuserConnString("postgres"))
		if err == nil {
			err = conn.QueryRow(ctx, "select current_user").Scan(&got)
			conn.Close(ctx)
		}
		me, _ := user.Current()
		fi, _ := os.Stat(c.DataDir())
		owner := fi.Sys().(*syscall.Stat_t).Uid
		if err := c.Stop(); err != nil {
			fmt.Println("helper: stop:", err)
			os.Exit(2)
		}
		if err != nil || got != "postgres" || strconv.Itoa(int(owner)) != me.Uid {
			fmt.Printf("helper: query %v, current_user %q, data owned by uid %d, running as %s\n", err, got, owner, me.Uid)
			os.Exit(2)
		}
		fmt.Printf("helper ok as %s\n", me.Username)
	}
}

// tempDirForServer returns a temporary directory that the server's user can
// reach: t.TempDir's parents are private to root when running as root.
func tempDirForServer(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "pglocal-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func fileOwner(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	u, err := user.LookupId(strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)))
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	// A zombie is dead for our purposes.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b))
	return len(fields) < 3 || fields[2] != "Z"
}
