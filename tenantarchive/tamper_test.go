package tenantarchive_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantarchive"
)

// copyDir copies an archive into a new directory.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
	return to
}

// reseal recomputes the size, SHA-256 and rows of every file in man, and
// its digest, signed with key (nil: unsigned), as a forger who can
// compute digests would; and writes the manifest.
func reseal(t *testing.T, dir string, man *tenantarchive.Manifest, key ed25519.PrivateKey) {
	t.Helper()
	for i, tb := range man.Tables {
		b, err := os.ReadFile(filepath.Join(dir, tb.File))
		if err != nil {
			continue // a missing file stays missing
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		man.Tables[i].Bytes, man.Tables[i].SHA256, man.Tables[i].Rows = int64(len(b)), hex.EncodeToString(sum[:]), int64(len(recs)-1)
	}
	man.Seal(key)
	writeManifest(t, dir, man)
}

func writeManifest(t *testing.T, dir string, man *tenantarchive.Manifest) {
	t.Helper()
	b, err := man.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, tenantarchive.ManifestFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// edit replaces the first old in relation's file with new.
func edit(t *testing.T, dir string, man *tenantarchive.Manifest, relation, old, new string) {
	t.Helper()
	tb, _ := man.Table(relation)
	path := filepath.Join(dir, tb.File)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s holds no %q", relation, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o600); err != nil {
		t.Fatal(err)
	}
}

// census counts, as the superuser, every row of every table of the
// fixture's schema.
func census(t *testing.T, db *pgtest.DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, rel := range []string{"public.plans", "public.clinics", "public.patients", "public.accounts", "public.transfers",
		"public.staff_notes", "audit.events", "audit.chain_heads", "audit.impersonation_grants"} {
		var n int64
		if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), "SELECT count(*) FROM "+rel).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[rel] = n
	}
	return out
}

