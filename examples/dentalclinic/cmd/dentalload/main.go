// Command dentalload is the app's load benchmark (docs/benchmarks.md). On
// a database made by dentalgen it runs, in alternating rounds, the real
// app (-app, a built examples/dentalclinic) with every SDK layer on, and
// the baseline (-base, a built cmd/dentalbase): the same routes' SQL
// through bare pgx without the SDK. Each gets the same load: -clients
// concurrent clients over -clinics clinics sending scale.Mix (reads of the
// day's schedule, searches, charts, appointments and invoices; patient
// updates and bookings). It prints requests per second, p50 and p99
// latency and the server process's peak RSS (VmHWM) per round, and the
// medians with the ratio SDK/baseline.
//
//	go build -o /tmp/dentalclinic ./examples/dentalclinic
//	go build -o /tmp/dentalbase ./examples/dentalclinic/cmd/dentalbase
//	go run ./examples/dentalclinic/cmd/dentalload -data /tmp/dentalscale -app /tmp/dentalclinic -base /tmp/dentalbase
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/scale"
	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

func main() {
	var o opts
	flag.StringVar(&o.data, "data", "", "the data directory given to dentalgen; required")
	flag.StringVar(&o.app, "app", "", "the built app (go build ./examples/dentalclinic); required")
	flag.StringVar(&o.base, "base", "", "the built baseline (go build ./examples/dentalclinic/cmd/dentalbase); required")
	flag.IntVar(&o.clients, "clients", 16, "concurrent clients")
	flag.IntVar(&o.clinics, "clinics", 50, "clinics the load spreads over, evenly spaced among all")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "measured time per round and server")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "unmeasured load before each measured run")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; the servers' order alternates")
	flag.IntVar(&o.fleet, "fleet", 0, "compare one instance without pgbouncer with this many behind one pgbouncer (transaction mode), instead of the baseline")
	flag.IntVar(&o.bouncerPool, "bouncer-pool", 4, "with -fleet: pgbouncer's server connections per role")
	flag.Parse()
	if o.data == "" || o.app == "" || (o.base == "" && o.fleet == 0) {
		fmt.Fprintln(os.Stderr, "dentalload: -data, -app and -base (or -fleet) are required")
		os.Exit(2)
	}
	if o.fleet < 0 || o.fleet == 1 || o.bouncerPool < 1 {
		fmt.Fprintln(os.Stderr, "dentalload: -fleet is 0 (off) or at least 2 instances, and -bouncer-pool at least 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "dentalload:", err)
		os.Exit(1)
	}
}

type opts struct {
	data, app, base          string
	clients, clinics, rounds int
	fleet, bouncerPool       int
	duration, warmup         time.Duration
}

const (
	sdk      = "app with the SDK"
	baseline = "baseline: same SQL, bare pgx, no SDK"
)

type sample struct {
	res scale.LoadResult
	rss int64 // kB
}

