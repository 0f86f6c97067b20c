package rls_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

// These tests connect as the app role: the point is what the policies let
// the application see and do.

func queryStrings(t *testing.T, tx pgx.Tx, sql string, args ...any) []string {
	t.Helper()
	rows, err := tx.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	slices.Sort(got)
	return got
}

func ids(ids ...tenancy.ID) []string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	slices.Sort(s)
	return s
}

func TestNoContextIsRefused(t *testing.T) {
	db := seeded(t)
	if n := adminCount(t, db, `SELECT count(*) FROM public.patients`); n == 0 {
		t.Fatal("fixture has no patients; the test would prove nothing")
	}
	app := db.Conn(t, pgtest.App)
	ctx := context.Background()
	tests := []struct {
		name, setup, sql string
	}{
		{"select, nothing set", "", `SELECT id::text FROM public.patients`},
		{"select, empty tenant", `SELECT set_config('tenancy.tenant_id', '', true)`, `SELECT id::text FROM public.patients`},
		{"insert", "", `INSERT INTO public.patients (clinic_id, id, email, name) VALUES (gen_random_uuid(), gen_random_uuid(), 'x', 'x')`},
		{"delete", "", `DELETE FROM public.appointments`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := app.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if tt.setup != "" {
				if _, err := tx.Exec(ctx, tt.setup); err != nil {
					t.Fatal(err)
				}
			}
			_, err = tx.Exec(ctx, tt.sql)
			if got := sqlState(err); got != rls.SQLStateNoTenant {
				t.Fatalf("SQLSTATE = %q (err %v), want %q", got, err, rls.SQLStateNoTenant)
			}
			if !strings.Contains(err.Error(), "tenancy.tenant_id") {
				t.Errorf("error %q does not name the missing setting", err)
			}
		})
	}
}

