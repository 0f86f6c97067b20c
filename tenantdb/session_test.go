package tenantdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// backendPID returns the server process of the pool's one connection.
func backendPID(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var pid int
	if err := pool.QueryRow(context.Background(), "select pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// plantSessionContext sets clinic B's context at session level on the
// pool's one connection, as code holding a raw pool could, and proves that
// it is a hole: a context-less query on that connection sees B's rows.
func plantSessionContext(t *testing.T, pool *pgxpool.Pool, settings ...string) {
	t.Helper()
	ctx := context.Background()
	principal, err := rls.EncodePrincipal(tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicB, Subject: staffB, Roles: []string{"dentist"}})
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{rls.SettingTenantID: clinicB.String(), rls.SettingPrincipal: principal}
	for _, s := range settings {
		if _, err := pool.Exec(ctx, "select set_config($1, $2, false)", s, values[s]); err != nil {
			t.Fatal(err)
		}
	}
	if len(settings) == 2 {
		var n int
		if err := pool.QueryRow(ctx, "select count(*) from patients").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 7 {
			t.Fatalf("fixture: the session-level context shows %d of B's patients, want all 7", n)
		}
	}
}

// TestSessionLevelContextRefused: tenancy settings set at session level on
// a pooled connection (the hole of a raw pool kept beside the guarded
// one) make every tenantdb call on it fail with ErrSessionState, never
// return another tenant's row, and the connection is closed, not reused.
func TestSessionLevelContextRefused(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	ctx := staffCtx(clinicA, staffA)
	// Each call as tenant A; any row it returns must be A's.
	calls := map[string]func() error{
		"Query": func() error {
			got, err := scanPatients(p.Query(ctx, "select clinic_id, name from patients"))
			if len(got) > 0 {
				t.Errorf("Query returned %d rows despite the session-level context", len(got))
			}
			return err
		},
		"QueryRow": func() error {
			var c tenancy.ID
			var name string
			return p.QueryRow(ctx, "select clinic_id, name from patients limit 1").Scan(&c, &name)
		},
		"Exec": func() error {
			_, err := p.Exec(ctx, "update patients set name = name || ' (touched)'")
			return err
		},
		"Tx": func() error {
			return p.Tx(ctx, func(tx *tenantdb.Tx) error {
				t.Error("Tx ran its function on a connection with a session-level context")
				return nil
			})
		},
		"PreAuth": func() error {
			rows, err := p.PreAuth().Query(ctx, "public.clinic_names")
			if err == nil {
				rows.Close()
			}
			return err
		},
	}
	for _, settings := range [][]string{
		{rls.SettingTenantID, rls.SettingPrincipal},
		{rls.SettingTenantID},
		{rls.SettingPrincipal},
	} {
		for name, call := range calls {
			t.Run(fmt.Sprint(name, settings), func(t *testing.T) {
				plantSessionContext(t, pool, settings...)
				before := backendPID(t, pool)
				err := call()
				if !errors.Is(err, tenantdb.ErrSessionState) {
					t.Fatalf("%s on a connection with session-level %v = %v, want ErrSessionState", name, settings, err)
				}
				if after := backendPID(t, pool); after == before {
					t.Fatalf("the connection (backend %d) with the session-level context was put back in the pool", before)
				}
				// The new connection is clean and tenant A's work runs.
				got, err := scanPatients(p.Query(ctx, "select clinic_id, name from patients"))
				if err != nil {
					t.Fatal(err)
				}
				checkOnly(t, got, clinicA, 5)
			})
		}
	}
	// Nothing was written under the session-level context.
	var touched int
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), "select count(*) from patients where name like '%(touched)'").Scan(&touched); err != nil {
		t.Fatal(err)
	}
	if touched != 0 {
		t.Errorf("%d rows written on connections with a session-level context", touched)
	}
}