func run(ctx context.Context, o opts) error {
	c, err := scale.StartCluster(ctx, o.data, scale.BenchSettings)
	if err != nil {
		return err
	}
	defer c.Stop()
	conn, err := pgx.Connect(ctx, c.Conns.Owner)
	if err != nil {
		return err
	}
	layout, err := scale.DetectLayout(ctx, conn)
	conn.Close(ctx)
	if err != nil {
		return err
	}
	var clinics []int
	for i := range min(o.clinics, layout.Clinics) {
		clinics = append(clinics, 1+i*layout.Clinics/min(o.clinics, layout.Clinics))
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.clients * 2}, Timeout: 30 * time.Second}
	fmt.Printf("%d clinics (load over %d), %d patients and %d appointments each; %d clients, %s per run\n",
		layout.Clinics, len(clinics), layout.PatientsPer, layout.AppointmentsPer, o.clients, o.duration)

	modes := []string{sdk, baseline}
	var bouncer *pglocal.Bouncer
	if o.fleet > 0 {
		modes = []string{single, fleetMode(o)}
		if bouncer, err = startBouncer(ctx, c, o.bouncerPool); err != nil {
			return err
		}
		defer func() { _ = bouncer.Stop() }()
	}
	tokens := map[int]string{}
	results := map[string][]sample{}
	base := uint64(time.Now().UnixNano())
	order := slices.Clone(modes)
	for r := range o.rounds {
		for _, mode := range order {
			srv, err := startServers(o, c, mode, bouncer)
			if err != nil {
				return err
			}
			// A seed per run, and per invocation: a run with an earlier
			// run's seed would book the same slots again and get 409s,
			// which are cheaper than bookings.
			seed := base + uint64(2*r+slices.Index(modes, mode))
			s, err := measure(ctx, o, client, srv.bases, mode, srv.pids(), tokens, clinics, layout, seed)
			srv.stop()
			if err != nil {
				return fmt.Errorf("%s: %w", mode, err)
			}
			results[mode] = append(results[mode], s)
			leaks := ""
			if o.fleet > 0 {
				leaks = fmt.Sprintf(", %d of %d records of another clinic", s.res.CrossTenant, s.res.TenantChecked)
			}
			fmt.Printf("round %d, %-40s %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  peak RSS %4d MB  (%d requests, %d conflicts, %d errors%s)\n",
				r+1, mode, s.res.RPS(), ms(s.res.P50), ms(s.res.P99), s.rss/1024, s.res.Requests, s.res.Conflicts, s.res.Errors, leaks)
			for _, e := range s.res.FirstErrors {
				fmt.Println("   ", e)
			}
		}
		slices.Reverse(order)
	}
	med := func(mode string, f func(sample) float64) float64 {
		var xs []float64
		for _, s := range results[mode] {
			xs = append(xs, f(s))
		}
		return median(xs)
	}
	rps := func(s sample) float64 { return s.res.RPS() }
	p50 := func(s sample) float64 { return ms(s.res.P50) }
	p99 := func(s sample) float64 { return ms(s.res.P99) }
	rss := func(s sample) float64 { return float64(s.rss) / 1024 }
	// The second mode is over the first: the SDK over the baseline, or
	// the fleet over one instance.
	first, second, ratio := baseline, sdk, "ratio SDK/baseline"
	if o.fleet > 0 {
		first, second, ratio = single, fleetMode(o), "ratio fleet/one instance"
	}
	fmt.Printf("\nMedians of %d rounds:\n\n| server | req/s | p50 | p99 | peak RSS |\n| --- | --- | --- | --- | --- |\n", o.rounds)
	for _, mode := range []string{first, second} {
		fmt.Printf("| %s | %.0f | %.2f ms | %.2f ms | %.0f MB |\n", mode, med(mode, rps), med(mode, p50), med(mode, p99), med(mode, rss))
	}
	fmt.Printf("| %s | %.2fx | %.2fx | %.2fx | %.2fx |\n", ratio, med(second, rps)/med(first, rps),
		med(second, p50)/med(first, p50), med(second, p99)/med(first, p99), med(second, rss)/med(first, rss))
	fmt.Printf("\nMedian latency per kind of request (medians of the rounds):\n\n| request | %s | %s | ratio |\n| --- | --- | --- | --- |\n", first, second)
	for _, op := range scale.Mix {
		b := med(first, func(s sample) float64 { return ms(s.res.OpP50[op.Name]) })
		a := med(second, func(s sample) float64 { return ms(s.res.OpP50[op.Name]) })
		fmt.Printf("| %s | %.2f ms | %.2f ms | %.2fx |\n", op.Name, b, a, a/b)
	}
	if o.fleet > 0 {
		leaked, checked := 0, 0
		for _, mode := range modes {
			for _, s := range results[mode] {
				leaked += s.res.CrossTenant
				checked += s.res.TenantChecked
			}
		}
		fmt.Printf("\nRecords of another clinic in the answers: %d of %d checked.\n", leaked, checked)
		if leaked > 0 {
			return fmt.Errorf("%d records of another clinic in the answers", leaked)
		}
		if checked == 0 {
			return errors.New("no record's clinic was checked: the check saw nothing")
		}
	}
	return nil
}

const single = "one instance, no pgbouncer"

func fleetMode(o opts) string {
	return fmt.Sprintf("%d instances, one pgbouncer (pool %d)", o.fleet, o.bouncerPool)
}

// startBouncer starts pgbouncer in transaction mode in front of c, for
// the app and platform roles, with poolSize server connections per role.
func startBouncer(ctx context.Context, c *scale.Cluster, poolSize int) (*pglocal.Bouncer, error) {
	users := map[string]string{}
	for _, cs := range []string{c.Conns.App, c.Conns.Platform} {
		cfg, err := pgx.ParseConfig(cs)
		if err != nil {
			return nil, err
		}
		users[cfg.User] = cfg.Password
	}
	return pglocal.StartBouncer(ctx, pglocal.BouncerConfig{ServerHost: c.Host(), ServerPort: c.Port(), Users: users, PoolSize: poolSize})
}