// The context set with set_config(..., true) ends with its transaction, so
// the next transaction on the same connection has none.
func TestContextEndsWithTransaction(t *testing.T) {
	db := seeded(t)
	app := db.Conn(t, pgtest.App)
	if err := inTx(t, app, staffOfA, func(tx pgx.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	_, err := app.Exec(context.Background(), `SELECT count(*) FROM public.patients`)
	if got := sqlState(err); got != rls.SQLStateNoTenant {
		t.Fatalf("after the transaction: SQLSTATE = %q (err %v), want %q", got, err, rls.SQLStateNoTenant)
	}
}

func TestTenantSeesOnlyItsRows(t *testing.T) {
	db := seeded(t)
	if n := adminCount(t, db, `SELECT count(*) FROM public.patients WHERE clinic_id = $1`, clinicB.String()); n != 1 {
		t.Fatalf("clinic B has %d patients, want 1: the test would prove nothing", n)
	}
	if n := adminCount(t, db, `SELECT count(*) FROM audit.events WHERE clinic_id = $1`, clinicB.String()); n != 1 {
		t.Fatalf("clinic B has %d audit events, want 1", n)
	}
	app := db.Conn(t, pgtest.App)
	err := inTx(t, app, ownerOfA, func(tx pgx.Tx) error {
		if diff := cmp.Diff(ids(patientA1, patientA2), queryStrings(t, tx, `SELECT id::text FROM public.patients`)); diff != "" {
			t.Errorf("patients (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ids(patientA1, patientA2), queryStrings(t, tx, `SELECT patient_id::text FROM public.appointments`)); diff != "" {
			t.Errorf("appointments (-want +got):\n%s", diff)
		}
		// Even asking for B by name finds nothing.
		if got := queryStrings(t, tx, `SELECT id::text FROM public.patients WHERE clinic_id = $1 OR id = $2`, clinicB.String(), patientB1.String()); len(got) != 0 {
			t.Errorf("asking for B's patient returned %v", got)
		}
		if got := queryStrings(t, tx, `SELECT DISTINCT clinic_id::text FROM audit.events`); !slices.Equal(got, ids(clinicA)) {
			t.Errorf("audit events of clinics %v, want only A", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWritesCannotReachAnotherTenant(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		sql       string
		wantState string // SQLSTATE of the expected error, or "" for none
		wantRows  int64  // rows affected when no error is expected
	}{
		{"insert with B's tenant fails WITH CHECK",
			`INSERT INTO public.patients (clinic_id, id, email, name) VALUES ('` + clinicB.String() + `', gen_random_uuid(), 'new@example.com', 'new')`, "42501", 0},
		{"update cannot move a row to B",
			`UPDATE public.patients SET clinic_id = '` + clinicB.String() + `' WHERE id = '` + patientA1.String() + `'`, "42501", 0},
		{"update of B's rows affects nothing",
			`UPDATE public.patients SET name = 'changed' WHERE clinic_id = '` + clinicB.String() + `'`, "", 0},
		{"delete of B's rows affects nothing",
			`DELETE FROM public.appointments WHERE clinic_id = '` + clinicB.String() + `'`, "", 0},
		{"composite foreign key to B's patient fails",
			`INSERT INTO public.appointments (clinic_id, id, patient_id) VALUES ('` + clinicA.String() + `', gen_random_uuid(), '` + patientB1.String() + `')`, "23503", 0},
		{"upsert onto B's row fails WITH CHECK",
			`INSERT INTO public.patients (clinic_id, id, email, name) VALUES ('` + clinicB.String() + `', '` + patientB1.String() + `', 'x@example.com', 'x')
			 ON CONFLICT (clinic_id, id) DO UPDATE SET name = 'taken' RETURNING name`, "42501", 0},
		{"a unique value of B is free in A",
			`INSERT INTO public.patients (clinic_id, id, email, name) VALUES ('` + clinicA.String() + `', gen_random_uuid(), '` + patientB1.String() + `@example.com', 'same email')`, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := seeded(t)
			const countB = `SELECT count(*) FROM public.patients p JOIN public.appointments a USING (clinic_id)
				WHERE p.clinic_id = $1 AND p.name = $2`
			if n := adminCount(t, db, countB, clinicB.String(), patientB1.String()); n != 1 {
				t.Fatalf("B's patient and appointment: %d rows, want 1", n)
			}
			app := db.Conn(t, pgtest.App)
			var tag int64
			err := inTx(t, app, staffOfA, func(tx pgx.Tx) error {
				ct, err := tx.Exec(ctx, tt.sql)
				tag = ct.RowsAffected()
				return err
			})
			if got := sqlState(err); got != tt.wantState {
				t.Fatalf("SQLSTATE = %q (err %v), want %q", got, err, tt.wantState)
			}
			if err == nil && tag != tt.wantRows {
				t.Errorf("rows affected = %d, want %d", tag, tt.wantRows)
			}
			if n := adminCount(t, db, countB, clinicB.String(), patientB1.String()); n != 1 {
				t.Errorf("after the statement B's patient and appointment: %d rows, want 1 unchanged", n)
			}
			if n := adminCount(t, db, `SELECT count(*) FROM public.patients WHERE clinic_id = $1`, clinicB.String()); n != 1 {
				t.Errorf("clinic B has %d patients, want 1", n)
			}
		})
	}
}

// A unique value used by clinic A can be used by clinic B: the tenant
// column is part of the key, so a violation reveals nothing across tenants.
func TestUniqueValueFreeAcrossTenants(t *testing.T) {
	db := seeded(t)
	email := patientA1.String() + "@example.com"
	if n := adminCount(t, db, `SELECT count(*) FROM public.patients WHERE clinic_id = $1 AND email = $2`, clinicA.String(), email); n != 1 {
		t.Fatalf("A does not use %s; the test would prove nothing", email)
	}
	app := db.Conn(t, pgtest.App)
	err := inTx(t, app, staffOfB, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO public.patients (clinic_id, id, email, name) VALUES ($1, gen_random_uuid(), $2, 'b')`,
			clinicB.String(), email)
		return err
	})
	if err != nil {
		t.Fatalf("B inserting A's email: %v", err)
	}
}

// INSERT ... ON CONFLICT and RETURNING show only the inserting tenant's rows.
func TestUpsertRevealsNothing(t *testing.T) {
	db := seeded(t)
	emailB := patientB1.String() + "@example.com"
	if n := adminCount(t, db, `SELECT count(*) FROM public.patients WHERE clinic_id = $1 AND email = $2`, clinicB.String(), emailB); n != 1 {
		t.Fatalf("B does not use %s; the test would prove nothing", emailB)
	}
	app := db.Conn(t, pgtest.App)
	err := inTx(t, app, staffOfA, func(tx pgx.Tx) error {
		// B's email and B's patient id, under A's tenant: no conflict, a new
		// row of A's, and RETURNING shows only it.
		got := queryStrings(t, tx, `INSERT INTO public.patients (clinic_id, id, email, name) VALUES ($1, $2, $3, 'a')
			ON CONFLICT (clinic_id, email) DO UPDATE SET name = 'conflict' RETURNING clinic_id::text || ' ' || name`,
			clinicA.String(), patientB1.String(), emailB)
		if want := []string{clinicA.String() + " a"}; !slices.Equal(got, want) {
			t.Errorf("RETURNING = %v, want %v", got, want)
		}
		got = queryStrings(t, tx, `INSERT INTO public.patients (clinic_id, id, email, name) VALUES ($1, $2, 'other@example.com', 'b')
			ON CONFLICT DO NOTHING RETURNING clinic_id::text`, clinicA.String(), patientB1.String())
		if len(got) != 0 {
			t.Errorf("second insert of the same key returned %v, want nothing (A's own conflict)", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := adminCount(t, db, `SELECT count(*) FROM public.patients WHERE clinic_id = $1 AND name = $2`, clinicB.String(), patientB1.String()); n != 1 {
		t.Errorf("B's patient was changed")
	}
}

func TestPatientSeesOnlyOwnRows(t *testing.T) {
	db := seeded(t)
	if n := adminCount(t, db, `SELECT count(*) FROM public.appointments WHERE clinic_id = $1 AND patient_id = $2`, clinicA.String(), patientA2.String()); n != 1 {
		t.Fatalf("patient A2 has %d appointments, want 1: the test would prove nothing", n)
	}
	app := db.Conn(t, pgtest.App)
	ctx := context.Background()
	err := inTx(t, app, patientOfA, func(tx pgx.Tx) error {
		if diff := cmp.Diff(ids(patientA1), queryStrings(t, tx, `SELECT id::text FROM public.patients`)); diff != "" {
			t.Errorf("patients (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ids(patientA1), queryStrings(t, tx, `SELECT patient_id::text FROM public.appointments`)); diff != "" {
			t.Errorf("appointments (-want +got):\n%s", diff)
		}
		// Appointments are read-only for patients: updates and deletes
		// touch nothing.
		for _, q := range []string{`UPDATE public.appointments SET note = 'mine'`, `DELETE FROM public.appointments`} {
			ct, err := tx.Exec(ctx, q)
			if err != nil {
				return err
			}
			if ct.RowsAffected() != 0 {
				t.Errorf("%s: %d rows affected, want 0", q, ct.RowsAffected())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = inTx(t, app, patientOfA, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO public.appointments (clinic_id, id, patient_id) VALUES ($1, gen_random_uuid(), $2)`,
			clinicA.String(), patientA1.String())
		return err
	})
	if got := sqlState(err); got != "42501" {
		t.Errorf("patient inserting an appointment: SQLSTATE %q (err %v), want 42501", got, err)
	}
	// A patient context without a subject sees nothing.
	err = inTx(t, app, principal{tenant: clinicA, kind: tenancy.Kind("patient")}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('tenancy.principal', 'patient|||||', true)`); err != nil {
			return err
		}
		if got := queryStrings(t, tx, `SELECT id::text FROM public.patients`); len(got) != 0 {
			t.Errorf("patient without a subject sees %v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadRoles(t *testing.T) {
	db := seeded(t)
	if n := adminCount(t, db, `SELECT count(*) FROM audit.events WHERE clinic_id = $1`, clinicA.String()); n != 2 {
		t.Fatalf("clinic A has %d audit events, want 2", n)
	}
	app := db.Conn(t, pgtest.App)
	for _, tt := range []struct {
		name string
		p    principal
		want int
	}{
		{"owner reads", ownerOfA, 2},
		{"staff without the owner role reads nothing", staffOfA, 0},
		{"no roles setting reads nothing", principal{tenant: clinicA, kind: tenancy.Kind("staff"), subject: staffA, roles: nil}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := inTx(t, app, tt.p, func(tx pgx.Tx) error {
				if got := queryStrings(t, tx, `SELECT id::text FROM audit.events`); len(got) != tt.want {
					t.Errorf("read %d events, want %d", len(got), tt.want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The tenant policy's helper call is an InitPlan, evaluated once, and the
// index leading with the tenant column is used.
func TestExplainUsesInitPlanAndIndex(t *testing.T) {
	db := seeded(t)
	db.Exec(t, pgtest.Admin, `
		INSERT INTO public.clinics (id, name) SELECT gen_random_uuid(), 'bulk ' || g FROM generate_series(1, 200) g;
		INSERT INTO public.patients (clinic_id, id, email, name)
			SELECT c.id, gen_random_uuid(), c.name || '-' || g || '@example.com', 'p' FROM public.clinics c, generate_series(1, 50) g;
		ANALYZE public.clinics, public.patients;`)
	app := db.Conn(t, pgtest.App)
	err := inTx(t, app, staffOfA, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `EXPLAIN (COSTS OFF) SELECT name FROM public.patients WHERE email = $1`, "x@example.com")
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		plan := strings.Join(lines, "\n")
		for _, want := range []string{"InitPlan", "Index Scan using patients_clinic_id_email_key", "Index Cond: ((clinic_id = $"} {
			if !strings.Contains(plan, want) {
				t.Errorf("plan lacks %q:\n%s", want, plan)
			}
		}
		if strings.Contains(plan, "Seq Scan") {
			t.Errorf("plan scans the whole table:\n%s", plan)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
