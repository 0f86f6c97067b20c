package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

// TestEmbeddedDefault runs the app as `go run ./examples/dentalclinic` does
// with no DATABASE_URL: it must start its own PostgreSQL in the data
// directory, serve, and shut both down when cancelled.
func TestEmbeddedDefault(t *testing.T) {
	if _, err := pglocal.FindBinDir(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %v", err)
		}
		t.Skip(err)
	}
	dir, err := os.MkdirTemp("/tmp", "dentalclinic-test-") // reachable by the postgres user when we are root
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	dataDir := filepath.Join(dir, "pgdata")

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		errc <- run(ctx, config{addr: "127.0.0.1:0", dataDir: dataDir}, slog.New(slog.NewTextHandler(io.Discard, nil)), &out, ready)
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the app did not become ready")
	}

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("GET /healthz = %d %q, want 200 ok", resp.StatusCode, body)
	}

	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
	if !strings.Contains(out.String(), base) {
		t.Errorf("the app did not print its address %s:\n%s", base, out.String())
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		t.Errorf("no persistent cluster in %s: %v", dataDir, err)
	}
}