// viaBouncer is cs (a key=value connection string) through b, without
// named prepared statements, which transaction pooling cannot keep.
func viaBouncer(cs string, b *pglocal.Bouncer) string {
	return cs + fmt.Sprintf(" host=%s port=%d default_query_exec_mode=exec", b.Host(), b.Port())
}

// servers are the processes of one run: one app, one baseline, or a
// fleet of apps.
type servers struct {
	cmds  []*exec.Cmd
	logs  []*os.File
	bases []string
}

func (s *servers) pids() []int {
	var out []int
	for _, c := range s.cmds {
		out = append(out, c.Process.Pid)
	}
	return out
}

func (s *servers) stop() {
	for _, c := range s.cmds {
		_ = c.Process.Signal(syscall.SIGTERM)
	}
	for i, c := range s.cmds {
		_ = c.Wait()
		s.logs[i].Close()
	}
}

// startServers starts the processes of mode, each on a free port, logging
// straight to a file, so that no pipe in this process costs CPU (the app
// logs every request). A fleet's instances start one after another, so
// that the first makes any key the others read.
func startServers(o opts, c *scale.Cluster, mode string, bouncer *pglocal.Bouncer) (*servers, error) {
	keyFile := filepath.Join(o.data, "jwt-signing-key.pem")
	n := 1
	if mode == fleetMode(o) {
		n = o.fleet
	}
	s := &servers{}
	for i := range n {
		port, err := freePort()
		if err != nil {
			s.stop()
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		var cmd *exec.Cmd
		switch mode {
		case baseline:
			if _, err := os.Stat(keyFile); err != nil {
				s.stop()
				return nil, fmt.Errorf("run the app first, which makes the signing key: %w", err)
			}
			cmd = exec.Command(o.base, "-addr", addr, "-key", keyFile)
			cmd.Env = append(os.Environ(), "DATABASE_URL="+c.Conns.Owner)
		default:
			app, platform := c.Conns.App, c.Conns.Platform
			if mode == fleetMode(o) {
				app, platform = viaBouncer(app, bouncer), viaBouncer(platform, bouncer)
			}
			cmd = exec.Command(o.app, "-addr", addr, "-data", o.data)
			cmd.Env = append(os.Environ(), "DATABASE_URL="+app, "MIGRATION_DATABASE_URL="+c.Conns.Owner,
				"PLATFORM_DATABASE_URL="+platform, "ADDR="+addr)
		}
		logFile, err := os.Create(filepath.Join(os.TempDir(), fmt.Sprintf("dentalload-server-%d.log", i)))
		if err != nil {
			s.stop()
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			logFile.Close()
			s.stop()
			return nil, err
		}
		s.cmds, s.logs, s.bases = append(s.cmds, cmd), append(s.logs, logFile), append(s.bases, "http://"+addr)
		if err := waitReady(s.bases[i]); err != nil {
			s.stop()
			return nil, fmt.Errorf("%s, instance %d: %w", mode, i+1, err)
		}
	}
	return s, nil
}

// waitReady waits up to 60 s for the server at base to answer /healthz.
func waitReady(base string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("server not ready after 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median returns the median of xs: the middle value of an odd number, the
// mean of the middle two of an even number, 0 for none. It sorts a copy.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// measure signs in (once, through the app), warms up, runs the measured
// load over the servers at bases, and reads their peak RSS (summed).
func measure(ctx context.Context, o opts, client *http.Client, bases []string, mode string, pids []int, tokens map[int]string,
	clinics []int, layout scale.Layout, seed uint64) (sample, error) {
	if len(tokens) == 0 {
		if mode == baseline {
			return sample{}, errors.New("the first run must be the app's, to sign in")
		}
		for _, n := range clinics {
			t, err := scale.Login(ctx, client, bases[0], n, 0)
			if err != nil {
				return sample{}, err
			}
			tokens[n] = t
		}
	}
	cfg := scale.LoadConfig{Bases: bases, Tokens: tokens, Clients: o.clients, Layout: layout, CheckTenant: o.fleet > 0}
	if o.warmup > 0 {
		cfg.Duration, cfg.Seed = o.warmup, 1000+seed
		if _, err := scale.RunLoad(ctx, client, cfg); err != nil {
			return sample{}, err
		}
	}
	cfg.Duration, cfg.Seed = o.duration, seed
	res, err := scale.RunLoad(ctx, client, cfg)
	if err != nil {
		return sample{}, err
	}
	var total int64
	for _, pid := range pids {
		rss, err := peakRSS(pid)
		if err != nil {
			return sample{}, err
		}
		total += rss
	}
	return sample{res: res, rss: total}, nil
}

// peakRSS reads VmHWM, the process's peak resident set, in kB.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmHWM")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
