package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// ownerAttacks are what the migration role tried on a database where it
// owned the audit tables (issue 18): each must now be refused.
func ownerAttacks(db *pgtest.DB) []string {
	owner := pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()
	return []string{
		`alter table audit.events disable trigger append_only`,
		`alter table audit.events disable trigger all`,
		`alter table audit.events disable trigger check_context`,
		`drop trigger append_only on audit.events`,
		`drop trigger advance_head on audit.chain_heads`,
		`delete from audit.events`,
		`truncate audit.events`,
		`truncate audit.chain_heads`,
		`alter table audit.events owner to ` + owner,
		`alter table audit.events drop constraint events_grant`,
		`alter table audit.events no force row level security`,
		`drop table audit.events`,
		`create or replace function audit.refuse_change() returns trigger language plpgsql as $$ begin return null; end $$`,
		`drop function audit.check_context() cascade`,
		`alter schema audit owner to ` + owner,
		`drop schema audit cascade`,
		`set role ` + pgx.Identifier{db.RoleName(pgtest.Audit)}.Sanitize(),
	}
}

// TestMigrationRoleCannotRewriteTheLog: the owner role, which runs the
// migrations, owns nothing of the audit log, and every way it had of
// rewriting it (disabling or dropping the append-only triggers, deleting,
// truncating, altering, giving the table to itself) is refused; so are
// the app and platform roles. Before the audit owner, the owner role
// owned the tables and did each of these.
func TestMigrationRoleCannotRewriteTheLog(t *testing.T) {
	f := setup(t)
	f.record(t, staff(clinicA, ownerA, "owner"), 2, "patient.update")
	if n := f.adminCount(t, clinicA, ""); n != 2 {
		t.Fatalf("fixture: %d events, want 2", n)
	}
	for _, role := range []pgtest.Role{pgtest.Owner, pgtest.App, pgtest.Platform} {
		for _, sql := range ownerAttacks(f.db) {
			t.Run(role.String()+": "+sql, func(t *testing.T) {
				conn := f.db.Conn(t, role)
				_, err := conn.Exec(context.Background(), sql)
				if got := sqlState(err); got != "42501" {
					t.Errorf("SQLSTATE %q (%v), want 42501 (refused)", got, err)
				}
			})
		}
	}
	if n := f.adminCount(t, clinicA, ""); n != 2 {
		t.Errorf("after the attempts: %d events, want 2", n)
	}
	if _, err := audit.Verify(context.Background(), f.platform, clinicA); err != nil {
		t.Errorf("Verify after the attempts: %v", err)
	}
}

// TestSchemaNeedsAnAdministrator: the audit schema is installed by an
// administrator who can SET ROLE to the audit owner; the owner role
// cannot install it (it could not give the tables away), and the schema
// refuses to run while another role of the application can act as the
// audit owner.
func TestSchemaNeedsAnAdministrator(t *testing.T) {
	db := pgtest.New(t)
	cfg := roles(db)
	helpers, err := rls.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, helpers)
	schema, err := audit.Schema(cfg, audit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Conn(t, pgtest.Owner).Exec(context.Background(), schema)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		t.Fatalf("Schema as the owner role: %v, want SQLSTATE 42501", err)
	}
	t.Log(pe.Message)

	audit := pgx.Identifier{db.RoleName(pgtest.Audit)}.Sanitize()
	db.Exec(t, pgtest.Admin, "grant "+audit+" to "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize())
	if _, err := db.Conn(t, pgtest.Admin).Exec(context.Background(), schema); sqlState(err) != "42501" {
		t.Errorf("Schema while the owner role is a member of the audit owner: %v, want SQLSTATE 42501", err)
	}
	db.Exec(t, pgtest.Admin, "revoke "+audit+" from "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize())
	db.Exec(t, pgtest.Admin, schema)
	var owners []string
	rows, err := db.Conn(t, pgtest.Admin).Query(context.Background(), `
		select distinct pg_get_userbyid(relowner) from pg_class where relnamespace = 'audit'::regnamespace
		union select distinct pg_get_userbyid(proowner) from pg_proc where pronamespace = 'audit'::regnamespace
		union select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'audit'`)
	if err == nil {
		owners, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 1 || owners[0] != db.RoleName(pgtest.Audit) {
		t.Errorf("audit objects are owned by %v, want only %s", owners, db.RoleName(pgtest.Audit))
	}
}

