package tenantarchive_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantarchive"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestEraseKeyTypes erases tenant A of a schema keyed by bigint, text and
// uuid (identity ids, the tenant column named org_id), beside tenant B:
// every layer of the erasure reads the key type from the one model.
func TestEraseKeyTypes(t *testing.T) {
	text := func(s string) tenancy.ID {
		id, err := tenancy.TextID(s)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	for _, kc := range []struct {
		typ  tenancy.KeyType
		sql  string
		a, b tenancy.ID
	}{
		{tenancy.KeyBigint, "bigint", tenancy.IntID(7), tenancy.IntID(8)},
		{tenancy.KeyText, "text", text("acme"), text("globex")},
		{tenancy.KeyUUID, "uuid", clinicA, clinicB},
	} {
		t.Run(kc.typ.String(), func(t *testing.T) {
			ctx := context.Background()
			db := pgtest.New(t)
			cfg := rls.Config{
				OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
				AuditRole: db.RoleName(pgtest.Audit), TenantColumn: "org_id", TenantKey: kc.typ, SubjectKey: kc.typ,
			}
			db.Exec(t, pgtest.Owner, fmt.Sprintf(`
				CREATE TABLE public.orgs (id %[1]s PRIMARY KEY, name text NOT NULL);
				CREATE TABLE public.projects (org_id %[1]s NOT NULL REFERENCES public.orgs, id bigint GENERATED ALWAYS AS IDENTITY, name text NOT NULL,
					PRIMARY KEY (org_id, id));
				CREATE TABLE public.tasks (org_id %[1]s NOT NULL, id bigint GENERATED ALWAYS AS IDENTITY, project_id bigint NOT NULL, title text NOT NULL,
					PRIMARY KEY (org_id, id), FOREIGN KEY (org_id, project_id) REFERENCES public.projects (org_id, id));`, kc.sql))
			tables := []rls.Table{{Name: "public.orgs", Kind: rls.Registry, ListsTenants: "id"}, {Name: "public.projects"}, {Name: "public.tasks"}}
			sql, err := rls.Generate(cfg, tables...)
			if err != nil {
				t.Fatal(err)
			}
			db.Exec(t, pgtest.Owner, sql)
			schema, err := audit.Schema(cfg, audit.Config{})
			if err != nil {
				t.Fatal(err)
			}
			db.Exec(t, pgtest.Admin, schema)
			m, err := rls.NewModel(cfg, append(tables, audit.Tables(audit.Config{})...)...)
			if err != nil {
				t.Fatal(err)
			}
			p, err := tenantdb.New(ctx, db.Pool(t, pgtest.App), tenantdb.Config{Model: m, Sources: []tenancy.Source{tenancytest.Source()},
				System: db.Pool(t, pgtest.Platform), OnSystem: audit.OnSystem, ContextMode: contextMode})
			if err != nil {
				t.Fatal(err)
			}
			count := func(org tenancy.ID) (n int64) {
				t.Helper()
				err := db.Conn(t, pgtest.Admin).QueryRow(ctx, `SELECT (SELECT count(*) FROM public.projects WHERE org_id = $1) +
					(SELECT count(*) FROM public.tasks WHERE org_id = $1) + (SELECT count(*) FROM public.orgs WHERE id = $1)`, org).Scan(&n)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			for _, org := range []tenancy.ID{kc.a, kc.b} {
				db.Exec(t, pgtest.Platform, `INSERT INTO public.orgs VALUES ($1, 'org')`, org)
				err := p.InTenant(ctx, org, "seed", func(ctx context.Context, tx *tenantdb.Tx) error {
					for i := range 3 {
						var project int64
						if err := tx.QueryRow(ctx, `INSERT INTO public.projects (org_id, name) VALUES ($1, 'p') RETURNING id`, org).Scan(&project); err != nil {
							return err
						}
						for range i + 1 {
							if _, err := tx.Exec(ctx, `INSERT INTO public.tasks (org_id, project_id, title) VALUES ($1, $2, 't')`, org, project); err != nil {
								return err
							}
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if count(kc.a) != 10 || count(kc.b) != 10 {
				t.Fatalf("fixture: A has %d rows, B %d; want 10 each", count(kc.a), count(kc.b))
			}
			rec, err := tenantarchive.Erase(ctx, p, kc.a, eraseConfig())
			if err != nil {
				t.Fatalf("Erase: %v", err)
			}
			if count(kc.a) != 0 || count(kc.b) != 10 {
				t.Errorf("after the erasure: A has %d rows, B %d; want 0 and 10", count(kc.a), count(kc.b))
			}
			if r, _ := rec.Relation("public.tasks"); r.Deleted != 6 || rec.Tenant != kc.a.String() || rec.KeyType != kc.typ.String() {
				t.Errorf("record: tasks %+v, tenant %s (%s)", r, rec.Tenant, rec.KeyType)
			}
			if err := tenantarchive.VerifyErasure(ctx, db.Pool(t, pgtest.Platform), rec); err != nil {
				t.Errorf("VerifyErasure: %v", err)
			}
			if _, err := audit.Verify(ctx, db.Pool(t, pgtest.Platform), kc.b); err != nil {
				t.Errorf("B's chain: %v", err)
			}
		})
	}
}
