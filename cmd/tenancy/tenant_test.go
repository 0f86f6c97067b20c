package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantarchive"
)

func TestTenantUsage(t *testing.T) {
	base := []string{"--spec", spec, "--dsn", "postgres://u:hunter2secret@/x?host=/nonexistent", "--platform-dsn", "postgres://p:hunter2secret@/x?host=/nonexistent"}
	tenant := []string{"--tenant", "0195f1c2-0000-7000-8000-00000000000a", "--reason", "ticket 1"}
	args := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"group", []string{"tenant"}, exitUsage, "", "export"},
		{"export help", []string{"tenant", "export", "-h"}, exitOK, "--reason", ""},
		{"export without out", args([]string{"tenant", "export"}, base, tenant), exitUsage, "", "--out"},
		{"export without spec", []string{"tenant", "export", "--out", "d", "--tenant", "1", "--reason", "r"}, exitUsage, "", "--spec"},
		{"export without tenant", args([]string{"tenant", "export", "--out", "d", "--reason", "r"}, base), exitUsage, "", "--tenant"},
		{"export without reason", args([]string{"tenant", "export", "--out", "d", "--tenant", "1", "--reason", " "}, base), exitUsage, "", "--reason"},
		{"export with a bad tenant", args([]string{"tenant", "export", "--out", "d", "--tenant", "nope", "--reason", "r"}, base), exitUsage, "", "--tenant"},
		{"export without DSNs", []string{"tenant", "export", "--spec", spec, "--out", "d", "--tenant", "1", "--reason", "r"}, exitUsage, "", "--platform-dsn"},
		{"export unreachable keeps the password", args([]string{"tenant", "export", "--out", "d"}, base, tenant), exitFailure, "", "connecting"},
		{"import without in", []string{"tenant", "import", "--spec", spec, "--dsn", "x"}, exitUsage, "", "--in"},
		{"import without DSN", []string{"tenant", "import", "--spec", spec, "--in", "d"}, exitUsage, "", "--dsn"},
		{"erase without retention", args([]string{"tenant", "erase"}, base, tenant), exitUsage, "", "--retention"},
		{"erase with another retention", args([]string{"tenant", "erase", "--retention", "delete"}, base, tenant), exitUsage, "", "--retention"},
		{"erase with a bad batch", args([]string{"tenant", "erase", "--retention", "keep-audit-chain", "--batch", "0"}, base, tenant), exitUsage, "", "--batch"},
		{"erase without reason", args([]string{"tenant", "erase", "--retention", "keep-audit-chain", "--tenant", "1"}, base), exitUsage, "", "--reason"},
		{"verify without record", []string{"tenant", "verify", "--dsn", "x"}, exitUsage, "", "--record"},
		{"verify without DSN", []string{"tenant", "verify", "--record", "r.json"}, exitUsage, "", "--dsn"},
		{"erase unreachable keeps the password", args([]string{"tenant", "erase", "--retention", "keep-audit-chain"}, base, tenant), exitFailure, "", "connecting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantStdout) || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("got code %d, stdout %q, stderr %q; want %d, %q, %q", r.code, r.stdout, r.stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if strings.Contains(r.stdout+r.stderr, "hunter2secret") {
				t.Errorf("output shows the password")
			}
		})
	}
}

// lifecycleDB is a database with a registry of clinics, a tenant table of
// patients and the audit log, and clinics A and B with patients; it
// returns the spec file of its model.
func lifecycleDB(t *testing.T, clinics ...tenancy.ID) (*pgtest.DB, string) {
	t.Helper()
	db := pgtest.New(t)
	cfg := rls.Config{
		OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
		AuditRole: db.RoleName(pgtest.Audit), TenantColumn: "clinic_id",
	}
	tables := append([]rls.Table{
		{Name: "public.clinics", Kind: rls.Registry, ListsTenants: "id"},
		{Name: "public.patients"},
	}, audit.Tables(audit.Config{})...)
	db.Exec(t, pgtest.Owner, `CREATE TABLE public.clinics (id uuid PRIMARY KEY, name text NOT NULL);
		CREATE TABLE public.patients (clinic_id uuid NOT NULL REFERENCES public.clinics (id), id uuid NOT NULL, name text NOT NULL,
			PRIMARY KEY (clinic_id, id))`)
	sql, err := rls.Generate(cfg, tables[:2]...)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	schema, err := audit.Schema(cfg, audit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Admin, schema)
	for i, c := range clinics {
		db.Exec(t, pgtest.Platform, `INSERT INTO public.clinics VALUES ($1, $2)`, c, "clinic")
		// As the superuser: seeding, not the SDK's path.
		db.Exec(t, pgtest.Admin, `INSERT INTO public.patients SELECT $1, gen_random_uuid(), 'patient ' || g FROM generate_series(1, $2::int) AS g`, c, 5+i)
	}
	b, err := json.Marshal(rls.Spec{Config: cfg, Tables: tables})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rls.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return db, path
}

