package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/internal/pglocal"
)

// TestEmbeddedDefault runs the app as `go run ./examples/dentalclinic` does
// with no DATABASE_URL: it starts its own PostgreSQL in the data
// directory, migrates, seeds, prints the sign-ins, serves, and on
// cancellation shuts the server and the database down; a second start on
// the same directory keeps the data and the signing key.
func TestEmbeddedDefault(t *testing.T) {
	if _, err := pglocal.FindBinDir(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %v", err)
		}
		t.Skip(err)
	}
	dir, err := os.MkdirTemp("/tmp", "dentalclinic-embedded-") // reachable by the postgres user when we are root
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })

	run := func() (token string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ready := make(chan string, 1)
		errc := make(chan error, 1)
		var out bytes.Buffer
		go func() {
			errc <- app.Run(ctx, app.Config{Addr: "127.0.0.1:0", DataDir: dir, Out: &out, Ready: ready,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		}()
		var base string
		select {
		case base = <-ready:
		case err := <-errc:
			t.Fatalf("Run: %v", err)
		case <-time.After(3 * time.Minute):
			t.Fatal("the app did not start")
		}
		for _, want := range []string{base, seed.Password, "owner@riverside.example", seed.AdminEmail} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("the start-up banner does not show %q:\n%s", want, out.String())
			}
		}
		resp, err := http.Post(base+"/api/v1/auth/login", "application/json",
			strings.NewReader(`{"email":"owner@riverside.example","password":"`+seed.Password+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		var login struct{ Token string }
		json.NewDecoder(resp.Body).Decode(&login)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || login.Token == "" {
			t.Fatalf("demo sign-in: %d", resp.StatusCode)
		}
		cancel()
		if err := <-errc; err != nil {
			t.Fatalf("app.Run after cancel: %v", err)
		}
		if _, err := http.Get(base + "/healthz"); err == nil {
			t.Error("the server still answers after shutdown")
		}
		return login.Token
	}

	run()
	if _, err := os.Stat(filepath.Join(dir, "pgdata", "PG_VERSION")); err != nil {
		t.Fatalf("no persistent cluster in %s: %v", dir, err)
	}
	key1, err := os.ReadFile(filepath.Join(dir, "jwt-signing-key.pem"))
	if err != nil {
		t.Fatalf("no signing key kept: %v", err)
	}
	run() // a restart reuses the cluster (the demo is not written twice) and the key
	key2, _ := os.ReadFile(filepath.Join(dir, "jwt-signing-key.pem"))
	if !bytes.Equal(key1, key2) {
		t.Error("the signing key changed across restarts")
	}
}
