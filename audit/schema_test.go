package audit_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/internal/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

func TestSchemaPassesRLSCheck(t *testing.T) {
	f := setup(t)
	conn := f.db.Conn(t, pgtest.App)
	errorFindings := func(cfg rls.Config) []string {
		t.Helper()
		// The fixture's model (the audit tables and public.notes), with
		// cfg's allow-list.
		m, err := rls.NewModel(cfg, f.model.Tables()...)
		if err != nil {
			t.Fatal(err)
		}
		findings, err := rls.Check(context.Background(), conn, m)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, fd := range findings {
			if fd.Severity == rls.SeverityError {
				got = append(got, string(fd.Code)+" "+fd.Object)
			} else {
				t.Logf("warning: %s %s: %s", fd.Code, fd.Object, fd.Message)
			}
		}
		slices.Sort(got)
		return got
	}
	cfg := f.model.Config()
	cfg.AllowCrossTenant = nil

	// The platform role reads every clinic's audit rows on purpose, and the
	// owner role writes platform-wide events: without the allow-list,
	// rls.Check reports exactly the policies CrossTenantPolicies names.
	var want []string
	for _, name := range audit.CrossTenantPolicies() {
		i := strings.LastIndexByte(name, '.')
		want = append(want, "policy-unbound-role "+name[i+1:]+" on "+name[:i])
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, errorFindings(cfg)); diff != "" {
		t.Errorf("error findings without the allow-list (-want +got):\n%s", diff)
	}

	cfg.AllowCrossTenant = audit.CrossTenantPolicies()
	if got := errorFindings(cfg); len(got) != 0 {
		t.Errorf("error findings with AllowCrossTenant = CrossTenantPolicies(): %v, want none", got)
	}
}

func TestSchemaIsIdempotent(t *testing.T) {
	f := setup(t)
	f.record(t, staff(clinicA, ownerA, "owner"), 2, "patient.update")
	sql, err := audit.Schema(rls.Config{
		OwnerRole:    f.db.RoleName(pgtest.Owner),
		AppRole:      f.db.RoleName(pgtest.App),
		PlatformRole: f.db.RoleName(pgtest.Platform),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.db.Exec(t, pgtest.Owner, sql)
	if _, err := audit.Verify(context.Background(), f.platform, clinicA); err != nil {
		t.Errorf("Verify after re-running the migration: %v", err)
	}
}

func TestAppendOnly(t *testing.T) {
	f := setup(t)
	f.record(t, staff(clinicA, ownerA, "owner"), 1, "patient.update")
	if n := f.adminCount(t, clinicA, ""); n != 1 {
		t.Fatalf("fixture: %d events, want 1", n)
	}
	tests := []struct {
		name  string
		role  pgtest.Role
		sql   string
		state string
	}{
		{"app update", pgtest.App, `update audit.events set reason = 'x'`, "42501"},
		{"app delete", pgtest.App, `delete from audit.events`, "42501"},
		{"app truncate", pgtest.App, `truncate audit.events`, "42501"},
		{"app delete head", pgtest.App, `delete from audit.chain_heads`, "42501"},
		{"platform update", pgtest.Platform, `update audit.events set reason = 'x'`, "42501"},
		{"platform truncate", pgtest.Platform, `truncate audit.events`, "42501"},
		{"owner update", pgtest.Owner, `update audit.events set reason = 'x'`, audit.SQLStateAppendOnly},
		{"owner delete", pgtest.Owner, `delete from audit.events`, audit.SQLStateAppendOnly},
		{"owner truncate", pgtest.Owner, `truncate audit.events`, audit.SQLStateAppendOnly},
		{"superuser delete", pgtest.Admin, `delete from audit.events`, audit.SQLStateAppendOnly},
		{"superuser rewinds head", pgtest.Admin, `update audit.chain_heads set seq = seq - 1`, audit.SQLStateAppendOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := f.db.Conn(t, tt.role)
			// The app role may set a tenant context; it changes nothing.
			_, err := conn.Exec(context.Background(), `select set_config('tenancy.tenant_id', $1, false)`, clinicA.String())
			if err != nil {
				t.Fatal(err)
			}
			_, err = conn.Exec(context.Background(), tt.sql)
			if got := sqlState(err); got != tt.state {
				t.Errorf("%s: SQLSTATE %q (%v), want %q", tt.sql, got, err, tt.state)
			}
		})
	}
	if n := f.adminCount(t, clinicA, ""); n != 1 {
		t.Errorf("after the attempts: %d events, want 1", n)
	}
}
