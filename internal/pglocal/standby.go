package pglocal

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
)

// StartStandby starts a hot standby of c: a physical copy taken with
// pg_basebackup -R -X stream from c's Unix socket as its superuser, which
// then streams c's WAL (streaming replication, no replication slot) and
// answers read-only queries (hot_standby on). It returns once the standby
// accepts connections. The standby is a [Cluster] of its own: on its own
// port and socket, run as the same OS user as c, with c's binaries and
// superuser, and stopped with its own [Cluster.Stop] (stopping it leaves c
// running; stop it before c).
//
// cfg says how to run the standby as [Start] does, except that DataDir
// must be empty: the standby's data directory is always temporary, with
// Start's fast non-durable settings. Its Settings are applied over c's
// own (a standby needs max_connections and the other sizing settings at
// least as large as its primary's), with hot_standby on.
//
// c needs wal_level replica or logical and max_wal_senders above zero
// (PostgreSQL's defaults) and a pg_hba.conf that lets the superuser
// connect for replication through the socket, as the one initdb writes
// for [Start] does. On failure nothing is left running and the error
// quotes pg_basebackup's output or the end of the standby's log.
func (c *Cluster) StartStandby(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.DataDir != "" {
		return nil, fmt.Errorf("pglocal: a standby's data directory is temporary; leave Config.DataDir empty")
	}
	select {
	case <-c.Done():
		return nil, ErrStopped
	default:
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()

	settings := maps.Clone(c.cfg.Settings)
	if settings == nil {
		settings = map[string]string{}
	}
	maps.Copy(settings, cfg.Settings)
	settings["hot_standby"] = "on"
	cfg.Settings = settings
	cfg.BinDir, cfg.Superuser = c.binDir, c.superuser

	s := &Cluster{binDir: c.binDir, superuser: c.superuser, cred: c.cred, temporary: true, cfg: cfg}
	var err error
	if s.runDir, err = makeRunDir(c.cred); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(s.runDir)
		}
	}()
	s.dataDir = filepath.Join(s.runDir, "data")

	// -R writes standby.signal and primary_conninfo (c's socket, port and
	// superuser) into the copy; -X stream copies the WAL written during
	// the backup; -c fast checkpoints at once instead of spreading it.
	backup, err := c.tool("pg_basebackup")
	if err != nil {
		return nil, err
	}
	out, err := s.command(ctx, backup,
		"--pgdata="+s.dataDir,
		"--host="+c.SocketDir(), fmt.Sprintf("--port=%d", c.port), "--username="+c.superuser,
		"--no-password", "--write-recovery-conf", "--wal-method=stream",
		"--checkpoint=fast", "--no-sync",
	).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pglocal: pg_basebackup: %w\n%s", err, tail(out, 20))
	}
	if err := s.startOnPort(ctx, cfg); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// tool returns the path of one of PostgreSQL's client programs: in the
// binary directory, or beside the postgres binary that it links to (a
// directory on PATH may hold links to initdb and postgres only).
func (c *Cluster) tool(name string) (string, error) {
	if fileExists(filepath.Join(c.binDir, name)) {
		return name, nil
	}
	server, err := filepath.EvalSymlinks(filepath.Join(c.binDir, "postgres"))
	if err == nil {
		if p := filepath.Join(filepath.Dir(server), name); fileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no %s in %s or beside its postgres", ErrNoBinaries, name, c.binDir)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
