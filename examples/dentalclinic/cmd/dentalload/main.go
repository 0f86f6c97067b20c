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
	flag.Parse()
	if o.data == "" || o.app == "" || o.base == "" {
		fmt.Fprintln(os.Stderr, "dentalload: -data, -app and -base are required")
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
	keyFile := filepath.Join(o.data, "jwt-signing-key.pem")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.clients * 2}, Timeout: 30 * time.Second}
	fmt.Printf("%d clinics (load over %d), %d patients and %d appointments each; %d clients, %s per run\n",
		layout.Clinics, len(clinics), layout.PatientsPer, layout.AppointmentsPer, o.clients, o.duration)

	tokens := map[int]string{}
	results := map[string][]sample{}
	base := uint64(time.Now().UnixNano())
	order := []string{sdk, baseline}
	for r := range o.rounds {
		for _, mode := range order {
			port, err := freePort()
			if err != nil {
				return err
			}
			addr := "127.0.0.1:" + strconv.Itoa(port)
			var cmd *exec.Cmd
			if mode == sdk {
				cmd = exec.Command(o.app, "-addr", addr, "-data", o.data)
				cmd.Env = append(os.Environ(), "DATABASE_URL="+c.Conns.App, "MIGRATION_DATABASE_URL="+c.Conns.Owner,
					"PLATFORM_DATABASE_URL="+c.Conns.Platform, "ADDR="+addr)
			} else {
				if _, err := os.Stat(keyFile); err != nil {
					return fmt.Errorf("run the app first, which makes the signing key: %w", err)
				}
				cmd = exec.Command(o.base, "-addr", addr, "-key", keyFile)
				cmd.Env = append(os.Environ(), "DATABASE_URL="+c.Conns.Owner)
			}
			// Straight to a file, so that no pipe in this process costs
			// CPU: the app logs every request.
			logFile, err := os.Create(filepath.Join(os.TempDir(), "dentalload-server.log"))
			if err != nil {
				return err
			}
			cmd.Stdout, cmd.Stderr = logFile, logFile
			if err := cmd.Start(); err != nil {
				return err
			}
			// A seed per run, and per invocation: a run with an earlier
			// run's seed would book the same slots again and get 409s,
			// which are cheaper than bookings.
			seed := base + uint64(2*r+slices.Index([]string{sdk, baseline}, mode))
			s, err := measure(ctx, o, client, "http://"+addr, mode, cmd.Process.Pid, tokens, clinics, layout, seed)
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
			logFile.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", mode, err)
			}
			results[mode] = append(results[mode], s)
			fmt.Printf("round %d, %-40s %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  peak RSS %4d MB  (%d requests, %d conflicts, %d errors)\n",
				r+1, mode, s.res.RPS(), ms(s.res.P50), ms(s.res.P99), s.rss/1024, s.res.Requests, s.res.Conflicts, s.res.Errors)
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
	fmt.Printf("\nMedians of %d rounds:\n\n| server | req/s | p50 | p99 | peak RSS |\n| --- | --- | --- | --- | --- |\n", o.rounds)
	for _, mode := range []string{baseline, sdk} {
		fmt.Printf("| %s | %.0f | %.2f ms | %.2f ms | %.0f MB |\n", mode, med(mode, rps), med(mode, p50), med(mode, p99), med(mode, rss))
	}
	fmt.Printf("| ratio SDK/baseline | %.2fx | %.2fx | %.2fx | %.2fx |\n", med(sdk, rps)/med(baseline, rps),
		med(sdk, p50)/med(baseline, p50), med(sdk, p99)/med(baseline, p99), med(sdk, rss)/med(baseline, rss))
	fmt.Printf("\nMedian latency per kind of request (medians of the rounds):\n\n| request | baseline | SDK | ratio |\n| --- | --- | --- | --- |\n")
	for _, op := range scale.Mix {
		b := med(baseline, func(s sample) float64 { return ms(s.res.OpP50[op.Name]) })
		a := med(sdk, func(s sample) float64 { return ms(s.res.OpP50[op.Name]) })
		fmt.Printf("| %s | %.2f ms | %.2f ms | %.2fx |\n", op.Name, b, a, a/b)
	}
	return nil
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

// measure waits for the server, signs in (once, through the app), warms
// up, runs the measured load and reads the process's peak RSS.
func measure(ctx context.Context, o opts, client *http.Client, base, mode string, pid int, tokens map[int]string,
	clinics []int, layout scale.Layout, seed uint64) (sample, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return sample{}, errors.New("server not ready after 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(tokens) == 0 {
		if mode != sdk {
			return sample{}, errors.New("the first run must be the app's, to sign in")
		}
		for _, n := range clinics {
			t, err := scale.Login(ctx, client, base, n, 0)
			if err != nil {
				return sample{}, err
			}
			tokens[n] = t
		}
	}
	cfg := scale.LoadConfig{Base: base, Tokens: tokens, Clients: o.clients, Layout: layout}
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
	rss, err := peakRSS(pid)
	return sample{res: res, rss: rss}, err
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