func patientsOf(t *testing.T, db *pgtest.DB, clinic tenancy.ID) int64 {
	t.Helper()
	var n int64
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), `SELECT count(*) FROM public.patients WHERE clinic_id = $1`, clinic).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTenantLifecycle exports clinic A signed, imports it into a second
// database verifying the signature, and erases it from the first with a
// signed record that verifies against the chain; clinic B stays.
func TestTenantLifecycle(t *testing.T) {
	a := tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	b := tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
	src, specFile := lifecycleDB(t, a, b)
	dst, dstSpec := lifecycleDB(t) // roles of its own, so a spec of its own
	if patientsOf(t, src, a) != 5 || patientsOf(t, src, b) != 6 {
		t.Fatalf("fixture: clinic A needs 5 patients and B 6")
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "key.pem")
	if r := runCLI(t, "", nil, "audit", "keygen", "--out", key); r.code != exitOK {
		t.Fatalf("keygen: %d %q", r.code, r.stderr)
	}
	environ := map[string]string{"DATABASE_URL": src.ConnString(pgtest.App), envPlatformURL: src.ConnString(pgtest.Platform)}
	archive := filepath.Join(dir, "clinic-a")
	r := runCLI(t, "", environ, "tenant", "export", "--spec", specFile, "--tenant", a.String(), "--reason", "the clinic moves region",
		"--out", archive, "--sign", key, "--schema-version", "7")
	if r.code != exitOK || !strings.Contains(r.stdout, "signed by key") {
		t.Fatalf("export: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "", map[string]string{"DATABASE_URL": dst.ConnString(pgtest.Admin)}, "tenant", "import", "--spec", dstSpec,
		"--in", archive, "--verify", key+".pub", "--schema-version", "7")
	if r.code != exitOK || !strings.Contains(r.stdout, "imported tenant "+a.String()) {
		t.Fatalf("import: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if got := patientsOf(t, dst, a); got != 5 {
		t.Errorf("the target holds %d of A's patients, want 5", got)
	}
	// Unsigned verification of a signed archive is refused.
	r = runCLI(t, "", map[string]string{"DATABASE_URL": dst.ConnString(pgtest.Admin)}, "tenant", "import", "--spec", dstSpec, "--in", archive)
	if r.code != exitFailure || !strings.Contains(r.stderr, "signature") {
		t.Errorf("import without --verify: %d %q, want a refusal for the signature", r.code, r.stderr)
	}

	record := filepath.Join(dir, "erasure.json")
	r = runCLI(t, "", environ, "tenant", "erase", "--spec", specFile, "--tenant", a.String(), "--reason", "the clinic moved region",
		"--retention", "keep-audit-chain", "--batch", "2", "--sign", key, "--out", record)
	if r.code != exitOK || !strings.Contains(r.stdout, "erased tenant "+a.String()) {
		t.Fatalf("erase: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if patientsOf(t, src, a) != 0 || patientsOf(t, src, b) != 6 {
		t.Errorf("after the erasure: A has %d patients, B %d; want 0 and 6", patientsOf(t, src, a), patientsOf(t, src, b))
	}
	doc, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := tenantarchive.ParseErasure(doc)
	if err != nil {
		t.Fatalf("the record: %v", err)
	}
	pubPEM, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Verify(pub); err != nil {
		t.Errorf("the record's signature: %v", err)
	}
	if err := tenantarchive.VerifyErasure(context.Background(), src.Pool(t, pgtest.Platform), rec); err != nil {
		t.Errorf("VerifyErasure: %v", err)
	}
	if p, _ := rec.Relation("public.patients"); p.Deleted != 5 || p.Remaining != 0 {
		t.Errorf("the record's patients: %+v", p)
	}
	verify := func() result {
		return runCLI(t, "", map[string]string{envPlatformURL: src.ConnString(pgtest.Platform)}, "tenant", "verify", "--record", record, "--public-key", key+".pub")
	}
	if r := verify(); r.code != exitOK || !strings.Contains(r.stdout, "holds") {
		t.Errorf("verify: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "", map[string]string{envPlatformURL: src.ConnString(pgtest.Platform)}, "tenant", "verify", "--record", record); r.code != exitUsage {
		t.Errorf("verify of a signed record without --public-key: %d %q", r.code, r.stderr)
	}
	// Again: erased already.
	r = runCLI(t, "", environ, "tenant", "erase", "--spec", specFile, "--tenant", a.String(), "--reason", "again", "--retention", "keep-audit-chain")
	if r.code != exitFailure || !strings.Contains(r.stderr, "erased already") {
		t.Errorf("second erase: %d %q", r.code, r.stderr)
	}
	if r := verify(); r.code != exitOK {
		t.Errorf("verify after a refused second erase: %d %q", r.code, r.stderr)
	}
	// An export of A after its erasure is recorded in A's chain: the
	// record no longer holds.
	r = runCLI(t, "", environ, "tenant", "export", "--spec", specFile, "--tenant", a.String(), "--reason", "late", "--out", filepath.Join(dir, "late"))
	if r.code != exitOK {
		t.Fatalf("late export: %d %q", r.code, r.stderr)
	}
	if r := verify(); r.code != exitFailure || !strings.Contains(r.stderr, "moved") {
		t.Errorf("verify after a later event: %d %q %q", r.code, r.stdout, r.stderr)
	}
}
