package tenantdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestRoleSelfCheck: New refuses every role that row-level security would
// not bind, and accepts the app role.
func TestRoleSelfCheck(t *testing.T) {
	open := func(t *testing.T, db *pgtest.DB, r pgtest.Role) error {
		t.Helper()
		pool, err := pgxpool.New(context.Background(), db.ConnString(r))
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		_, err = tenantdb.New(context.Background(), pool, tenantdb.Config{Model: testModel(t, db), Guard: allowAll{}})
		return err
	}
	app := func(db *pgtest.DB) string { return pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize() }

	tests := []struct {
		name  string
		setup func(t *testing.T, db *pgtest.DB) pgtest.Role
		want  string // "" means accepted
	}{
		{"app role", func(*testing.T, *pgtest.DB) pgtest.Role { return pgtest.App }, ""},
		{"superuser", func(*testing.T, *pgtest.DB) pgtest.Role { return pgtest.Admin }, "is a superuser"},
		{"table owner", func(*testing.T, *pgtest.DB) pgtest.Role { return pgtest.Owner }, "owns tenant tables"},
		{"BYPASSRLS", func(t *testing.T, db *pgtest.DB) pgtest.Role {
			db.Exec(t, pgtest.Admin, "alter role "+app(db)+" bypassrls")
			return pgtest.App
		}, "has BYPASSRLS"},
		{"member of the owner", func(t *testing.T, db *pgtest.DB) pgtest.Role {
			db.Exec(t, pgtest.Admin, "grant "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" to "+app(db))
			return pgtest.App
		}, "owns tenant tables"},
		{"may SET ROLE to a superuser", func(t *testing.T, db *pgtest.DB) pgtest.Role {
			db.Exec(t, pgtest.Admin, "grant "+pgx.Identifier{db.RoleName(pgtest.Admin)}.Sanitize()+" to "+app(db))
			return pgtest.App
		}, "is a superuser"},
		{"CREATEROLE", func(t *testing.T, db *pgtest.DB) pgtest.Role {
			db.Exec(t, pgtest.Admin, "alter role "+app(db)+" createrole")
			return pgtest.App
		}, "[app-role-createrole]"},
		{"REPLICATION", func(t *testing.T, db *pgtest.DB) pgtest.Role {
			db.Exec(t, pgtest.Admin, "alter role "+app(db)+" replication")
			return pgtest.App
		}, "[app-role-replication]"},
		{"member of pg_execute_server_program", func(t *testing.T, db *pgtest.DB) pgtest.Role {
			db.Exec(t, pgtest.Admin, "grant pg_execute_server_program to "+app(db))
			return pgtest.App
		}, "pg_execute_server_program"},
		{"member of pg_read_all_data through the owner's grant", func(t *testing.T, db *pgtest.DB) pgtest.Role {
			db.Exec(t, pgtest.Admin, "grant pg_read_all_data to "+pgx.Identifier{db.RoleName(pgtest.Platform)}.Sanitize()+"; grant "+
				pgx.Identifier{db.RoleName(pgtest.Platform)}.Sanitize()+" to "+app(db))
			return pgtest.App
		}, "[app-role-predefined-role]"},
		{"member of pg_signal_backend, a warning only", func(t *testing.T, db *pgtest.DB) pgtest.Role {
			db.Exec(t, pgtest.Admin, "grant pg_signal_backend to "+app(db))
			return pgtest.App
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := schema(t)
			err := open(t, db, tt.setup(t, db))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New as the app role: %v", err)
				}
				return
			}
			if !errors.Is(err, tenantdb.ErrUnsafeRole) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v; want ErrUnsafeRole saying %q", err, tt.want)
			}
		})
	}
}

