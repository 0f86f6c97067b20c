package tenantdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

type patient struct {
	Clinic tenancy.ID
	Name   string
}

func scanPatients(rows pgx.Rows, err error) ([]patient, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (patient, error) {
		var p patient
		err := r.Scan(&p.Clinic, &p.Name)
		return p, err
	})
}

// checkOnly fails unless every patient belongs to want and there are n.
func checkOnly(t *testing.T, got []patient, want tenancy.ID, n int) {
	t.Helper()
	for _, p := range got {
		if p.Clinic != want {
			t.Fatalf("LEAK: tenant %v saw patient %q of %v", want, p.Name, p.Clinic)
		}
	}
	if len(got) != n {
		t.Fatalf("tenant %v saw %d patients, want %d", want, len(got), n)
	}
}

// TestAlternatingTenants: one connection, two tenants taking turns 1,000
// times through every entry point; the tenant context is the only filter
// (the guard lets everything through), and no turn sees the other's rows.
func TestAlternatingTenants(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	const q = "select clinic_id, name from patients"
	want := map[tenancy.ID]int{clinicA: 5, clinicB: 7}

	for i := range 1000 {
		clinic, staff := clinicA, staffA
		if i%2 == 1 {
			clinic, staff = clinicB, staffB
		}
		ctx := staffCtx(clinic, staff)
		switch i % 8 / 2 {
		case 0:
			got, err := scanPatients(p.Query(ctx, q))
			if err != nil {
				t.Fatal(err)
			}
			checkOnly(t, got, clinic, want[clinic])
		case 1:
			err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
				got, err := scanPatients(tx.Query(ctx, q))
				if err != nil {
					return err
				}
				checkOnly(t, got, clinic, want[clinic])
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		case 2:
			var n int
			if err := p.QueryRow(ctx, "select count(*) from patients where clinic_id <> $1", clinic).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatalf("LEAK: tenant %v counted %d foreign patients", clinic, n)
			}
		case 3:
			tag, err := p.Exec(ctx, "update patients set name = name where clinic_id <> $1", clinic)
			if err != nil {
				t.Fatal(err)
			}
			if tag.RowsAffected() != 0 {
				t.Fatalf("LEAK: tenant %v updated %d foreign patients", clinic, tag.RowsAffected())
			}
		}
	}
}

// TestNoContextLeftOnConnection: after every kind of use, the pooled
// connection carries no tenant into the next use.
func TestNoContextLeftOnConnection(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	ctx := staffCtx(clinicA, staffA)

	leftover := func(when string) {
		t.Helper()
		var v string
		if err := pool.QueryRow(context.Background(), "select coalesce(current_setting('tenancy.tenant_id', true), '')").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != "" {
			t.Fatalf("after %s the connection still carries tenant %q", when, v)
		}
		// And the database refuses tenant data on it.
		_, err := pool.Exec(context.Background(), "select * from patients")
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != rls.SQLStateNoTenant {
			t.Fatalf("after %s, a raw query without context = %v; want SQLSTATE %s", when, err, rls.SQLStateNoTenant)
		}
	}

	rows, err := p.Query(ctx, "select clinic_id, name from patients")
	if err != nil {
		t.Fatal(err)
	}
	rows.Next() // read one row and abandon the rest
	rows.Close()
	leftover("a partly read Query")

	if _, err := p.Exec(ctx, "select 1"); err != nil {
		t.Fatal(err)
	}
	leftover("Exec")

	if err := p.Tx(ctx, func(tx *tenantdb.Tx) error { _, err := tx.Exec(ctx, "select 1"); return err }); err != nil {
		t.Fatal(err)
	}
	leftover("a committed Tx")

	_ = p.Tx(ctx, func(tx *tenantdb.Tx) error { return errors.New("fail") })
	leftover("a failed Tx")
}

// TestCancelAndPanicMidTransaction: writes of a cancelled or panicking
// transaction are rolled back, and the next tenant on the same connection
// sees only its own rows.
func TestCancelAndPanicMidTransaction(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	insert := "insert into patients (clinic_id, id, name) values ($1, gen_random_uuid(), 'ghost')"

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(staffCtx(clinicA, staffA))
		err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
			if _, err := tx.Exec(ctx, insert, clinicA); err != nil {
				return err
			}
			cancel()
			return nil // fn succeeds, but the context is gone: no commit
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Tx after cancel = %v, want context.Canceled", err)
		}
	})
	t.Run("cancel during a statement", func(t *testing.T) {
		ctx, cancel := context.WithCancel(staffCtx(clinicA, staffA))
		err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
			if _, err := tx.Exec(ctx, insert, clinicA); err != nil {
				return err
			}
			cancel()
			_, err := tx.Exec(ctx, "select pg_sleep(5)")
			return err
		})
		if err == nil {
			t.Fatal("Tx with a cancelled statement succeeded")
		}
	})
	t.Run("panic", func(t *testing.T) {
		ctx := staffCtx(clinicA, staffA)
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Fatalf("recovered %v, want the re-raised panic", r)
				}
			}()
			_ = p.Tx(ctx, func(tx *tenantdb.Tx) error {
				if _, err := tx.Exec(ctx, insert, clinicA); err != nil {
					return err
				}
				panic("boom")
			})
		}()
	})

	var ghosts int
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), "select count(*) from patients where name = 'ghost'").Scan(&ghosts); err != nil {
		t.Fatal(err)
	}
	if ghosts != 0 {
		t.Errorf("%d writes of rolled-back transactions were kept", ghosts)
	}
	ctxB := staffCtx(clinicB, staffB)
	got, err := scanPatients(p.Query(ctxB, "select clinic_id, name from patients"))
	if err != nil {
		t.Fatal(err)
	}
	checkOnly(t, got, clinicB, 7)
}