// TestSchemaUpgradesAnOwnerOwnedLog: a database installed by an earlier
// version, whose audit objects the owner role owns (and where it could
// disable the append-only trigger, which this test proves first), is
// upgraded by running Schema again as an administrator: every object
// passes to the audit owner, the owner role's attacks are refused, rls
// check reports nothing, and the chains written before verify and grow.
func TestSchemaUpgradesAnOwnerOwnedLog(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.record(t, staff(clinicA, ownerA, "owner"), 2, "patient.update")
	// The earlier layout: the owner role owns the schema and everything in it.
	owner := pgx.Identifier{f.db.RoleName(pgtest.Owner)}.Sanitize()
	f.db.Exec(t, pgtest.Admin, `alter schema audit owner to `+owner+`;
		alter table audit.events owner to `+owner+`; alter table audit.chain_heads owner to `+owner+`;
		alter table audit.platform_head owner to `+owner+`; alter table audit.impersonation_grants owner to `+owner+`;
		alter function audit.refuse_change() owner to `+owner+`; alter function audit.advance_head() owner to `+owner+`;
		alter function audit.end_grant_only() owner to `+owner+`; alter function audit.check_context() owner to `+owner)
	findings, err := rls.Check(ctx, f.db.Conn(t, pgtest.App), f.model)
	if err != nil {
		t.Fatal(err)
	}
	if n := countCode(findings, rls.CodeAuditOwner); n == 0 {
		t.Errorf("rls check on the owner-owned log: no %s finding", rls.CodeAuditOwner)
	}
	// The hole: as the owner of the table, the owner role disables the trigger.
	err = pgx.BeginFunc(ctx, f.db.Conn(t, pgtest.Owner), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `alter table audit.events disable trigger append_only`)
		if err != nil {
			return err
		}
		return errors.New("rollback")
	})
	if err == nil || err.Error() != "rollback" {
		t.Fatalf("fixture: the owner role could not disable the trigger of the table it owns: %v", err)
	}

	schema, err := audit.Schema(rls.Config{OwnerRole: f.db.RoleName(pgtest.Owner), AppRole: f.db.RoleName(pgtest.App),
		PlatformRole: f.db.RoleName(pgtest.Platform), AuditRole: f.db.RoleName(pgtest.Audit), Kinds: testKinds}, audit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f.db.Exec(t, pgtest.Admin, schema)
	for _, sql := range ownerAttacks(f.db) {
		if _, err := f.db.Conn(t, pgtest.Owner).Exec(ctx, sql); sqlState(err) != "42501" {
			t.Errorf("after the upgrade, the owner role: %s: %v, want SQLSTATE 42501", sql, err)
		}
	}
	findings, err = rls.Check(ctx, f.db.Conn(t, pgtest.App), f.model)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range findings {
		if fd.Code == rls.CodeAuditOwner {
			t.Errorf("after the upgrade: %v", fd)
		}
	}
	f.record(t, staff(clinicA, ownerA, "owner"), 1, "patient.update")
	if _, err := audit.Verify(ctx, f.platform, clinicA); err != nil {
		t.Errorf("Verify after the upgrade: %v", err)
	}
}

func countCode(fs []rls.Finding, code rls.Code) int {
	n := 0
	for _, f := range fs {
		if f.Code == code {
			n++
		}
	}
	return n
}

