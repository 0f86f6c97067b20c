package tenantdb_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
	"github.com/mydentalpractice/tenancy/tenantdb/internal/sqlctest"
)

// sqlc's generated DBTX (with :copyfrom and :batch* queries) is satisfied
// by the Pool, the Tx and the pgx.Tx view.
var (
	_ sqlctest.DBTX = (*tenantdb.Pool)(nil)
	_ sqlctest.DBTX = (*tenantdb.Tx)(nil)
	_ sqlctest.DBTX = (*tenantdb.PgxTx)(nil)
)

func pgUUID(id tenancy.ID) pgtype.UUID {
	b, ok := id.UUID()
	if !ok {
		panic("not a uuid: " + id.String())
	}
	return pgtype.UUID{Bytes: b, Valid: true}
}

func newUUID() pgtype.UUID { return pgtype.UUID{Bytes: uuid.New(), Valid: true} }

// TestSqlc runs every method that sqlc v1.31.1 generated for pgx/v5
// (internal/sqlctest: :exec, :one, :many, :batchexec, :batchone,
// :batchmany, :copyfrom) through the Pool, a Tx and the Tx's pgx.Tx view,
// under the default guard and RLS as the app role: each works in tenant
// A, and none sees or touches tenant B's rows, which exist.
func TestSqlc(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 2, "")
	open := newPool(t, pool, tenantdb.Config{}) // RLS alone
	guard, err := tenantdb.DefaultGuard(open.Model())
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, pool, tenantdb.Config{Guard: guard})
	ctx, cancel := context.WithTimeout(staffCtx(clinicA, staffA), time.Minute)
	defer cancel()
	admin := db.Conn(t, pgtest.Admin)
	A, B := pgUUID(clinicA), pgUUID(clinicB)

	// B's rows exist: read as Admin.
	var bIDs []pgtype.UUID
	rows, err := admin.Query(context.Background(), "select id from patients where clinic_id = $1 order by name", clinicB.String())
	if err != nil {
		t.Fatal(err)
	}
	if bIDs, err = pgx.CollectRows(rows, pgx.RowTo[pgtype.UUID]); err != nil || len(bIDs) != 7 {
		t.Fatalf("B's patients: %d (%v), want 7", len(bIDs), err)
	}
	bIntact := func(when string) {
		t.Helper()
		var n, renamed int
		if err := admin.QueryRow(context.Background(), "select count(*), count(*) filter (where name not like 'b%') from patients where clinic_id = $1", clinicB.String()).Scan(&n, &renamed); err != nil {
			t.Fatal(err)
		}
		if n != 7 || renamed != 0 {
			t.Errorf("%s: B has %d patients, %d renamed; want 7 and none", when, n, renamed)
		}
	}

	run := func(name string, q *sqlctest.Queries) {
		t.Helper()
		// :copyfrom
		made := []sqlctest.CreatePatientsParams{
			{ClinicID: A, ID: newUUID(), Name: name + "-1"},
			{ClinicID: A, ID: newUUID(), Name: name + "-2"},
			{ClinicID: A, ID: newUUID(), Name: name + "-3"},
		}
		n, err := q.CreatePatients(ctx, made)
		if err != nil || n != 3 {
			t.Fatalf("%s: CreatePatients = %d, %v", name, n, err)
		}
		// :many sees A's rows only.
		list, err := q.Patients(ctx, A)
		if err != nil {
			t.Fatalf("%s: Patients: %v", name, err)
		}
		for _, r := range list {
			if slices.Contains(bIDs, r.ID) {
				t.Errorf("%s: Patients(A) returned B's patient %v", name, r.ID)
			}
		}
		if !slices.ContainsFunc(list, func(r sqlctest.PatientsRow) bool { return r.ID == made[2].ID }) {
			t.Errorf("%s: Patients(A) lacks the row just made", name)
		}
		// :one
		got, err := q.Patient(ctx, sqlctest.PatientParams{ClinicID: A, ID: made[0].ID})
		if err != nil || got.Name != name+"-1" {
			t.Errorf("%s: Patient = %+v, %v", name, got, err)
		}
		// :exec
		if err := q.RenamePatient(ctx, sqlctest.RenamePatientParams{ClinicID: A, ID: made[0].ID, Name: name + "-renamed"}); err != nil {
			t.Errorf("%s: RenamePatient: %v", name, err)
		}
		// :batchone, :batchmany
		callbacks := 0
		q.PatientsByID(ctx, []sqlctest.PatientsByIDParams{{ClinicID: A, ID: made[0].ID}, {ClinicID: A, ID: made[1].ID}}).QueryRow(func(i int, r sqlctest.PatientsByIDRow, err error) {
			callbacks++
			if want := []string{name + "-renamed", name + "-2"}[i]; err != nil || r.Name != want {
				t.Errorf("%s: PatientsByID[%d] = %+v, %v; want %s", name, i, r, err, want)
			}
		})
		q.PatientsNamed(ctx, []sqlctest.PatientsNamedParams{{ClinicID: A, Name: name + "-2"}, {ClinicID: A, Name: "b1"}}).Query(func(i int, rs []sqlctest.PatientsNamedRow, err error) {
			callbacks++
			// b1 is B's first patient's name: A has none of that name.
			if want := []int{1, 0}[i]; err != nil || len(rs) != want {
				t.Errorf("%s: PatientsNamed[%d] = %d rows, %v; want %d", name, i, len(rs), err, want)
			}
		})
		// :batchexec
		q.DeletePatients(ctx, []sqlctest.DeletePatientsParams{{ClinicID: A, ID: made[1].ID}, {ClinicID: A, ID: made[2].ID}}).Exec(func(i int, err error) {
			callbacks++
			if err != nil {
				t.Errorf("%s: DeletePatients[%d]: %v", name, i, err)
			}
		})
		if list, err := q.Patients(ctx, A); err != nil || slices.ContainsFunc(list, func(r sqlctest.PatientsRow) bool { return r.ID == made[1].ID }) {
			t.Errorf("%s: after DeletePatients: %v, deleted row still listed", name, err)
		}

		// Tenant B through every kind of method: refused by the guard.
		refused := func(what string, err error) {
			t.Helper()
			callbacks++
			if !errors.Is(err, sqlguard.ErrRefused) {
				t.Errorf("%s: %s for tenant B = %v, want the guard's refusal", name, what, err)
			}
		}
		_, err = q.CreatePatients(ctx, []sqlctest.CreatePatientsParams{{ClinicID: B, ID: newUUID(), Name: "b-planted"}})
		refused("CreatePatients", err)
		_, err = q.Patients(ctx, B)
		refused("Patients", err)
		_, err = q.Patient(ctx, sqlctest.PatientParams{ClinicID: B, ID: bIDs[0]})
		refused("Patient", err)
		refused("RenamePatient", q.RenamePatient(ctx, sqlctest.RenamePatientParams{ClinicID: B, ID: bIDs[0], Name: "stolen"}))
		q.DeletePatients(ctx, []sqlctest.DeletePatientsParams{{ClinicID: B, ID: bIDs[0]}}).Exec(func(_ int, err error) { refused("DeletePatients", err) })
		q.PatientsByID(ctx, []sqlctest.PatientsByIDParams{{ClinicID: B, ID: bIDs[0]}}).QueryRow(func(_ int, _ sqlctest.PatientsByIDRow, err error) { refused("PatientsByID", err) })
		q.PatientsNamed(ctx, []sqlctest.PatientsNamedParams{{ClinicID: B, Name: "b1"}}).Query(func(_ int, _ []sqlctest.PatientsNamedRow, err error) { refused("PatientsNamed", err) })
		if callbacks != 6+7 {
			t.Errorf("%s: %d results reached their callbacks or checks, want 13", name, callbacks)
		}
		bIntact(name)
	}

	run("pool", sqlctest.New(p))
	if err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
		run("tx", sqlctest.New(tx))
		run("pgx-view", sqlctest.New(nil).WithTx(tx.Pgx()))
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Behind a guard that lets all through, RLS alone keeps B's rows
	// out of reach of the same generated code.
	q := sqlctest.New(open)
	if _, err := q.CreatePatients(ctx, []sqlctest.CreatePatientsParams{{ClinicID: B, ID: newUUID(), Name: "b-planted"}}); pgCode(err) != "42501" {
		t.Errorf("CreatePatients for B under RLS alone = %v, want SQLSTATE 42501", err)
	}
	if list, err := q.Patients(ctx, B); err != nil || len(list) != 0 {
		t.Errorf("Patients(B) under RLS alone = %d rows, %v; want none", len(list), err)
	}
	if _, err := q.Patient(ctx, sqlctest.PatientParams{ClinicID: B, ID: bIDs[0]}); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("Patient(B) under RLS alone = %v, want no rows", err)
	}
	if err := q.RenamePatient(ctx, sqlctest.RenamePatientParams{ClinicID: B, ID: bIDs[0], Name: "stolen"}); err != nil {
		t.Errorf("RenamePatient(B) under RLS alone: %v (want no error and no row changed)", err)
	}
	q.DeletePatients(ctx, []sqlctest.DeletePatientsParams{{ClinicID: B, ID: bIDs[0]}}).Exec(func(_ int, err error) {
		if err != nil {
			t.Errorf("DeletePatients(B) under RLS alone: %v", err)
		}
	})
	bIntact("RLS alone")
}