// TestOpenRefusesRoleDefaults: a pool that Open builds hands out no
// connection with session-level tenancy settings, even when every new
// connection gets them from the role's defaults.
func TestOpenRefusesRoleDefaults(t *testing.T) {
	db := schema(t)
	m := testModel(t, db)
	p, err := tenantdb.Open(context.Background(), db.ConnString(pgtest.App)+" pool_max_conns=1", tenantdb.Config{
		Model: m, Guard: allowAll{}, Sources: []tenancy.Source{tenancytest.Source()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := staffCtx(clinicA, staffA)
	got, err := scanPatients(p.Query(ctx, "select clinic_id, name from patients"))
	if err != nil {
		t.Fatal(err)
	}
	checkOnly(t, got, clinicA, 5)
	if err := p.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	db.Exec(t, pgtest.Admin, fmt.Sprintf("alter role %s set tenancy.tenant_id = '%s'", pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize(), clinicB))
	// Only new connections take the role's defaults: make the pool open one.
	p.Close()
	p, err = tenantdb.Open(context.Background(), db.ConnString(pgtest.App)+" pool_max_conns=1", tenantdb.Config{
		Model: m, Guard: allowAll{}, Sources: []tenancy.Source{tenancytest.Source()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for range 2 {
		rows, err := p.Query(ctx, "select clinic_id, name from patients")
		if !errors.Is(err, tenantdb.ErrSessionState) {
			if err == nil {
				rows.Close()
			}
			t.Fatalf("Query with the role's default tenant = %v, want ErrSessionState", err)
		}
	}
}

// TestUnverifiedPrincipalRefused: a principal built by hand with
// tenancy.NewContext, or verified by an authenticator the pool was not
// given, is refused before any network use, though the same principal
// from a registered source reads its tenant's rows.
func TestUnverifiedPrincipalRefused(t *testing.T) {
	db := schema(t)
	pool, rt := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	staff := tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicB, Subject: staffB, Roles: []string{"dentist"}}

	// The data exists, and a registered source reaches it.
	got, err := scanPatients(p.Query(tenancytest.Context(context.Background(), staff), "select clinic_id, name from patients"))
	if err != nil {
		t.Fatal(err)
	}
	checkOnly(t, got, clinicB, 7)

	for name, ctx := range map[string]context.Context{
		"tenancy.NewContext":         tenancy.NewContext(context.Background(), staff),
		"system principal by hand":   tenancy.NewContext(context.Background(), tenancy.Principal{Kind: tenancy.KindSystem, Tenant: clinicB}),
		"unregistered authenticator": tenancy.NewAuthenticator("tenancytest").NewContext(context.Background(), staff),
		"verified, then replaced":    tenancy.NewContext(tenancytest.Context(context.Background(), staff), staff),
	} {
		t.Run(name, func(t *testing.T) {
			rt.reset()
			acquired := pool.Stat().AcquireCount()
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, tenantdb.ErrUnverifiedPrincipal) || !errors.Is(err, tenancy.ErrUnverified) {
					t.Errorf("%s = %v, want ErrUnverifiedPrincipal", op, err)
				}
			}
			_, err := p.Exec(ctx, "update patients set name = name")
			check("Exec", err)
			rows, err := p.Query(ctx, "select clinic_id, name from patients")
			if err == nil {
				rows.Close()
			}
			check("Query", err)
			check("QueryRow", p.QueryRow(ctx, "select 1").Scan(new(int)))
			ran := false
			check("Tx", p.Tx(ctx, func(*tenantdb.Tx) error { ran = true; return nil }))
			if ran {
				t.Error("Tx ran its function for an unverified principal")
			}
			if n := rt.count(); n != 0 {
				t.Errorf("%d round trips for an unverified principal", n)
			}
			if n := pool.Stat().AcquireCount() - acquired; n != 0 {
				t.Errorf("%d connections acquired for an unverified principal", n)
			}
		})
	}

	if _, err := tenantdb.New(context.Background(), pool, tenantdb.Config{Model: testModel(t, db), Sources: []tenancy.Source{{}}}); !errors.Is(err, tenantdb.ErrInvalidConfig) {
		t.Errorf("New with the zero Source = %v, want ErrInvalidConfig", err)
	}
}
