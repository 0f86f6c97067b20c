package audit_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
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

	// The platform role reads every clinic's audit rows on purpose:
	// without the allow-list,
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
	sql, err := audit.Schema(roles(f.db), audit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f.db.Exec(t, pgtest.Admin, sql)
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
		{"owner update", pgtest.Owner, `update audit.events set reason = 'x'`, "42501"},
		{"owner delete", pgtest.Owner, `delete from audit.events`, "42501"},
		{"owner truncate", pgtest.Owner, `truncate audit.events`, "42501"},
		{"audit owner update", pgtest.Audit, `update audit.events set reason = 'x'`, audit.SQLStateAppendOnly},
		{"audit owner delete", pgtest.Audit, `delete from audit.events`, audit.SQLStateAppendOnly},
		{"audit owner truncate", pgtest.Audit, `truncate audit.events`, audit.SQLStateAppendOnly},
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

// TestSchemaUnderAnotherTenantColumn: an application whose tenant column
// is org_id installs the audit schema, builds its model with
// audit.Tables(cfg), and records, lists and verifies through
// tenantdb with its default guard: the audit tables carry their own
// tenant column (audit.TenantColumn), so the application's name for its
// own is irrelevant to them. Before, Schema created the tables with
// clinic_id and their policies with org_id, and the migration failed
// with `column "org_id" does not exist`.
func TestSchemaUnderAnotherTenantColumn(t *testing.T) {
	f := setupWith(t, "org_id", nil) // nil: tenantdb's default guard of the model
	ctx := context.Background()
	for _, r := range f.model.TenantRelations() {
		want := audit.TenantColumn
		if r.Qualified() == "public.notes" {
			want = "org_id"
		}
		if r.TenantColumn != want {
			t.Errorf("model: %s has tenant column %q, want %q", r.Qualified(), r.TenantColumn, want)
		}
	}

	// The application's table and the audit log, in one transaction each,
	// through the guard, for two tenants.
	for _, c := range []struct {
		clinic, owner tenancy.ID
	}{{clinicA, ownerA}, {clinicB, ownerB}} {
		sctx := staff(c.clinic, c.owner, "owner")
		for i := range 2 {
			err := f.app.Tx(sctx, func(tx *tenantdb.Tx) error {
				if _, err := tx.Exec(sctx, `insert into public.notes (org_id, id, body) values ($1, $2, 'x')`, c.clinic, tenancy.NewID()); err != nil {
					return err
				}
				_, err := audit.Record(sctx, tx, audit.Event{Action: "note.create", ResourceType: "note", ResourceID: fmt.Sprint(i), Outcome: audit.Success})
				return err
			})
			if err != nil {
				t.Fatalf("recording at %s: %v", c.clinic, err)
			}
		}
	}
	for _, c := range []tenancy.ID{clinicA, clinicB} {
		rep, err := audit.Verify(ctx, f.platform, c)
		if err != nil || rep.Events != 2 || rep.Head.Seq != 2 {
			t.Errorf("Verify(%s): %d events, head %d, %v; want 2, 2, nil", c, rep.Events, rep.Head.Seq, err)
		}
	}

	// Row-level security on the audit tables binds by tenant_id: A's owner
	// lists A's two events, and none of B's (which exist, above).
	ownerCtx := staff(clinicA, ownerA, "owner")
	var own, theirs []audit.Event
	err := f.app.Tx(ownerCtx, func(tx *tenantdb.Tx) error {
		var err error
		if own, err = audit.List(ownerCtx, tx, clinicA, 0, 10); err != nil {
			return err
		}
		return nil
	})
	if err != nil || len(own) != 2 {
		t.Errorf("A's owner lists %d of A's events (%v), want 2", len(own), err)
	}
	err = f.app.Tx(ownerCtx, func(tx *tenantdb.Tx) error {
		var err error
		theirs, err = audit.List(ownerCtx, tx, clinicB, 0, 10)
		return err
	})
	if len(theirs) != 0 {
		t.Errorf("A's owner lists %d of B's events, want none (err %v)", len(theirs), err)
	}

	if _, err := audit.VerifyAll(ctx, f.platform); err != nil {
		t.Errorf("VerifyAll: %v", err)
	}
}

// TestReaderRolesAreConfigurable: with ReaderRoles {"auditor"}, staff
// holding "auditor" read the tenant's log and grants, and staff holding
// "owner" (the default reader role) read nothing.
func TestReaderRolesAreConfigurable(t *testing.T) {
	f := setupFull(t, "", allowAll{}, audit.Config{ReaderRoles: []string{"auditor"}})
	f.record(t, staff(clinicA, dentistA, "dentist"), 2, "note.read")
	if n := f.adminCount(t, clinicA, ""); n != 2 {
		t.Fatalf("fixture: %d events, want 2", n)
	}
	tests := []struct {
		name string
		ctx  context.Context
		want int
	}{
		{"an auditor reads", staff(clinicA, dentistA, "auditor"), 2},
		{"an owner reads none", staff(clinicA, ownerA, "owner"), 0},
		{"a patient auditor reads none", as(tenancy.Principal{Kind: tenancy.Kind("patient"), Tenant: clinicA, Subject: patientA, Roles: []string{"auditor"}}), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			err := f.app.Tx(tt.ctx, func(tx *tenantdb.Tx) error {
				events, err := audit.List(tt.ctx, tx, clinicA, 0, 100)
				n = len(events)
				return err
			})
			if err != nil || n != tt.want {
				t.Errorf("List: %d events (%v), want %d", n, err, tt.want)
			}
		})
	}
	for _, tb := range f.model.Tables() {
		if tb.Name == "audit.events" && !slices.Equal(tb.ReadRoles, []string{"auditor"}) {
			t.Errorf("model: audit.events ReadRoles %q, want [auditor]", tb.ReadRoles)
		}
	}
}
