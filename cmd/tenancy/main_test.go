package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command in-process with args, stdin and environment.
func runCLI(t *testing.T, stdin string, environ map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, env{
		stdin:  strings.NewReader(stdin),
		stdout: &stdout,
		stderr: &stderr,
		getenv: func(k string) string { return environ[k] },
	})
	return result{code, stdout.String(), stderr.String()}
}

// spec is a valid spec for commands that need one.
const spec = "../../rls/testdata/dental.json"

func TestUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string // a substring
		wantStderr string // a substring
	}{
		{"no command", nil, nil, exitUsage, "", "rls"},
		{"help", []string{"-h"}, nil, exitOK, "Commands:", ""},
		{"unknown command", []string{"frobnicate"}, nil, exitUsage, "", `unknown command "frobnicate"`},
		{"rls alone", []string{"rls"}, nil, exitUsage, "", "generate"},
		{"unknown rls command", []string{"rls", "fix"}, nil, exitUsage, "", `unknown command "fix"`},
		{"generate help", []string{"rls", "generate", "-h"}, nil, exitOK, "Examples:", ""},
		{"check help", []string{"rls", "check", "--help"}, nil, exitOK, "--allow-definer", ""},
		{"generate without spec", []string{"rls", "generate"}, nil, exitUsage, "", "--spec is required"},
		{"unknown flag", []string{"rls", "generate", "--spek", "x"}, nil, exitUsage, "", "spek"},
		{"positional argument", []string{"rls", "generate", "--spec", "x", "extra"}, nil, exitUsage, "", `unexpected argument "extra"`},
		{"check without spec", []string{"rls", "check", "--dsn", "x"}, nil, exitUsage, "", "--spec is required"},
		{"check without spec or DSN", []string{"rls", "check"}, nil, exitUsage, "", "--spec is required"},
		{"check without DSN", []string{"rls", "check", "--spec", spec}, nil, exitUsage, "", "--dsn"},
		{"check with a bad format", []string{"rls", "check", "--spec", spec, "--dsn", "x", "--format", "xml"}, nil, exitUsage, "", "--format"},
		{"check with an unqualified definer", []string{"rls", "check", "--spec", spec, "--dsn", "host=/nonexistent", "--allow-definer", "sign_in"}, nil, exitUsage, "", "invalid config"},
		{"check help names the cross-tenant flag", []string{"rls", "check", "--help"}, nil, exitOK, "--allow-cross-tenant SCHEMA.TABLE.POLICY", ""},
		{"check with an unqualified cross-tenant policy", []string{"rls", "check", "--spec", spec, "--dsn", "host=/nonexistent", "--allow-cross-tenant", "events.audit_platform"}, nil, exitUsage, "", "invalid config"},
		{"check with a malformed spec", []string{"rls", "check", "--spec", "-", "--dsn", "host=/nonexistent"}, nil, exitFailure, "", "invalid spec"},
		{"check with a missing spec", []string{"rls", "check", "--spec", "/nonexistent/spec.json", "--dsn", "host=/nonexistent"}, nil, exitFailure, "", "spec.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runCLI(t, "", tt.env, tt.args...)
			if got.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", got.code, tt.wantCode, got.stdout, got.stderr)
			}
			if !strings.Contains(got.stdout, tt.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantStdout, got.stdout)
			}
			if !strings.Contains(got.stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, got.stderr)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	want, err := os.ReadFile("../../rls/testdata/dental.sql")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, stdin string
		args        []string
	}{
		{"file", "", []string{"rls", "generate", "--spec", spec}},
		{"stdin", string(data), []string{"rls", "generate", "--spec", "-"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := runCLI(t, tt.stdin, nil, tt.args...)
			if got.code != exitOK {
				t.Fatalf("exit code = %d, stderr: %s", got.code, got.stderr)
			}
			if diff := cmp.Diff(string(want), got.stdout); diff != "" {
				t.Errorf("output differs from the golden file (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGenerateCitus checks that --citus prints the Citus section alone,
// the golden file of rls.Model.GenerateCitus.
func TestGenerateCitus(t *testing.T) {
	want, err := os.ReadFile("../../rls/testdata/citus-section.sql")
	if err != nil {
		t.Fatal(err)
	}
	got := runCLI(t, "", nil, "rls", "generate", "--spec", "../../rls/testdata/citus.json", "--citus")
	if got.code != exitOK {
		t.Fatalf("exit code = %d, stderr: %s", got.code, got.stderr)
	}
	if diff := cmp.Diff(string(want), got.stdout); diff != "" {
		t.Errorf("output differs from the golden file (-want +got):\n%s", diff)
	}
}

func TestGenerateInvalidSpec(t *testing.T) {
	for _, tt := range []struct{ name, spec string }{
		{"unknown field", `{"tables": [{"name": "public.a", "tenant": "x"}]}`},
		{"unqualified table", `{"tables": [{"name": "patients"}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := runCLI(t, tt.spec, nil, "rls", "generate", "--spec", "-")
			if got.code != exitFailure || got.stdout != "" {
				t.Errorf("exit code = %d with stdout %q, want %d and nothing", got.code, got.stdout, exitFailure)
			}
			if !strings.Contains(got.stderr, "rls: invalid") {
				t.Errorf("stderr lacks the reason: %s", got.stderr)
			}
		})
	}
	got := runCLI(t, "", nil, "rls", "generate", "--spec", "/nonexistent/spec.json")
	if got.code != exitFailure {
		t.Errorf("missing spec file: exit code = %d, want %d", got.code, exitFailure)
	}
}

func TestCheck(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, `CREATE TABLE public.patients (clinic_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (clinic_id, id))`)
	sql, err := rls.Generate(rls.Config{
		OwnerRole:    db.RoleName(pgtest.Owner),
		AppRole:      db.RoleName(pgtest.App),
		PlatformRole: db.RoleName(pgtest.Platform),
		TenantColumn: "clinic_id",
	}, rls.Table{Name: "public.patients"})
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	dsn, app := db.ConnString(pgtest.App), db.RoleName(pgtest.App)
	// The spec names the table and the other roles; --app-role overrides
	// its app role.
	specFile := filepath.Join(t.TempDir(), "spec.json")
	specJSON := fmt.Sprintf(`{"owner_role": %q, "app_role": "someone_else", "platform_role": %q, "tenant_column": "clinic_id", "tables": [{"name": "public.patients"}]}`,
		db.RoleName(pgtest.Owner), db.RoleName(pgtest.Platform))
	if err := os.WriteFile(specFile, []byte(specJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(environ map[string]string, args ...string) result {
		t.Helper()
		return runCLI(t, "", environ, append([]string{"rls", "check", "--spec", specFile}, args...)...)
	}

	got := check(nil, "--dsn", dsn)
	if got.code != exitFailure || !strings.Contains(got.stdout, "app-role-missing") {
		t.Fatalf("the spec's own app role, which does not exist: exit code %d, stdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	got = check(nil, "--dsn", dsn, "--app-role", app)
	if got.code != exitOK || !strings.Contains(got.stdout, "0 errors, 0 warnings") {
		t.Fatalf("clean database: exit code %d, stdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	got = check(map[string]string{"DATABASE_URL": dsn}, "--app-role", app, "--format", "json")
	if got.code != exitOK || strings.TrimSpace(got.stdout) != `{
  "findings": []
}` {
		t.Fatalf("clean database, DSN from $DATABASE_URL: exit code %d, stdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}

	db.Exec(t, pgtest.Admin, `ALTER TABLE public.patients NO FORCE ROW LEVEL SECURITY; ALTER TABLE public.patients ADD COLUMN n bigserial;
		GRANT USAGE ON SEQUENCE public.patients_n_seq TO `+pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize())
	got = check(nil, "--dsn", dsn, "--app-role", app, "--format", "json")
	if got.code != exitFailure {
		t.Fatalf("broken database: exit code %d, want %d; stderr:\n%s", got.code, exitFailure, got.stderr)
	}
	var report struct {
		Findings []struct {
			Code       string `json:"code"`
			Severity   string `json:"severity"`
			ObjectKind string `json:"object_kind"`
			Object     string `json:"object"`
			Fix        string `json:"fix"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &report); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got.stdout)
	}
	var codes []string
	for _, f := range report.Findings {
		codes = append(codes, f.Severity+" "+f.Code+" "+f.ObjectKind+" "+f.Object)
		if f.Fix == "" {
			t.Errorf("finding %s has no fix", f.Code)
		}
	}
	want := []string{"error rls-not-forced table public.patients", "warning sequence-default column public.patients.n"}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	got = check(nil, "--dsn", dsn, "--app-role", app)
	if got.code != exitFailure || !strings.Contains(got.stdout, "ERROR") || !strings.Contains(got.stdout, "1 errors, 1 warnings") {
		t.Errorf("text report: exit code %d, stdout:\n%s", got.code, got.stdout)
	}

	// Only warnings: exit 0.
	db.Exec(t, pgtest.Admin, `ALTER TABLE public.patients FORCE ROW LEVEL SECURITY`)
	got = check(nil, "--dsn", dsn, "--app-role", app)
	if got.code != exitOK || !strings.Contains(got.stdout, "0 errors, 1 warnings") {
		t.Errorf("warnings only: exit code %d, stdout:\n%s", got.code, got.stdout)
	}

	// Permissive policies for the platform role: each is reported until it
	// is allowed by name, and allowing one leaves the other reported.
	db.Exec(t, pgtest.Admin, `CREATE POLICY platform_reads ON public.patients FOR SELECT TO `+db.RoleName(pgtest.Platform)+` USING (id IS NOT NULL)`)
	got = check(nil, "--dsn", dsn, "--app-role", app)
	if got.code != exitFailure || !strings.Contains(got.stdout, "policy-unbound-role") || !strings.Contains(got.stdout, "--allow-cross-tenant public.patients.platform_reads") {
		t.Errorf("cross-tenant policy, not allowed: exit code %d, stdout:\n%s", got.code, got.stdout)
	}
	got = check(nil, "--dsn", dsn, "--app-role", app, "--allow-cross-tenant", "public.patients.platform_reads")
	if got.code != exitOK || !strings.Contains(got.stdout, "0 errors, 1 warnings") {
		t.Errorf("cross-tenant policy, allowed: exit code %d, stdout:\n%s", got.code, got.stdout)
	}
	db.Exec(t, pgtest.Admin, `CREATE POLICY platform_writes ON public.patients FOR INSERT TO `+db.RoleName(pgtest.Platform)+` WITH CHECK (id IS NOT NULL)`)
	got = check(nil, "--dsn", dsn, "--app-role", app, "--allow-cross-tenant", "public.patients.platform_reads")
	if got.code != exitFailure || !strings.Contains(got.stdout, "platform_writes on public.patients") || strings.Contains(got.stdout, "platform_reads on") {
		t.Errorf("second cross-tenant policy, not allowed: exit code %d, stdout:\n%s", got.code, got.stdout)
	}
	got = check(nil, "--dsn", dsn, "--app-role", app,
		"--allow-cross-tenant", "public.patients.platform_reads", "--allow-cross-tenant", "public.patients.platform_writes")
	if got.code != exitOK {
		t.Errorf("both cross-tenant policies allowed: exit code %d, stdout:\n%s", got.code, got.stdout)
	}
}

// The help lists the audit schema's cross-tenant policies; it must name
// every one that audit.CrossTenantPolicies returns.
func TestCheckHelpListsAuditPolicies(t *testing.T) {
	got := runCLI(t, "", nil, "rls", "check", "--help")
	for _, name := range audit.CrossTenantPolicies() {
		if !strings.Contains(got.stdout, " "+name+" ") && !strings.Contains(got.stdout, " "+name+"\n") {
			t.Errorf("rls check --help does not list %s", name)
		}
	}
}

func TestCheckCannotConnect(t *testing.T) {
	got := runCLI(t, "", nil, "rls", "check", "--spec", spec, "--dsn", "host=/nonexistent/socket/dir user=nobody connect_timeout=2")
	if got.code != exitFailure || !strings.Contains(got.stderr, "connecting") {
		t.Errorf("exit code %d, stderr: %s", got.code, got.stderr)
	}
}

// No error message shows the password of a DSN, however malformed the DSN
// (pgx redacts passwords only on a best-effort basis).
func TestCheckDoesNotPrintPassword(t *testing.T) {
	const pw = "s3cretpw"
	for _, dsn := range []string{
		"postgres://u:" + pw + "@127.0.0.1:1/db?connect_timeout=2",
		"postgres://u:" + pw + "@127.0.0.1:badport/db",
		"postgres://u@127.0.0.1:1/db?password=" + pw + "&sslmode=bogus",
		"postgres://u:" + pw + " x@127.0.0.1/db",
		"host=127.0.0.1 port=1 user=u password=" + pw + " connect_timeout=2",
		"host=127.0.0.1 password=" + pw + " sslmode=bogus",
		"host=127.0.0.1 password = " + pw + " sslmode=bogus",
		"host=127.0.0.1 password='x\\' " + pw + "' sslmode=bogus",
		"host=127.0.0.1 PASSWORD=" + pw + " sslmode=bogus",
		"password=" + pw + " host='unterminated",
	} {
		t.Run(dsn, func(t *testing.T) {
			for _, args := range [][]string{
				{"rls", "check", "--spec", spec, "--dsn", dsn},
				{"rls", "check", "--spec", spec},
			} {
				got := runCLI(t, "", map[string]string{"DATABASE_URL": dsn}, args...)
				if got.code != exitFailure {
					t.Errorf("exit code = %d, want %d; stderr: %s", got.code, exitFailure, got.stderr)
				}
				if strings.Contains(got.stdout+got.stderr, pw) {
					t.Errorf("output shows the password:\nstdout: %s\nstderr: %s", got.stdout, got.stderr)
				}
			}
		})
	}
}

func TestRoles(t *testing.T) {
	data, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	s, err := rls.ParseSpec(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Model()
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.RolesSQL("dental")
	if err != nil {
		t.Fatal(err)
	}
	got := runCLI(t, "", nil, "rls", "roles", "--spec", spec, "--database", "dental")
	if got.code != exitOK || got.stdout != want {
		t.Errorf("rls roles: exit %d, stderr %q, output differs from Model.RolesSQL: %v", got.code, got.stderr, got.stdout != want)
	}
	for _, args := range [][]string{{"rls", "roles", "--spec", spec}, {"rls", "roles", "--database", "dental"}} {
		if got := runCLI(t, "", nil, args...); got.code != exitUsage {
			t.Errorf("%v: exit %d, want %d (usage)", args, got.code, exitUsage)
		}
	}
}

// TestCheckCitus shows that --citus turns on the Citus rules: a tenant
// table that inherits is clean without it and an error with it.
func TestCheckCitus(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, `CREATE TABLE public.patients (clinic_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (clinic_id, id));
		CREATE TABLE public.old_patients () INHERITS (public.patients);
		CREATE INDEX ON public.old_patients (clinic_id)`)
	cfg := rls.Config{
		OwnerRole:    db.RoleName(pgtest.Owner),
		AppRole:      db.RoleName(pgtest.App),
		PlatformRole: db.RoleName(pgtest.Platform),
		TenantColumn: "clinic_id",
	}
	sql, err := rls.Generate(cfg, rls.Table{Name: "public.patients"})
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	specFile := filepath.Join(t.TempDir(), "spec.json")
	specJSON := fmt.Sprintf(`{"owner_role": %q, "app_role": %q, "platform_role": %q, "tenant_column": "clinic_id", "tables": [{"name": "public.patients"}]}`,
		cfg.OwnerRole, cfg.AppRole, cfg.PlatformRole)
	if err := os.WriteFile(specFile, []byte(specJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := db.ConnString(pgtest.App)
	got := runCLI(t, "", nil, "rls", "check", "--spec", specFile, "--dsn", dsn)
	if got.code != exitOK || !strings.Contains(got.stdout, "0 errors, 0 warnings") {
		t.Fatalf("without --citus: exit code %d, stdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	got = runCLI(t, "", nil, "rls", "check", "--spec", specFile, "--dsn", dsn, "--citus")
	if got.code != exitFailure || !strings.Contains(got.stdout, "citus-inheritance") || !strings.Contains(got.stdout, "public.old_patients") {
		t.Fatalf("with --citus: exit code %d, want %d and citus-inheritance; stdout:\n%s\nstderr:\n%s", got.code, exitFailure, got.stdout, got.stderr)
	}
}
