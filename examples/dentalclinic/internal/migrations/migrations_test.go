package migrations_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestUpAndCheck: the migrations apply, re-apply as a no-op, and leave a
// schema in which rls.Check finds no error.
func TestUpAndCheck(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls")
	roles := migrations.Roles{Owner: db.RoleName(pgtest.Owner), App: db.RoleName(pgtest.App), Platform: db.RoleName(pgtest.Platform), Audit: db.RoleName(pgtest.Audit)}
	ctx := context.Background()
	applied, err := migrations.Up(ctx, migrations.Conns{Owner: db.ConnString(pgtest.Owner), AuditAdmin: db.ConnString(pgtest.Admin)}, roles)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) < 4 || applied[len(applied)-1] != migrations.Latest {
		t.Fatalf("applied %v, want at least 4 migrations, the last %d (migrations.Latest)", applied, migrations.Latest)
	}
	again, err := migrations.Up(ctx, migrations.Conns{Owner: db.ConnString(pgtest.Owner), AuditAdmin: db.ConnString(pgtest.Admin)}, roles)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Up applied %v, %v; want nothing", again, err)
	}

	// The app's one model, checked as the app role: no finding at all,
	// warnings included.
	model, err := migrations.Model(roles)
	if err != nil {
		t.Fatal(err)
	}
	findings, err := rls.Check(ctx, db.Conn(t, pgtest.App), model)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("finding: %v", f)
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

