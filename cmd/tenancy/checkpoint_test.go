package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

func TestAuditCheckpointUsage(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key.pem")
	if r := runCLI(t, "", nil, "audit", "keygen", "--out", key); r.code != exitOK {
		t.Fatalf("keygen: %d %s %s", r.code, r.stdout, r.stderr)
	}
	loose := filepath.Join(dir, "loose.pem")
	b, _ := os.ReadFile(key)
	if err := os.WriteFile(loose, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"help", []string{"audit", "checkpoint", "-h"}, exitOK, ""},
		{"no key", []string{"audit", "checkpoint", "--dsn", "x", "--out", dir, "--registry", "public.t.id"}, exitUsage, "--key"},
		{"no out", []string{"audit", "checkpoint", "--dsn", "x", "--key", key, "--registry", "public.t.id"}, exitUsage, "--out"},
		{"no registry", []string{"audit", "checkpoint", "--dsn", "x", "--key", key, "--out", dir}, exitUsage, "--registry"},
		{"bad registry", []string{"audit", "checkpoint", "--dsn", "x", "--key", key, "--out", dir, "--registry", "t.id"}, exitUsage, "--registry"},
		{"bad key type", []string{"audit", "checkpoint", "--dsn", "x", "--key", key, "--out", dir, "--registry", "public.t.id", "--key-type", "int"}, exitUsage, "--key-type"},
		{"no DSN", []string{"audit", "checkpoint", "--key", key, "--out", dir, "--registry", "public.t.id"}, exitUsage, "--dsn"},
		{"key readable by others", []string{"audit", "checkpoint", "--dsn", "x", "--key", loose, "--out", dir, "--registry", "public.t.id"}, exitFailure, "chmod 600"},
		{"public key as key", []string{"audit", "checkpoint", "--dsn", "x", "--key", key + ".pub", "--out", dir, "--registry", "public.t.id"}, exitFailure, "--key"},
		{"keygen over an existing key", []string{"audit", "keygen", "--out", key}, exitFailure, "exists"},
		{"verify: checkpoint without public key", []string{"audit", "verify", "--dsn", "x", "--checkpoint", key}, exitUsage, "--public-key"},
		{"verify: checkpoint with tenant", []string{"audit", "verify", "--dsn", "x", "--checkpoint", key, "--public-key", key, "--tenant", "42"}, exitUsage, "--tenant"},
		{"verify: not a checkpoint", []string{"audit", "verify", "--dsn", "x", "--checkpoint", key, "--public-key", key + ".pub"}, exitFailure, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("got code %d, stdout %q, stderr %q; want %d, %q", r.code, r.stdout, r.stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}
}

// TestAuditCheckpoint writes a key pair and a checkpoint with the CLI,
// verifies the database against it, and then finds a truncated chain, a
// chain deleted whole, and a checkpoint checked with another key.
func TestAuditCheckpoint(t *testing.T) {
	db := pgtest.New(t)
	rcfg := rls.Config{
		OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
		AuditRole: db.RoleName(pgtest.Audit),
	}
	helpers, err := rls.Generate(rcfg)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, helpers)
	sql, err := audit.Schema(rcfg, audit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Admin, sql) // the audit owner's schema: installed by an administrator
	db.Exec(t, pgtest.Owner, `create table public.clinics (id uuid primary key)`)
	db.Exec(t, pgtest.Owner, `grant select on public.clinics to `+db.RoleName(pgtest.Platform))
	clinics := []tenancy.ID{tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a"), tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")}
	conn := db.Conn(t, pgtest.App)
	for _, clinic := range clinics {
		db.Exec(t, pgtest.Owner, `insert into public.clinics (id) values ($1)`, clinic)
		p := tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinic, Subject: tenancy.NewID(), Roles: []string{"owner"}}
		ctx := tenancy.NewContext(context.Background(), p)
		declared, err := rls.EncodePrincipal(p)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `select set_config('tenancy.tenant_id', $1, true), set_config('tenancy.principal', $2, true)`, clinic.String(), declared); err != nil {
					return err
				}
				_, err := audit.Record(ctx, tx, audit.Event{Action: "patient.read", Outcome: audit.Success})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	key, other := filepath.Join(dir, "key.pem"), filepath.Join(dir, "other.pem")
	for _, k := range []string{key, other} {
		if r := runCLI(t, "", nil, "audit", "keygen", "--out", k); r.code != exitOK || !strings.Contains(r.stdout, "key ") {
			t.Fatalf("keygen: %d %q %q", r.code, r.stdout, r.stderr)
		}
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	dsn := db.ConnString(pgtest.Platform)
	out := filepath.Join(dir, "checkpoints")
	// The DSN from the environment, as for verify.
	r := runCLI(t, "", map[string]string{"DATABASE_URL": dsn}, "audit", "checkpoint", "--key", key, "--out", out, "--registry", "public.clinics.id")
	m := regexp.MustCompile(`wrote (\S+): platform head seq 0, 2 tenants`).FindStringSubmatch(r.stdout)
	if r.code != exitOK || m == nil {
		t.Fatalf("checkpoint: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, db.Password(pgtest.Platform)) {
		t.Errorf("output shows the password")
	}
	cpFile := m[1]
	if fi, err := os.Stat(cpFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("checkpoint file: %v %v", fi.Mode(), err)
	}
	verify := func(pub string) result {
		return runCLI(t, "", nil, "audit", "verify", "--dsn", dsn, "--checkpoint", cpFile, "--public-key", pub)
	}
	if r := verify(key + ".pub"); r.code != exitOK || !strings.Contains(r.stdout, "3 chains, 0 broken") || !strings.Contains(r.stdout, ": 0 mismatches") {
		t.Errorf("intact: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := verify(other + ".pub"); r.code != exitFailure || !strings.Contains(r.stdout, "MISMATCH checkpoint: bad signature") {
		t.Errorf("another key: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// Truncate A's chain and move its head back (the chain alone
	// verifies), and delete B's chain whole.
	admin := db.Conn(t, pgtest.Admin)
	err = pgx.BeginFunc(context.Background(), admin, func(tx pgx.Tx) error {
		for _, q := range []string{
			`set local session_replication_role = replica`,
			`delete from audit.events where tenant_id = '` + clinics[0].String() + `' and seq = 3`,
			`update audit.chain_heads h set seq = 2, hash = e.hash from audit.events e where e.tenant_id = h.tenant_id and e.seq = 2 and h.tenant_id = '` + clinics[0].String() + `'`,
			`delete from audit.events where tenant_id = '` + clinics[1].String() + `'`,
			`delete from audit.chain_heads where tenant_id = '` + clinics[1].String() + `'`,
		} {
			if _, err := tx.Exec(context.Background(), q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", nil, "audit", "verify", "--dsn", dsn); r.code != exitOK {
		t.Fatalf("without a checkpoint the tampering is invisible, but: code %d, stdout %q", r.code, r.stdout)
	}
	r = verify(key + ".pub")
	for _, want := range []string{"MISMATCH tenant " + clinics[0].String() + ": truncated", "MISMATCH tenant " + clinics[1].String() + ": chain missing", ": 2 mismatches"} {
		if r.code != exitFailure || !strings.Contains(r.stdout, want) {
			t.Errorf("after tampering: code %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, want)
		}
	}
}