// TestNoTenantTouchesNothing: without a principal with a tenant every
// method fails with ErrNoTenant and nothing reaches the server.
func TestNoTenantTouchesNothing(t *testing.T) {
	db := schema(t)
	pool, rt := appPool(t, db, 2, "")
	p := newPool(t, pool, tenantdb.Config{})
	acquired := pool.Stat().AcquireCount()
	rt.reset()

	admin := tenancytest.Context(context.Background(), tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Subject: staffA})
	for name, ctx := range map[string]context.Context{"no principal": context.Background(), "platform admin": admin} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Exec(ctx, "select 1")
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, tenancy.ErrNoTenant) {
					t.Errorf("%s = %v, want ErrNoTenant", op, err)
				}
			}
			check("Exec", err)
			_, err = p.Query(ctx, "select 1")
			check("Query", err)
			check("QueryRow", p.QueryRow(ctx, "select 1").Scan(new(int)))
			called := false
			check("Tx", p.Tx(ctx, func(*tenantdb.Tx) error { called = true; return nil }))
			if called {
				t.Error("Tx ran its function without a tenant")
			}
		})
	}
	if got := pool.Stat().AcquireCount(); got != acquired {
		t.Errorf("connections acquired without a tenant: %d", got-acquired)
	}
	if got := rt.count(); got != 0 {
		t.Errorf("%d round trips to the server without a tenant", got)
	}
}

type refuseAll struct{}

var errRefused = errors.New("refused by test guard")

func (refuseAll) Check(string, []any, tenancy.ID) error { return errRefused }

// TestGuardRefusalSendsNothing: a statement the guard refuses never
// reaches the server, from any entry point.
func TestGuardRefusalSendsNothing(t *testing.T) {
	db := schema(t)
	pool, rt := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{Guard: refuseAll{}})
	ctx := staffCtx(clinicA, staffA)
	rt.reset()
	if _, err := p.Exec(ctx, "delete from patients"); !errors.Is(err, errRefused) {
		t.Errorf("Exec = %v, want the refusal", err)
	}
	if _, err := p.Query(ctx, "select * from patients"); !errors.Is(err, errRefused) {
		t.Errorf("Query = %v, want the refusal", err)
	}
	if err := p.QueryRow(ctx, "select 1").Scan(new(int)); !errors.Is(err, errRefused) {
		t.Errorf("QueryRow = %v, want the refusal", err)
	}
	if got := rt.count(); got != 0 {
		t.Errorf("%d round trips for refused statements", got)
	}
	err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
		rt.reset()
		if _, err := tx.Exec(ctx, "delete from patients"); !errors.Is(err, errRefused) {
			t.Errorf("Tx.Exec = %v, want the refusal", err)
		}
		b := &pgx.Batch{}
		b.Queue("delete from patients")
		if err := tx.SendBatch(ctx, b).Close(); !errors.Is(err, errRefused) {
			t.Errorf("Tx.SendBatch = %v, want the refusal", err)
		}
		if got := rt.count(); got != 0 {
			t.Errorf("%d round trips for refused statements in a Tx", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnsupportedArgs(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	ctx := staffCtx(clinicA, staffA)
	for _, args := range [][]any{
		{pgx.NamedArgs{"c": clinicA}},
		{pgx.QueryExecModeSimpleProtocol, clinicA},
	} {
		if _, err := p.Exec(ctx, "select @c", args...); !errors.Is(err, tenantdb.ErrUnsupportedArg) {
			t.Errorf("Exec with %T = %v, want ErrUnsupportedArg", args[0], err)
		}
	}
}

// TestCommitErrorsSurface: a COMMIT that fails, or that rolls back because
// a statement failed inside, is an error, and nothing is kept.
func TestCommitErrorsSurface(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	ctx := staffCtx(clinicA, staffA)

	err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
		// The deferred unique constraint is checked only at COMMIT.
		_, err := tx.Exec(ctx, "insert into counters (clinic_id, id, n) values ($1, gen_random_uuid(), 1), ($1, gen_random_uuid(), 1)", clinicA)
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Errorf("Tx whose COMMIT violates a deferred constraint = %v, want unique_violation", err)
	}
	var kept int
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), "select count(*) from counters").Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if kept != 0 {
		t.Errorf("%d rows kept from a failed commit", kept)
	}

	err = p.Tx(ctx, func(tx *tenantdb.Tx) error {
		_, err := tx.Exec(ctx, "insert into patients (clinic_id, id, name) values ($1, gen_random_uuid(), 'x'), ($1, null, 'y')", clinicA)
		if err == nil {
			return fmt.Errorf("inserting a null id succeeded")
		}
		return nil // ignore the failure: COMMIT must not pretend it worked
	})
	if !errors.Is(err, tenantdb.ErrCommitRollback) {
		t.Errorf("Tx whose statement failed = %v, want ErrCommitRollback", err)
	}
}
