package app_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// TestAuditReceipt: the owner downloads a signed receipt of the clinic's
// audit chain head, which verifies with the app's audit public key and
// matches the last event of the owner's audit log; a tampered receipt does
// not verify; other staff are refused.
func TestAuditReceipt(t *testing.T) {
	a := startApp(t)
	owner := a.SignIn(t, seed.StaffEmail("owner", riverside), tenancy.ID{})
	// An audited action, so that the clinic's chain has an event.
	if r := a.Do(t, "POST", "/api/v1/patients", owner, map[string]any{"given_name": "Receipt", "family_name": "Subject"}); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	pubPEM, err := os.ReadFile(filepath.Join(a.Dir, app.AuditKeyFile+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	r := a.Do(t, "GET", "/api/v1/audit/receipt", owner, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /audit/receipt: %d %s", r.Status, r.Body)
	}
	rc, err := audit.ParseReceipt(r.Body)
	if err != nil {
		t.Fatalf("the receipt does not parse: %v\n%s", err, r.Body)
	}
	if err := rc.Verify(pub); err != nil {
		t.Errorf("the receipt does not verify with the app's key: %v", err)
	}
	if rc.Tenant != riverside.ID || rc.Head.Seq < 1 {
		t.Errorf("receipt of %v at seq %d, want Riverside's chain", rc.Tenant, rc.Head.Seq)
	}
	// The receipt's head is an event of the owner's log (later requests
	// may have added events since).
	var found bool
	for _, e := range a.AuditLog(t, owner) {
		if e.Seq == rc.Head.Seq {
			found = true
		}
	}
	if !found {
		t.Errorf("no event at the receipt's seq %d in the owner's audit log", rc.Head.Seq)
	}
	tampered := rc
	tampered.Head.Seq--
	if err := tampered.Verify(pub); !errors.Is(err, audit.ErrBadSignature) {
		t.Errorf("a tampered receipt: %v, want ErrBadSignature", err)
	}
	dentist := a.SignIn(t, seed.StaffEmail("dentist", riverside), tenancy.ID{})
	if r := a.Do(t, "GET", "/api/v1/audit/receipt", dentist, nil); r.Status != http.StatusForbidden {
		t.Errorf("dentist: %d %s, want 403", r.Status, r.Body)
	}
}

// TestAuditCheckpointsAreWritten: the app keeps its audit signing key in
// its data directory (mode 0600) and has written a signed checkpoint of
// every clinic's chain head beside it (mode 0600), which verifies with the
// key's public half and lists every clinic of the registry.
func TestAuditCheckpointsAreWritten(t *testing.T) {
	a := startApp(t)
	keyPath := filepath.Join(a.Dir, app.AuditKeyFile)
	fi, err := os.Stat(keyPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit signing key: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	key, err := audit.LoadOrCreateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	store, err := audit.NewDirStore(filepath.Join(a.Dir, app.CheckpointDir))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := store.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(store.Path(cp)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("checkpoint file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if err := cp.Verify(key.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("the checkpoint does not verify: %v", err)
	}
	if cp.Registry != "public.clinics.id" {
		t.Errorf("registry %q", cp.Registry)
	}
	for _, c := range seed.Clinics {
		if _, ok := cp.HeadOf(c.ID); !ok {
			t.Errorf("clinic %s is not in the checkpoint", c.Name)
		}
	}
	// Every seeded clinic's chain was opened with the clinic, so the
	// database verifies against the checkpoint: no clinic of the registry
	// lacks a chain.
	rep, err := audit.VerifyCheckpoint(context.Background(), a.DB.Pool(t, pgtest.Platform), cp, key.Public().(ed25519.PublicKey), audit.Config{})
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("VerifyCheckpoint: %v, problems %v", err, rep.Problems)
	}
}
