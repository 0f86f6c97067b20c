package migrations_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/internal/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestUpAndCheck: the migrations apply, re-apply as a no-op, and leave a
// schema in which rls.Check finds no error.
func TestUpAndCheck(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls")
	roles := migrations.Roles{Owner: db.RoleName(pgtest.Owner), App: db.RoleName(pgtest.App), Platform: db.RoleName(pgtest.Platform)}
	ctx := context.Background()
	applied, err := migrations.Up(ctx, db.ConnString(pgtest.Owner), roles)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) < 4 {
		t.Fatalf("applied %v, want at least 4 migrations", applied)
	}
	again, err := migrations.Up(ctx, db.ConnString(pgtest.Owner), roles)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Up applied %v, %v; want nothing", again, err)
	}

	findings, err := rls.Check(ctx, db.Conn(t, pgtest.Admin), rls.Config{
		OwnerRole: roles.Owner, AppRole: roles.App, PlatformRole: roles.Platform,
		// The pre-auth functions (sign-in, invites, the revocation list) and
		// the two narrow definer functions of the migrations.
		AllowDefiner:     append(migrations.PreAuth(), "auth.use_portal_invite", "auth.clinic_sizes"),
		AllowCrossTenant: audit.CrossTenantPolicies(), // the platform role reads every audit chain, by design
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Severity == rls.SeverityError {
			t.Errorf("finding: %v", f)
		} else {
			t.Logf("warning: %v", f)
		}
	}

	// Every table with clinic_id is in Tables(), so none is left without policies.
	specs := map[string]bool{}
	for _, tb := range migrations.Tables() {
		specs[tb.Name] = true
	}
	rows, err := db.Conn(t, pgtest.Admin).Query(ctx, `select n.nspname || '.' || c.relname from pg_class c
		join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid
		where a.attname = 'clinic_id' and c.relkind = 'r' and n.nspname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range tables {
		if !specs[name] {
			t.Errorf("table %s has clinic_id but no rls spec in migrations.Tables()", name)
		}
	}
}
