package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

func TestAuditVerifyUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"audit", "verify", "-h"}, exitOK, "--tenant", ""},
		{"no DSN", []string{"audit", "verify"}, exitUsage, "", "--dsn"},
		{"bad tenant", []string{"audit", "verify", "--dsn", "x", "--tenant", "nope"}, exitUsage, "", "--tenant"},
		{"bad key type", []string{"audit", "verify", "--dsn", "x", "--tenant", "42", "--key-type", "int4"}, exitUsage, "", "--key-type"},
		{"bigint tenant not canonical", []string{"audit", "verify", "--dsn", "x", "--tenant", "042", "--key-type", "bigint"}, exitUsage, "", "--tenant"},
		{"bigint tenant", []string{"audit", "verify", "--dsn", "postgres://u@/x?host=/nonexistent", "--tenant", "42", "--key-type", "bigint"}, exitFailure, "", "connecting"},
		{"unreachable database keeps the password", []string{"audit", "verify", "--dsn", "postgres://u:hunter2secret@/x?host=/nonexistent"}, exitFailure, "", "connecting"},
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

func TestAuditVerify(t *testing.T) {
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
	clinic := tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	p := tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinic, Subject: tenancy.NewID(), Roles: []string{"owner"}}
	ctx := tenancy.NewContext(context.Background(), p)
	declared, err := rls.EncodePrincipal(p)
	if err != nil {
		t.Fatal(err)
	}
	conn := db.Conn(t, pgtest.App)
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
	dsn := db.ConnString(pgtest.Platform)

	r := runCLI(t, "", nil, "audit", "verify", "--dsn", dsn)
	if r.code != exitOK || !strings.Contains(r.stdout, "tenant "+clinic.String()+": 3 events") || !strings.Contains(r.stdout, "2 chains, 0 broken") ||
		!strings.Contains(r.stdout, "without --checkpoint this cannot see a tail truncated") {
		t.Errorf("intact: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, db.Password(pgtest.Platform)) {
		t.Errorf("output shows the password")
	}

	admin := db.Conn(t, pgtest.Admin)
	err = pgx.BeginFunc(context.Background(), admin, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `set local session_replication_role = replica`); err != nil {
			return err
		}
		_, err := tx.Exec(context.Background(), `update audit.events set outcome = 'failure' where seq = 2`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var edited tenancy.ID
	if err := admin.QueryRow(context.Background(), `select id from audit.events where seq = 2`).Scan(&edited); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"audit", "verify", "--dsn", dsn}, {"audit", "verify", "--dsn", dsn, "--tenant", clinic.String()}} {
		r = runCLI(t, "", nil, args...)
		if r.code != exitFailure || !strings.Contains(r.stdout, "BROKEN tenant "+clinic.String()+": edited: seq 2, event "+edited.String()) {
			t.Errorf("%v after an edit: code %d, stdout %q, stderr %q", args[2:], r.code, r.stdout, r.stderr)
		}
	}
}