// TestAuditTenantColumnMigrates: a database that an earlier version
// migrated, whose audit tables name their tenant clinic_id, with chains
// of events written by that version, migrates up: the column is renamed
// to tenant_id on the three tables, every policy names the new column,
// the old chains verify, and new events extend them.
func TestAuditTenantColumnMigrates(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls")
	roles := migrations.Roles{Owner: db.RoleName(pgtest.Owner), App: db.RoleName(pgtest.App), Platform: db.RoleName(pgtest.Platform), Audit: db.RoleName(pgtest.Audit)}
	ctx := context.Background()
	if err := migrations.UpTo(ctx, migrations.Conns{Owner: db.ConnString(pgtest.Owner), AuditAdmin: db.ConnString(pgtest.Admin)}, roles, 13); err != nil {
		t.Fatal(err)
	}
	// The previous version's layout: the same tables, triggers and
	// policies with the column called clinic_id. Every object that names
	// the column (the policies, the unique constraint, the primary keys)
	// refers to it by number, so renaming it back is that layout exactly.
	// The audit owner owns the tables now, so the superuser plays the
	// earlier version's part.
	owner := db.Conn(t, pgtest.Admin)
	auditTables := []string{"audit.events", "audit.chain_heads", "audit.impersonation_grants"}
	for _, tbl := range auditTables {
		db.Exec(t, pgtest.Admin, `alter table `+tbl+` rename column tenant_id to clinic_id`)
	}
	policiesNaming := func(col string) int {
		t.Helper()
		var n int
		if err := owner.QueryRow(ctx, `select count(*) from pg_catalog.pg_policies where schemaname = 'audit'
			and (coalesce(qual, '') ~ ('\m' || $1 || '\M') or coalesce(with_check, '') ~ ('\m' || $1 || '\M'))`, col).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := policiesNaming("clinic_id"); n == 0 {
		t.Fatal("fixture: no audit policy names clinic_id, so this is not the old layout")
	}

	// Chains as the previous version's Record wrote them (its statements,
	// with clinic_id): three events at each of two clinics, one
	// platform-wide, and a grant.
	clinics := []tenancy.ID{tenancy.NewID(), tenancy.NewID()}
	at := time.Now().UTC().Truncate(time.Microsecond)
	oldRecord := func(tx pgx.Tx, clinic tenancy.ID, seq int64, prev audit.Hash) audit.Hash {
		t.Helper()
		e := audit.Event{Tenant: clinic, Seq: seq, ID: tenancy.NewID(), Version: audit.EncodingVersion, OccurredAt: at,
			ActorKind: tenancy.KindSystem, Action: "patient.update", ResourceType: "patient", ResourceID: fmt.Sprint(seq),
			Outcome: audit.Success, PrevHash: prev}
		e.Hash = e.Sum()
		var c any
		if !clinic.IsZero() {
			c = clinic
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit.events (clinic_id, seq, id, version, occurred_at, actor_kind, actor_id,
			impersonation_grant_id, impersonator_id, action, resource_type, resource_id, outcome, reason, request_id, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, $7, $8, $9, $10, '', '', $11, $12)`,
			c, e.Seq, e.ID, e.Version, e.OccurredAt, e.ActorKind.String(), e.Action, e.ResourceType, e.ResourceID,
			e.Outcome.String(), e.PrevHash[:], e.Hash[:]); err != nil {
			t.Fatal(err)
		}
		if clinic.IsZero() {
			_, err := tx.Exec(ctx, `UPDATE audit.platform_head SET seq = $1, hash = $2 WHERE singleton`, e.Seq, e.Hash[:])
			if err != nil {
				t.Fatal(err)
			}
		} else if _, err := tx.Exec(ctx, `UPDATE audit.chain_heads SET seq = $2, hash = $3 WHERE clinic_id = $1`, clinic, e.Seq, e.Hash[:]); err != nil {
			t.Fatal(err)
		}
		return e.Hash
	}
	err := pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		// The earlier version had no context trigger: the superuser writes
		// its rows with triggers off.
		if _, err := tx.Exec(ctx, `set local session_replication_role = replica`); err != nil {
			return err
		}
		for _, c := range clinics {
			if _, err := tx.Exec(ctx, `INSERT INTO audit.chain_heads (clinic_id, seq, hash) VALUES ($1, 0, $2)`, c, make([]byte, 32)); err != nil {
				return err
			}
			var prev audit.Hash
			for seq := int64(1); seq <= 3; seq++ {
				prev = oldRecord(tx, c, seq, prev)
			}
		}
		var head []byte
		var seq int64
		if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit.platform_head`).Scan(&seq, &head); err != nil {
			return err
		}
		oldRecord(tx, tenancy.ID{}, seq+1, audit.Hash(head))
		_, err := tx.Exec(ctx, `INSERT INTO audit.impersonation_grants (clinic_id, id, admin_id, reason, started_at, expires_at)
			VALUES ($1, $2, $3, 'support', now(), now() + interval '10 minutes')`, clinics[0], tenancy.NewID(), tenancy.NewID())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	applied, err := migrations.Up(ctx, migrations.Conns{Owner: db.ConnString(pgtest.Owner), AuditAdmin: db.ConnString(pgtest.Admin)}, roles)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(applied, 14) {
		t.Fatalf("Up applied %v, want 14 among them", applied)
	}

	for _, tbl := range auditTables {
		var cols []string
		rows, err := owner.Query(ctx, `select attname from pg_catalog.pg_attribute where attrelid = $1::regclass
			and attname in ('clinic_id', 'tenant_id') and not attisdropped`, tbl)
		if err == nil {
			cols, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil || !slices.Equal(cols, []string{audit.TenantColumn}) {
			t.Errorf("%s has %v (%v), want only %s", tbl, cols, err, audit.TenantColumn)
		}
	}
	if n := policiesNaming("clinic_id"); n != 0 {
		t.Errorf("%d audit policies still name clinic_id", n)
	}
	if n := policiesNaming(audit.TenantColumn); n == 0 {
		t.Error("no audit policy names tenant_id")
	}

	platform := db.Pool(t, pgtest.Platform)
	reports, err := audit.VerifyAll(ctx, platform)
	if err != nil {
		t.Fatalf("VerifyAll after the migration: %v", err)
	}
	events := map[tenancy.ID]int64{}
	for _, r := range reports {
		events[r.Tenant] = r.Events
	}
	if want := map[tenancy.ID]int64{{}: 1, clinics[0]: 3, clinics[1]: 3}; !maps.Equal(events, want) {
		t.Errorf("VerifyAll read %v events per chain, want %v", events, want)
	}

	// The app records into the migrated chain through tenantdb and its
	// guard, as the app role, and the chain still verifies.
	model, err := migrations.Model(roles)
	if err != nil {
		t.Fatal(err)
	}
	app, err := tenantdb.New(ctx, db.Pool(t, pgtest.App), tenantdb.Config{Model: model, Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	sctx := tenancytest.Context(ctx, tenancy.Principal{Kind: kinds.Staff, Tenant: clinics[0], Subject: tenancy.NewID(), Roles: []string{"owner"}})
	var e audit.Event
	err = app.Tx(sctx, func(tx *tenantdb.Tx) error {
		var err error
		e, err = audit.Record(sctx, tx, audit.Event{Action: "patient.update", Outcome: audit.Success})
		return err
	})
	if err != nil || e.Seq != 4 {
		t.Fatalf("Record after the migration: seq %d, %v; want 4", e.Seq, err)
	}
	if rep, err := audit.Verify(ctx, platform, clinics[0]); err != nil || rep.Events != 4 {
		t.Errorf("Verify of the extended chain: %d events, %v; want 4, nil", rep.Events, err)
	}
	var grants int
	if err := owner.QueryRow(ctx, `select count(*) from audit.impersonation_grants where tenant_id = $1`, clinics[0]).Scan(&grants); err != nil || grants != 1 {
		t.Errorf("grants of the clinic after the migration: %d, %v; want 1", grants, err)
	}
}

// TestAuditOwnerMigrates: a database that an earlier version migrated,
// where the owner role owned the audit log (and so could disable its
// triggers and delete from it), migrates up: migration 17, run as the
// administrator, gives every audit object to the audit owner; the owner
// role's attacks are then refused, rls.Check finds nothing, and the chain
// written before verifies and grows. Without an administrator's
// connection, Up applies nothing and says why.
func TestAuditOwnerMigrates(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls")
	roles := migrations.Roles{Owner: db.RoleName(pgtest.Owner), App: db.RoleName(pgtest.App), Platform: db.RoleName(pgtest.Platform), Audit: db.RoleName(pgtest.Audit)}
	ctx := context.Background()
	if _, err := migrations.Up(ctx, migrations.Conns{Owner: db.ConnString(pgtest.Owner)}, roles); !errors.Is(err, migrations.ErrNoAuditAdmin) {
		t.Fatalf("Up without an administrator on an empty database: %v, want ErrNoAuditAdmin", err)
	}
	var tables int
	if err := db.Conn(t, pgtest.Admin).QueryRow(ctx, `select count(*) from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r' and relname <> 'goose_db_version'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("Up without an administrator made %d tables (%v), want none", tables, err)
	}
	admin := migrations.Conns{Owner: db.ConnString(pgtest.Owner), AuditAdmin: db.ConnString(pgtest.Admin)}
	if err := migrations.UpTo(ctx, admin, roles, 16); err != nil {
		t.Fatal(err)
	}
	// The earlier layout: the owner role owns the audit schema and all in it.
	owner := pgx.Identifier{roles.Owner}.Sanitize()
	db.Exec(t, pgtest.Admin, `do $$ declare r record; begin
		for r in select format('alter table %s owner to `+owner+`', oid::regclass) s from pg_class
			where relnamespace = 'audit'::regnamespace and relkind = 'r'
			union all select format('alter function %s owner to `+owner+`', oid::regprocedure) from pg_proc
			where pronamespace = 'audit'::regnamespace loop execute r.s; end loop;
		end $$; alter schema audit owner to `+owner)
	model, err := migrations.ModelBefore19(roles) // as migration 16 left it
	if err != nil {
		t.Fatal(err)
	}
	app, err := tenantdb.New(ctx, db.Pool(t, pgtest.App), tenantdb.Config{Model: model, Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	clinic := tenancy.NewID()
	sctx := tenancytest.Context(ctx, tenancy.Principal{Kind: kinds.Staff, Tenant: clinic, Subject: tenancy.NewID(), Roles: []string{"owner"}})
	record := func() {
		t.Helper()
		err := app.Tx(sctx, func(tx *tenantdb.Tx) error {
			_, err := audit.Record(sctx, tx, audit.Event{Action: "patient.update", Outcome: audit.Success})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	record()
	// The hole the migration closes: the owner role disables the trigger.
	err = pgx.BeginFunc(ctx, db.Conn(t, pgtest.Owner), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `alter table audit.events disable trigger append_only`); err != nil {
			return err
		}
		return errors.New("rollback")
	})
	if err == nil || err.Error() != "rollback" {
		t.Fatalf("fixture: the owner role could not disable the trigger of the table it owns: %v", err)
	}

	applied, err := migrations.Up(ctx, admin, roles)
	if err != nil || !slices.Contains(applied, 17) {
		t.Fatalf("Up applied %v, %v; want 17 among them", applied, err)
	}
	for _, sql := range []string{
		`alter table audit.events disable trigger append_only`,
		`alter table audit.events disable trigger all`,
		`drop trigger append_only on audit.events`,
		`delete from audit.events`,
		`truncate audit.events`,
		`alter table audit.events owner to ` + owner,
	} {
		if _, err := db.Conn(t, pgtest.Owner).Exec(ctx, sql); err == nil {
			t.Errorf("after migration 17 the owner role ran %s", sql)
		}
	}
	current, err := migrations.Model(roles) // every migration applied now
	if err != nil {
		t.Fatal(err)
	}
	findings, err := rls.Check(ctx, db.Conn(t, pgtest.App), current)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("finding after migration 17: %v", f)
	}
	record()
	if rep, err := audit.Verify(ctx, db.Pool(t, pgtest.Platform), clinic); err != nil || rep.Events != 2 {
		t.Errorf("Verify after migration 17: %d events, %v; want 2, nil", rep.Events, err)
	}
}
