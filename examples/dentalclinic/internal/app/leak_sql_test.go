package app

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/internal/pgtest"
	"github.com/mydentalpractice/tenancy/tenancytest"
)

// TestLeakSQL probes every tenant table of the app, its own and the audit
// log's, as the app role: in Riverside's context, no statement reads,
// changes, deletes, claims or returns Hillcrest's rows, and without a
// context nothing is read. The probe rolls everything back; it must not
// run in parallel with tests that write Hillcrest's rows.
func TestLeakSQL(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	owner := a.db.Conn(t, pgtest.Owner) // BYPASSRLS in these tests: sees every clinic

	// The demo data leaves some tables empty; give both clinics rows there,
	// so that no check passes vacuously.
	//
	// Portal invites: one expired invite per clinic, removed afterwards.
	for _, c := range []seed.Clinic{riverside, hillcrest} {
		code := "tenancytest-" + tenancy.NewID().String()
		if _, err := owner.Exec(ctx, `insert into portal_invites (clinic_id, code_hash, patient_id, expires_at)
			select clinic_id, $2, id, now() - interval '1 day' from patients where clinic_id = $1 order by id limit 1`, c.ID, code); err != nil {
			t.Fatalf("invite at %s: %v", c.Slug, err)
		}
		t.Cleanup(func() {
			if _, err := owner.Exec(context.Background(), `delete from portal_invites where clinic_id = $1 and code_hash = $2`, c.ID, code); err != nil {
				t.Errorf("removing the invite at %s: %v", c.Slug, err)
			}
		})
	}
	// The audit log is append-only, so its rows are made the way the app
	// makes them: a platform admin starts and ends an impersonation of each
	// clinic, which stores a grant, events and the chain's head.
	admin := a.login(t, seed.AdminEmail, tenancy.ID{})
	for _, c := range []seed.Clinic{riverside, hillcrest} {
		var g struct {
			GrantID tenancy.ID `json:"grant_id"`
		}
		r := a.do(t, "POST", "/api/v1/admin/impersonations", admin, map[string]any{"clinic_id": c.ID, "reason": "SQL leak probe fixture", "minutes": 1})
		if r.status != http.StatusCreated {
			t.Fatalf("impersonating %s: %d %s", c.Slug, r.status, r.body)
		}
		r.json(t, &g)
		if r := a.do(t, "DELETE", "/api/v1/admin/impersonations/"+g.GrantID.String(), admin, nil); r.status/100 != 2 {
			t.Fatalf("ending the impersonation of %s: %d %s", c.Slug, r.status, r.body)
		}
	}

	tables := tenancytest.SQLTables(append(migrations.Tables(), audit.Tables()...)...)
	for i := range tables {
		if tables[i].Name == "audit.chain_heads" {
			// A chain head starts at seq 0 with the zero hash (a trigger
			// refuses any other new head, before row-level security
			// would): the INSERT checks write such a head for Hillcrest.
			tables[i].Values = map[string]string{"seq": "0", "hash": "decode(repeat('00', 32), 'hex')"}
		}
	}
	// Every table with the tenant column is probed: a new one must be
	// added to the specs (and so to the isolation migration) to pass.
	rows, err := owner.Query(ctx, `
		select n.nspname || '.' || c.relname
		from pg_catalog.pg_class c
		join pg_catalog.pg_namespace n on n.oid = c.relnamespace
		join pg_catalog.pg_attribute a on a.attrelid = c.oid
		where a.attname in ('clinic_id', 'tenant_id') and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm', 'f')
		  and n.nspname not in ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	inCatalog, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var probed []string
	for _, tbl := range tables {
		probed = append(probed, tbl.Name)
	}
	slices.Sort(inCatalog)
	slices.Sort(probed)
	if diff := cmp.Diff(inCatalog, probed); diff != "" {
		t.Errorf("tables with clinic_id (-catalog +probed):\n%s", diff)
	}

	tenancytest.ProbeSQL(t, tenancytest.SQLConfig{
		App:        a.db.Pool(t, pgtest.App),
		Privileged: owner,
		Tables:     tables,
		TenantA:    riverside.ID,
		TenantB:    hillcrest.ID,
	})
}
