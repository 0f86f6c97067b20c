package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
)

// sampleCheckpoint is a signed checkpoint of two tenants, made without a
// database.
func sampleCheckpoint(t testing.TB) audit.Checkpoint {
	t.Helper()
	cp := audit.Checkpoint{
		Time:     time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC),
		Registry: "public.clinics.id",
		Platform: audit.Head{Seq: 7, Hash: audit.Hash{1, 2, 3}},
		Tenants: []audit.TenantHead{
			{Tenant: clinicA, Head: audit.Head{Seq: 3, Hash: audit.Hash{4}}},
			{Tenant: clinicB},
		},
	}
	if err := cp.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	return cp
}

func TestCheckpointRoundTrip(t *testing.T) {
	cp := sampleCheckpoint(t)
	b, err := cp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := audit.ParseCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cp, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := got.Verify(testKey.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if _, err := (audit.Checkpoint{}).Marshal(); !errors.Is(err, audit.ErrUnsigned) {
		t.Errorf("Marshal unsigned: %v, want ErrUnsigned", err)
	}
	unsorted := audit.Checkpoint{Time: cp.Time, Registry: cp.Registry, Tenants: []audit.TenantHead{cp.Tenants[1], cp.Tenants[0]}}
	if err := unsorted.Sign(testKey); !errors.Is(err, audit.ErrMalformed) {
		t.Errorf("Sign unsorted: %v, want ErrMalformed", err)
	}
}

func TestParseCheckpointRefusesMalformed(t *testing.T) {
	good, err := sampleCheckpoint(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("%q not in %s", old, good)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	tests := map[string][]byte{
		"empty":               nil,
		"not JSON":            []byte("checkpoint"),
		"trailing data":       append(append([]byte(nil), good...), []byte("{}\n")...),
		"unknown field":       edit(`"version": 1,`, `"version": 1, "extra": 1,`),
		"other version":       edit(`"version": 1`, `"version": 2`),
		"time not UTC":        edit(`12:00:00.123456Z`, `12:00:00.123456+01:00`),
		"time in seconds":     edit(`12:00:00.123456Z`, `12:00:00Z`),
		"bad registry":        edit(`public.clinics.id`, `clinics.id`),
		"bad key type":        edit(`"uuid"`, `"int4"`),
		"bad tenant":          edit(clinicA.String(), "not-a-uuid"),
		"upper-case tenant":   edit(clinicA.String(), strings.ToUpper(clinicA.String())),
		"negative seq":        edit(`"seq": 3`, `"seq": -3`),
		"short hash":          edit(`"hash": "04`, `"hash": "`),
		"upper-case hash":     edit(`"hash": "010203`, `"hash": "0A0203`),
		"tenants unsorted":    edit(clinicA.String(), "0195f1c2-0000-7000-8000-0000000000ff"),
		"duplicate tenant":    edit(clinicA.String(), clinicB.String()),
		"bad key id":          edit(`"key_id": "`, `"key_id": "x`),
		"short signature":     edit(`"signature": "`, `"signature": "AAAA`),
		"no trailing newline": bytes.TrimSuffix(good, []byte("\n")),
		"other white space":   bytes.ReplaceAll(good, []byte("  "), []byte("\t")),
		"duplicate field":     edit(`"version": 1,`, `"version": 1, "version": 1,`),
		"null tenants":        []byte(strings.Replace(string(good), string(good[bytes.Index(good, []byte(`"tenants"`)):bytes.Index(good, []byte(`"key_id"`))]), `"tenants": null,`+"\n  ", 1)),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := audit.ParseCheckpoint(b); !errors.Is(err, audit.ErrMalformed) {
				t.Errorf("ParseCheckpoint: %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseReceiptRefusesMalformed(t *testing.T) {
	r := audit.Receipt{Tenant: tenancy.IntID(42), Head: audit.Head{Seq: 3, Hash: audit.Hash{9}}, Time: time.Unix(1700000000, 0).UTC()}
	if err := r.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	good, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := audit.ParseReceipt(good); err != nil || !cmp.Equal(got, r) {
		t.Fatalf("round trip: %v, %+v", err, got)
	}
	for name, b := range map[string][]byte{
		"indented":  bytes.ReplaceAll(good, []byte(`,"`), []byte(`, "`)),
		"seq 0":     bytes.Replace(good, []byte(`"seq":3`), []byte(`"seq":0`), 1),
		"no tenant": bytes.Replace(good, []byte(`"tenant":"42"`), []byte(`"tenant":""`), 1),
		"extra":     bytes.Replace(good, []byte(`{`), []byte(`{"x":1,`), 1),
		"truncated": good[:len(good)/2],
	} {
		if _, err := audit.ParseReceipt(b); !errors.Is(err, audit.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	good, err := sampleCheckpoint(f).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := audit.ParseCheckpoint(b)
		if err != nil {
			if !errors.Is(err, audit.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// What parses is exactly what Marshal writes, so one checkpoint
		// has one text.
		again, err := cp.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("parsed %q but Marshal gives %q, %v", b, again, err)
		}
	})
}

func FuzzParseReceipt(f *testing.F) {
	r := audit.Receipt{Tenant: clinicA, Head: audit.Head{Seq: 3}, Time: time.Unix(1700000000, 0).UTC()}
	if err := r.Sign(testKey); err != nil {
		f.Fatal(err)
	}
	good, _ := r.Marshal()
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := audit.ParseReceipt(b)
		if err != nil {
			return
		}
		if again, err := r.Marshal(); err != nil || !bytes.Equal(again, b) {
			t.Fatalf("parsed %q but Marshal gives %q, %v", b, again, err)
		}
	})
}

func TestDirStore(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "checkpoints")
	s, err := audit.NewDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Latest(ctx); !errors.Is(err, audit.ErrNoCheckpoint) {
		t.Errorf("Latest of none: %v, want ErrNoCheckpoint", err)
	}
	first := sampleCheckpoint(t)
	later := first
	later.Time = later.Time.Add(time.Hour)
	later.Platform.Seq++
	if err := later.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	for _, cp := range []audit.Checkpoint{later, first} {
		if err := s.Put(ctx, cp); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(s.Path(first))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}
	got, err := s.Latest(ctx)
	if err != nil || !cmp.Equal(got, later) {
		t.Errorf("Latest: %v, %+v; want the later checkpoint", err, got)
	}
	// Never overwritten, and no temporary file left behind.
	changed := first
	changed.Platform.Seq = 99
	if err := changed.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, changed); !errors.Is(err, audit.ErrCheckpointExists) {
		t.Errorf("Put over an existing checkpoint: %v, want ErrCheckpointExists", err)
	}
	if got, err := audit.ReadCheckpointFile(s.Path(first)); err != nil || !cmp.Equal(got, first) {
		t.Errorf("the first checkpoint after a refused Put: %v, %+v", err, got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d files in the directory, want 2", len(entries))
	}
	if err := s.Put(ctx, audit.Checkpoint{Time: first.Time}); !errors.Is(err, audit.ErrUnsigned) {
		t.Errorf("Put unsigned: %v, want ErrUnsigned", err)
	}
}

func TestKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "audit-signing-key.pem")
	key, err := audit.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	again, err := audit.LoadOrCreateKey(path)
	if err != nil || !key.Equal(again) {
		t.Fatalf("reloaded: %v; same key %v", err, key.Equal(again))
	}
	b, _ := os.ReadFile(path)
	if parsed, err := audit.ParsePrivateKey(b); err != nil || !parsed.Equal(key) {
		t.Errorf("ParsePrivateKey: %v", err)
	}
	pubPEM, err := audit.MarshalPublicKey(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := audit.ParsePublicKey(pubPEM); err != nil || !pub.Equal(key.Public()) {
		t.Errorf("ParsePublicKey: %v", err)
	}
	for name, b := range map[string][]byte{"public as private": pubPEM, "garbage": []byte("x"), "two blocks": append(append([]byte(nil), b...), b...)} {
		if _, err := audit.ParsePrivateKey(b); !errors.Is(err, audit.ErrMalformed) {
			t.Errorf("ParsePrivateKey %s: %v, want ErrMalformed", name, err)
		}
	}
	if _, err := audit.ParsePublicKey(b); !errors.Is(err, audit.ErrMalformed) {
		t.Errorf("ParsePublicKey of a private key: %v, want ErrMalformed", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.LoadOrCreateKey(path); err == nil {
		t.Errorf("a key file readable by others was accepted")
	}
}

func TestParseRegistry(t *testing.T) {
	if r, err := audit.ParseRegistry("public.clinics.id"); err != nil || r != (audit.Registry{Schema: "public", Table: "clinics", Column: "id"}) {
		t.Errorf("got %+v, %v", r, err)
	}
	for _, s := range []string{"", "clinics.id", "a.b.c.d", `public."Clinics".id`, "public.clinics.1d", "public.clinics.id;"} {
		if _, err := audit.ParseRegistry(s); !errors.Is(err, audit.ErrInvalidRegistry) {
			t.Errorf("%q: %v, want ErrInvalidRegistry", s, err)
		}
	}
}
