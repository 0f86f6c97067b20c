// Command dentalclinic is the reference app of the tenancy SDK:
// MyDentalPractice, where every dental clinic is a tenant.
//
// Run it with
//
//	go run ./examples/dentalclinic
//
// With no DATABASE_URL it starts its own PostgreSQL from the host's server
// binaries, keeping the data in a persistent directory (-data), and prints
// the address to open.
//
// The app is being built issue by issue; today it starts the database and
// serves its health check. See docs/architecture.md, "Status".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

type config struct {
	addr        string // HTTP listen address
	databaseURL string // empty: embedded PostgreSQL
	dataDir     string // embedded PostgreSQL's data directory
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", envOr("ADDR", "127.0.0.1:8080"), "HTTP listen address (env ADDR)")
	flag.StringVar(&cfg.dataDir, "data", envOr("DENTALCLINIC_DATA_DIR", defaultDataDir()),
		"data directory of the embedded PostgreSQL, used when DATABASE_URL is unset (env DENTALCLINIC_DATA_DIR)")
	flag.Parse()
	cfg.databaseURL = os.Getenv("DATABASE_URL")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, cfg, log, os.Stdout, nil); err != nil {
		log.Error("dentalclinic stopped", "err", err)
		os.Exit(1)
	}
}

// run starts the database (embedded unless cfg.databaseURL is set) and the
// HTTP server, and serves until ctx is cancelled. It writes the address and
// instructions to out, and sends the base URL on ready when it serves.
func run(ctx context.Context, cfg config, log *slog.Logger, out io.Writer, ready chan<- string) error {
	connString := cfg.databaseURL
	if connString == "" {
		fmt.Fprintf(out, "Starting the embedded PostgreSQL in %s ...\n", cfg.dataDir)
		cluster, err := pglocal.Start(ctx, pglocal.Config{DataDir: cfg.dataDir})
		if err != nil {
			return fmt.Errorf("embedded PostgreSQL (set DATABASE_URL to use your own server): %w", err)
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				log.Error("stopping the embedded PostgreSQL", "err", err)
			}
		}()
		connString = cluster.SuperuserConnString("postgres")
	}

	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := pool.Ping(ctx); err != nil {
			log.Warn("health check: database unreachable", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listening on %s (choose another with -addr): %w", cfg.addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "MyDentalPractice is listening on %s (health check: %s/healthz). Ctrl-C stops it.\n", base, base)
	if ready != nil {
		ready <- base
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// defaultDataDir is where the embedded PostgreSQL keeps its data: the
// user's data directory, or /var/lib for root, since the server then runs
// as the postgres user, who cannot enter root's home.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/mydentalpractice/pgdata"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "mydentalpractice", "pgdata")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "mydentalpractice", "pgdata")
	}
	return filepath.Join(os.TempDir(), "mydentalpractice", "pgdata")
}
