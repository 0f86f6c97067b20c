package tenantsql_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantsql/internal/sqlcdb"
)

// TestSQLC: the code sqlc generates for database/sql
// (tenantsql/internal/sqlcdb, committed) runs unchanged on Open's *sql.DB,
// and each of its methods keeps a tenant to its own rows, through the
// guard and, past it, through row-level security.
func TestSQLC(t *testing.T) {
	db, m := schema(t)
	guarded, rlsOnly := sqlcdb.New(open(t, db, m, nil)), sqlcdb.New(open(t, db, m, allowAll{}))
	ctx := staffCtx(clinicA, staffA)
	a, b := uuid.UUID(mustUUID(t, clinicA)), uuid.UUID(mustUUID(t, clinicB))
	var theirs uuid.UUID
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select id from patients where clinic_id = $1 limit 1`, clinicB).Scan(&theirs); err != nil {
		t.Fatal(err)
	}
	var refusal *sqlguard.RefusalError

	// :many
	mine, err := guarded.ListPatients(ctx, a)
	if err != nil || len(mine) != 5 {
		t.Fatalf("ListPatients(A): %d rows, %v; want A's 5", len(mine), err)
	}
	if _, err := guarded.ListPatients(ctx, b); !errors.As(err, &refusal) {
		t.Errorf("ListPatients(B): %v, want a refusal", err)
	}
	if got, err := rlsOnly.ListPatients(ctx, b); err != nil || len(got) != 0 {
		t.Errorf("ListPatients(B) past the guard: %d rows, %v; want none", len(got), err)
	}
	if _, err := guarded.ListEveryPatient(ctx); !errors.As(err, &refusal) {
		t.Errorf("ListEveryPatient: %v, want a refusal (it does not scope)", err)
	}
	if got, err := rlsOnly.ListEveryPatient(ctx); err != nil || len(got) != 5 {
		t.Errorf("ListEveryPatient past the guard: %d rows, %v; want A's 5", len(got), err)
	}

	// :one
	if p, err := guarded.GetPatient(ctx, sqlcdb.GetPatientParams{ClinicID: a, ID: mine[0].ID}); err != nil || p.Name != mine[0].Name {
		t.Errorf("GetPatient(A's): %+v, %v", p, err)
	}
	if _, err := guarded.GetPatient(ctx, sqlcdb.GetPatientParams{ClinicID: a, ID: theirs}); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("GetPatient(B's id, as A's): %v, want no rows", err)
	}
	if _, err := guarded.GetPatient(ctx, sqlcdb.GetPatientParams{ClinicID: b, ID: theirs}); !errors.As(err, &refusal) {
		t.Errorf("GetPatient(B's): %v, want a refusal", err)
	}
	if _, err := rlsOnly.GetPatient(ctx, sqlcdb.GetPatientParams{ClinicID: b, ID: theirs}); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("GetPatient(B's) past the guard: %v, want no rows", err)
	}

	// :exec and :execrows
	if err := guarded.CreatePatient(ctx, sqlcdb.CreatePatientParams{ClinicID: a, ID: uuid.New(), Name: "new"}); err != nil {
		t.Errorf("CreatePatient(A): %v", err)
	}
	if err := guarded.CreatePatient(ctx, sqlcdb.CreatePatientParams{ClinicID: b, ID: uuid.New(), Name: "planted"}); !errors.As(err, &refusal) {
		t.Errorf("CreatePatient(B): %v, want a refusal", err)
	}
	if err := rlsOnly.CreatePatient(ctx, sqlcdb.CreatePatientParams{ClinicID: b, ID: uuid.New(), Name: "planted"}); err == nil {
		t.Error("CreatePatient(B) past the guard succeeded")
	}
	if n, err := guarded.RenamePatient(ctx, sqlcdb.RenamePatientParams{ClinicID: a, ID: mine[0].ID, Name: "renamed"}); err != nil || n != 1 {
		t.Errorf("RenamePatient(A's): %d rows, %v; want 1", n, err)
	}
	if _, err := guarded.RenamePatient(ctx, sqlcdb.RenamePatientParams{ClinicID: b, ID: theirs, Name: "taken"}); !errors.As(err, &refusal) {
		t.Errorf("RenamePatient(B's): %v, want a refusal", err)
	}
	if n, err := rlsOnly.RenamePatient(ctx, sqlcdb.RenamePatientParams{ClinicID: b, ID: theirs, Name: "taken"}); err != nil || n != 0 {
		t.Errorf("RenamePatient(B's) past the guard: %d rows, %v; want none", n, err)
	}
	if _, err := guarded.ListPatients(context.Background(), a); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Errorf("ListPatients without a principal: %v, want ErrNoTenant", err)
	}
	if na, nb := counts(t, db); na != 6 || nb != 7 {
		t.Errorf("after the calls: %d patients at A and %d at B, want 6 and 7", na, nb)
	}
}

func mustUUID(t *testing.T, id tenancy.ID) [16]byte {
	t.Helper()
	u, ok := id.UUID()
	if !ok {
		t.Fatalf("%v is no UUID", id)
	}
	return u
}