// TestTamperedArchiveIsRefused: each tampering is refused by Import, and
// the target (holding clinic C) is as it was: nothing was written. What
// it cannot see: an unsigned archive whose tenant rows were changed and
// every digest recomputed imports (only the audit chain catches its own
// rows); a signed one is refused.
func TestTamperedArchiveIsRefused(t *testing.T) {
	src, dir, man := exported(t)
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signed := filepath.Join(t.TempDir(), "signed")
	sman, err := tenantarchive.Export(staff(clinicA, staffA), pool(t, src, modelOf(t, src)), clinicA, signed, tenantarchive.ExportConfig{
		Reason: "signed export", SchemaVersion: "3", SigningKey: key})
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)

	dst, m := migrated(t)
	seed(t, dst, pool(t, dst, m), clinicC, 2, "gold")
	before := census(t, dst)
	fileOf := func(rel string) string { tb, _ := man.Table(rel); return tb.File }

	for _, tt := range []struct {
		name   string
		signed bool
		tamper func(t *testing.T, dir string, man *tenantarchive.Manifest)
		key    ed25519.PublicKey
		want   error  // nil: any error
		state  string // SQLSTATE wanted, with want nil
	}{
		{name: "a changed row", want: tenantarchive.ErrTampered,
			tamper: func(t *testing.T, dir string, man *tenantarchive.Manifest) {
				edit(t, dir, man, "public.patients", "patient 1 ", "patient 9 ")
			}},
		{name: "a missing file", want: tenantarchive.ErrTampered,
			tamper: func(t *testing.T, dir string, man *tenantarchive.Manifest) {
				if err := os.Remove(filepath.Join(dir, fileOf("public.accounts"))); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "an added file", want: tenantarchive.ErrTampered,
			tamper: func(t *testing.T, dir string, man *tenantarchive.Manifest) {
				if err := os.WriteFile(filepath.Join(dir, "data", "9999.csv"), []byte("x\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "an edited manifest", want: tenantarchive.ErrTampered,
			tamper: func(t *testing.T, dir string, man *tenantarchive.Manifest) {
				man.Tables[len(man.Tables)-1].Rows--
				writeManifest(t, dir, man)
			}},
		{name: "an edited manifest with its digest recomputed", want: tenantarchive.ErrTampered,
			tamper: func(t *testing.T, dir string, man *tenantarchive.Manifest) {
				man.Tables[len(man.Tables)-1].Rows--
				man.Seal(nil)
				writeManifest(t, dir, man)
			}},
		{name: "a file truncated, its digest recomputed in the manifest but not the manifest's own", want: tenantarchive.ErrTampered,
			tamper: func(t *testing.T, dir string, man *tenantarchive.Manifest) {
				digest := man.Digest
				reseal(t, dir, man, nil)
				man.Tables[0].Rows++
				man.Digest = digest
				writeManifest(t, dir, man)
			}},
		{name: "an audit event changed, every digest recomputed", want: tenantarchive.ErrChain,
			tamper: func(t *testing.T, dir string, man *tenantarchive.Manifest) {
				edit(t, dir, man, "audit.events", "clinic.seed", "clinic.seeX")
				reseal(t, dir, man, nil)
			}},
		{name: "a row moved to another tenant, every digest recomputed", state: "42501",
			tamper: func(t *testing.T, dir string, man *tenantarchive.Manifest) {
				edit(t, dir, man, "public.staff_notes", "\n"+clinicA.String(), "\n"+clinicC.String())
				reseal(t, dir, man, nil)
			}},
		{name: "a registry row the target lacks", want: tenantarchive.ErrRegistryRow,
			tamper: func(t *testing.T, dir string, man *tenantarchive.Manifest) {
				edit(t, dir, man, "public.plans", "basic,Basic", "bronze,Bronze")
				reseal(t, dir, man, nil)
			}},
		{name: "a signed archive, no key given", signed: true, want: tenantarchive.ErrSignature,
			tamper: func(*testing.T, string, *tenantarchive.Manifest) {}},
		{name: "a signed archive, another key given", signed: true, key: otherPub, want: tenantarchive.ErrSignature,
			tamper: func(*testing.T, string, *tenantarchive.Manifest) {}},
		{name: "a signed archive, a changed row, every digest recomputed", signed: true, key: pub, want: tenantarchive.ErrSignature,
			tamper: func(t *testing.T, dir string, man *tenantarchive.Manifest) {
				edit(t, dir, man, "public.patients", "patient 1 ", "patient 9 ")
				sig, id := man.Signature, man.KeyID
				reseal(t, dir, man, nil)
				man.Signature, man.KeyID = sig, id
				writeManifest(t, dir, man)
			}},
		{name: "a signed archive, unsigned", signed: true, key: pub, want: tenantarchive.ErrSignature,
			tamper: func(t *testing.T, dir string, man *tenantarchive.Manifest) { man.Seal(nil); writeManifest(t, dir, man) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			from, m0 := dir, man
			if tt.signed {
				from, m0 = signed, sman
			}
			d := copyDir(t, from)
			cp := *m0
			cp.Tables = append([]tenantarchive.Table(nil), m0.Tables...)
			tt.tamper(t, d, &cp)
			_, err := tenantarchive.Import(context.Background(), importer(t, dst), m, d, tenantarchive.ImportConfig{PublicKey: tt.key})
			switch {
			case err == nil:
				t.Fatal("Import accepted it")
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("Import = %v, want %v", err, tt.want)
			case tt.state != "":
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != tt.state {
					t.Errorf("Import = %v, want SQLSTATE %s", err, tt.state)
				}
			}
			if strings.Contains(err.Error(), "patient 9") || strings.Contains(err.Error(), "staff only") {
				t.Errorf("the error quotes a row: %v", err)
			}
			if diff := cmp.Diff(before, census(t, dst)); diff != "" {
				t.Errorf("the target changed (-before +after):\n%s", diff)
			}
		})
	}
	// The untampered signed archive imports with its key.
	if _, err := tenantarchive.Import(context.Background(), importer(t, dst), m, signed, tenantarchive.ImportConfig{PublicKey: pub}); err != nil {
		t.Errorf("the signed archive: %v", err)
	}
}
