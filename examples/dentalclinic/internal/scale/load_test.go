package scale

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// TestLoad runs the real app and the baseline on a tiny generated
// database: both answer the same reads with the same bodies, and a short
// load of the whole mix runs on both without a single error.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	conns, _ := generated(t, db, tiny)
	dir := t.TempDir()

	appCtx, stop := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(appCtx, app.Config{
			Addr: "127.0.0.1:0", DatabaseURL: conns.App, MigrationDatabaseURL: conns.Owner, PlatformDatabaseURL: conns.Platform,
			AuditAdminDatabaseURL: conns.Admin, AuditRole: conns.AuditRole,
			DataDir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: ready,
		})
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("app: %v", err)
		}
	}()
	var appBase string
	select {
	case appBase = <-ready:
	case err := <-done:
		t.Fatalf("app did not start: %v", err)
	}

	key, err := PublicKey(filepath.Join(dir, "jwt-signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	owner, err := pgxpool.New(ctx, conns.Owner)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	base := httptest.NewServer(NewBaseline(owner, key))
	defer base.Close()

	layout, err := DetectLayout(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	if layout.Clinics != 3 || layout.PatientsPer != 200 || layout.AppointmentsPer != 200 {
		t.Fatalf("layout %+v", layout)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	tokens := map[int]string{}
	for n := 1; n <= 3; n++ {
		if tokens[n], err = Login(ctx, client, appBase, n, 0); err != nil {
			t.Fatal(err)
		}
	}

	// The same reads give the same bodies.
	day := DayOf(layout.First, 0).Format(time.RFC3339)
	for _, path := range []string{
		"/api/v1/appointments?limit=100&from=" + day + "&to=" + DayOf(layout.First, 1).Format(time.RFC3339),
		"/api/v1/patients?q=wil",
		"/api/v1/patients/" + layout.PatientID(2, 7).String(),
		"/api/v1/appointments/" + layout.AppointmentID(2, 9).String(),
		"/api/v1/invoices",
	} {
		var bodies [2]any
		for i, srv := range []string{appBase, base.URL} {
			req, _ := http.NewRequest(http.MethodGet, srv+path, nil)
			req.Header.Set("Authorization", "Bearer "+tokens[2])
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %s %s", srv, path, resp.Status, b)
			}
			if err := json.Unmarshal(b, &bodies[i]); err != nil {
				t.Fatal(err)
			}
			if page, ok := bodies[i].(map[string]any); ok && page["items"] != nil {
				if items, _ := page["items"].([]any); len(items) == 0 {
					t.Fatalf("%s %s: no items", srv, path)
				}
				delete(page, "next_cursor") // the baseline does not make cursors
			}
		}
		a, _ := json.Marshal(bodies[0])
		b, _ := json.Marshal(bodies[1])
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the app and the baseline differ:\napp:      %.400s\nbaseline: %.400s", path, a, b)
		}
	}
	// A token of clinic 2 reads nothing of clinic 3 at the app.
	req, _ := http.NewRequest(http.MethodGet, appBase+"/api/v1/patients/"+layout.PatientID(3, 7).String(), nil)
	req.Header.Set("Authorization", "Bearer "+tokens[2])
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("clinic 3's patient with clinic 2's token: %v %v, want 404", resp.Status, err)
	}

	for name, srv := range map[string]string{"app": appBase, "baseline": base.URL} {
		res, err := RunLoad(ctx, client, LoadConfig{Base: srv, Tokens: tokens, Clients: 2, Duration: 1500 * time.Millisecond, Layout: layout, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.0f req/s, p50 %s, p99 %s, %d conflicts", name, res.RPS(), res.P50, res.P99, res.Conflicts)
		if res.Errors > 0 || res.Requests == 0 || res.P50 <= 0 || res.P99 < res.P50 {
			t.Errorf("%s: %+v", name, res)
		}
		for _, op := range Mix {
			if res.ByOp[op.Name] == 0 && res.Requests > 200 {
				t.Errorf("%s: no %q in %d requests", name, op.Name, res.Requests)
			}
		}
	}
}