// TestRoundTrips: the tenant context costs no round trip. A one-statement
// call is one round trip; a Tx is BEGIN+context, the statements, COMMIT.
func TestRoundTrips(t *testing.T) {
	for _, mode := range execModes() {
		t.Run(mode, func(t *testing.T) {
			db := schema(t)
			pool, rt := appPool(t, db, 1, " default_query_exec_mode="+mode)
			p := newPool(t, pool, tenantdb.Config{})
			ctx := staffCtx(clinicA, staffA)
			const q = "select name from patients where clinic_id = $1 limit 1"

			measure := func(f func() error) int {
				t.Helper()
				if err := f(); err != nil { // warm the statement cache
					t.Fatal(err)
				}
				rt.reset()
				if err := f(); err != nil {
					t.Fatal(err)
				}
				return rt.count()
			}
			for _, c := range []struct {
				name string
				want int
				f    func() error
			}{
				{"QueryRow", 1, func() error { return p.QueryRow(ctx, q, clinicA).Scan(new(string)) }},
				{"Exec", 1, func() error {
					_, err := p.Exec(ctx, "update patients set name = name where clinic_id = $1", clinicA)
					return err
				}},
				{"Query", 1, func() error {
					rows, err := p.Query(ctx, q, clinicA)
					if err != nil {
						return err
					}
					rows.Close()
					return rows.Err()
				}},
				{"Tx of three statements", 5, func() error {
					return p.Tx(ctx, func(tx *tenantdb.Tx) error {
						for range 3 {
							if err := tx.QueryRow(ctx, q, clinicA).Scan(new(string)); err != nil {
								return err
							}
						}
						return nil
					})
				}},
			} {
				if got := measure(c.f); got != c.want {
					t.Errorf("%s: %d round trips, want %d", c.name, got, c.want)
				}
			}
		})
	}
}

// TestSystem: tenant-less work needs a system pool, a reason and a hook,
// and the hook's record commits or fails with the work.
func TestSystem(t *testing.T) {
	db := schema(t)
	appConns, _ := appPool(t, db, 2, "")
	platform := db.Pool(t, pgtest.Platform)

	p := newPool(t, appConns, tenantdb.Config{})
	if err := p.System(context.Background(), "read", func(*tenantdb.SystemTx) error { return nil }); !errors.Is(err, tenantdb.ErrNoSystem) {
		t.Errorf("System without a pool = %v, want ErrNoSystem", err)
	}
	if _, err := tenantdb.New(context.Background(), appConns, tenantdb.Config{Model: testModel(t, db), Guard: allowAll{}, System: platform}); !errors.Is(err, tenantdb.ErrInvalidConfig) {
		t.Errorf("New with a System pool but no hook = %v, want ErrInvalidConfig", err)
	}

	var uses []tenantdb.SystemUse
	hookErr := error(nil)
	p = newPool(t, appConns, tenantdb.Config{System: platform, OnSystem: func(ctx context.Context, tx pgx.Tx, use tenantdb.SystemUse) error {
		uses = append(uses, use)
		return hookErr
	}})
	if err := p.System(context.Background(), "  ", func(*tenantdb.SystemTx) error { return nil }); !errors.Is(err, tenantdb.ErrNoReason) {
		t.Errorf("System with a blank reason = %v, want ErrNoReason", err)
	}

	admin := tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000ad")
	ctx := tenancytest.Context(context.Background(), tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Subject: admin, RequestID: "r1"})
	var names []string
	var kind, actor string
	err := p.System(ctx, "list clinics", func(tx *tenantdb.SystemTx) error {
		if err := tx.QueryRow(ctx, "select tenancy.principal_kind(), tenancy.current_actor_id()::text").Scan(&kind, &actor); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "select name from clinics order by name")
		if err != nil {
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || kind != "system" || actor != admin.String() {
		t.Errorf("System read %v as kind %q actor %q", names, kind, actor)
	}
	if len(uses) != 1 || uses[0].Reason != "list clinics" || !uses[0].HasPrincipal || uses[0].Principal.Subject != admin || uses[0].Time.IsZero() {
		t.Errorf("hook saw %+v", uses)
	}

	hookErr = errors.New("audit store down")
	ran := false
	err = p.System(ctx, "list clinics", func(*tenantdb.SystemTx) error { ran = true; return nil })
	if !errors.Is(err, hookErr) || ran {
		t.Errorf("System with a failing hook = %v (work ran: %v); want the hook's error and no work", err, ran)
	}
}