// TestForgedEventsAreRefused: the facts of an event (tenant, actor kind,
// actor, request id, grant and impersonator) must be the transaction's
// context, and a named grant must exist, of the event's tenant and admin.
// Each forged event is appended the way a compromised app would, through
// audit.Append, which computes a correct hash and advances the head; the
// database refuses each, and the chain still verifies. The first case is
// issue 18's attack: the app role, as staff of clinic A, appending an
// event that names a platform admin acting on a grant that does not
// exist.
func TestForgedEventsAreRefused(t *testing.T) {
	f := setup(t)
	grantA := f.grant(t, clinicA, admin)
	grantA2 := f.grant(t, clinicA, admin)
	grantB := f.grant(t, clinicB, admin)
	other := tenancy.NewID()
	staffA := staff(clinicA, ownerA, "owner") // request id "req-1"
	impersonating := as(tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Tenant: clinicA, Subject: admin, RequestID: "req-2",
		Impersonation: &tenancy.Impersonation{GrantID: grantA, Admin: admin}})
	base := audit.Event{Tenant: clinicA, ActorKind: tenancy.Kind("staff"), Actor: ownerA, RequestID: "req-1",
		Action: "patient.read", Outcome: audit.Success}
	with := func(fn func(*audit.Event)) audit.Event { e := base; fn(&e); return e }
	tests := []struct {
		name  string
		ctx   context.Context
		e     audit.Event
		state string
	}{
		// Refused twice over: its grant does not exist (the key, 23503,
		// checked first) and its facts are not the context's (TA002).
		{"staff names a platform admin on a grant that does not exist", staffA, with(func(e *audit.Event) {
			e.ActorKind, e.Actor, e.Grant, e.Impersonator = tenancy.Kind("platform_admin"), admin, tenancy.NewID(), admin
		}), "23503"},
		{"staff names a platform admin on a real grant", staffA, with(func(e *audit.Event) {
			e.ActorKind, e.Actor, e.Grant, e.Impersonator = tenancy.Kind("platform_admin"), admin, grantA, admin
		}), audit.SQLStateContextMismatch},
		{"staff names a grant as its own", staffA, with(func(e *audit.Event) { e.Grant, e.Impersonator = grantA, admin }), audit.SQLStateContextMismatch},
		{"another actor", staffA, with(func(e *audit.Event) { e.Actor = other }), audit.SQLStateContextMismatch},
		{"no actor", staffA, with(func(e *audit.Event) { e.Actor = tenancy.ID{} }), audit.SQLStateContextMismatch},
		{"another actor kind", staffA, with(func(e *audit.Event) { e.ActorKind = tenancy.KindSystem }), audit.SQLStateContextMismatch},
		{"another request id", staffA, with(func(e *audit.Event) { e.RequestID = "req-other" }), audit.SQLStateContextMismatch},
		{"no request id", staffA, with(func(e *audit.Event) { e.RequestID = "" }), audit.SQLStateContextMismatch},
		{"an impersonator's event without its grant", impersonating, with(func(e *audit.Event) {
			e.ActorKind, e.Actor, e.RequestID = tenancy.Kind("platform_admin"), admin, "req-2"
		}), audit.SQLStateContextMismatch},
		// Another tenant's grant: the key refuses it too, first.
		{"an impersonator's event naming another grant", impersonating, with(func(e *audit.Event) {
			e.ActorKind, e.Actor, e.RequestID, e.Grant, e.Impersonator = tenancy.Kind("platform_admin"), admin, "req-2", grantB, admin
		}), "23503"},
		{"an impersonator's event naming another grant of its tenant", impersonating, with(func(e *audit.Event) {
			e.ActorKind, e.Actor, e.RequestID, e.Grant, e.Impersonator = tenancy.Kind("platform_admin"), admin, "req-2", grantA2, admin
		}), audit.SQLStateContextMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.app.Tx(tt.ctx, func(tx *tenantdb.Tx) error {
				_, err := audit.Append(tt.ctx, tx, tt.e)
				return err
			})
			if got := sqlState(err); got != tt.state {
				t.Errorf("Append: SQLSTATE %q (%v), want %q", got, err, tt.state)
			}
		})
	}
	// The same facts, as the context says them, pass: the refusals above
	// are the facts', not the path's.
	for _, ok := range []struct {
		ctx context.Context
		e   audit.Event
	}{
		{staffA, base},
		{impersonating, with(func(e *audit.Event) {
			e.ActorKind, e.Actor, e.RequestID, e.Grant, e.Impersonator = tenancy.Kind("platform_admin"), admin, "req-2", grantA, admin
		})},
	} {
		err := f.app.Tx(ok.ctx, func(tx *tenantdb.Tx) error {
			_, err := audit.Append(ok.ctx, tx, ok.e)
			return err
		})
		if err != nil {
			t.Errorf("Append of the context's own facts: %v", err)
		}
	}
	if n := f.adminCount(t, clinicA, ""); n != 2 {
		t.Errorf("clinic A has %d events, want 2 (the legitimate ones)", n)
	}
	if _, err := audit.Verify(context.Background(), f.platform, clinicA); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// TestNamedGrantsMustExist: platform work (an operator, outside an
// impersonated transaction, as package impersonation records a grant's
// start) may name a grant, but only one that exists, of the event's
// tenant and naming the event's impersonator; a platform-wide event names
// none.
func TestNamedGrantsMustExist(t *testing.T) {
	f := setup(t)
	grantA := f.grant(t, clinicA, admin)
	grantB := f.grant(t, clinicB, admin)
	otherAdmin := tenancy.NewID()
	operator := tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Subject: admin, RequestID: "req-3"}
	declared, err := rls.EncodePrincipal(operator)
	if err != nil {
		t.Fatal(err)
	}
	base := audit.Event{Tenant: clinicA, ActorKind: operator.Kind, Actor: admin, RequestID: "req-3",
		Grant: grantA, Impersonator: admin, Action: "impersonation.started", Outcome: audit.Success}
	with := func(fn func(*audit.Event)) audit.Event { e := base; fn(&e); return e }
	tests := []struct {
		name  string
		e     audit.Event
		state string
	}{
		{"an existing grant of the tenant and admin", base, ""},
		{"a grant that does not exist", with(func(e *audit.Event) { e.Grant = tenancy.NewID() }), "23503"},
		{"another tenant's grant", with(func(e *audit.Event) { e.Grant = grantB }), "23503"},
		{"another admin", with(func(e *audit.Event) { e.Impersonator = otherAdmin }), "23503"},
		{"a platform-wide event naming a grant", with(func(e *audit.Event) { e.Tenant = tenancy.ID{} }), "23514"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			err := pgx.BeginFunc(ctx, f.platform, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `select set_config('tenancy.principal', $1, true)`, declared); err != nil {
					return err
				}
				_, err := audit.Append(ctx, tx, tt.e)
				return err
			})
			if got := sqlState(err); got != tt.state {
				t.Errorf("Append: SQLSTATE %q (%v), want %q", got, err, tt.state)
			}
		})
	}
}
