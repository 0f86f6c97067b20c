package tenantsql_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// gormPatient is a GORM model of the patients table.
type gormPatient struct {
	ClinicID tenancy.ID `gorm:"column:clinic_id;type:uuid;primaryKey"`
	ID       tenancy.ID `gorm:"column:id;type:uuid;primaryKey"`
	Name     string     `gorm:"column:name"`
}

func (gormPatient) TableName() string { return "patients" }

// TestGORM: GORM over the *sql.DB of Open keeps every guarantee: a tenant
// finds, creates, updates and deletes its own rows only, through the
// guard and, past it, row-level security.
func TestGORM(t *testing.T) {
	db, m := schema(t)
	openGORM := func(guarded bool) *gorm.DB {
		t.Helper()
		var guard tenantdb.Guard // nil: the model's guard
		if !guarded {
			guard = allowAll{}
		}
		sdb := open(t, db, m, guard)
		g, err := gorm.Open(postgres.New(postgres.Config{Conn: sdb}), &gorm.Config{Logger: logger.Discard})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	guarded, rlsOnly := openGORM(true), openGORM(false)
	ctx := staffCtx(clinicA, staffA)

	var mine []gormPatient
	if err := guarded.WithContext(ctx).Where("clinic_id = ?", clinicA).Order("name").Find(&mine).Error; err != nil {
		t.Fatal(err)
	}
	if len(mine) != 5 || mine[0].ClinicID != clinicA {
		t.Fatalf("A's patients: %+v, want its 5", mine)
	}
	var refusal *sqlguard.RefusalError
	var theirs []gormPatient
	if err := guarded.WithContext(ctx).Where("clinic_id = ?", clinicB).Find(&theirs).Error; !errors.As(err, &refusal) {
		t.Errorf("B's patients through the guard: %v (%d rows), want a refusal", err, len(theirs))
	}
	if err := guarded.WithContext(ctx).Find(&theirs).Error; !errors.As(err, &refusal) {
		t.Errorf("every patient through the guard: %v (%d rows), want a refusal", err, len(theirs))
	}
	if err := rlsOnly.WithContext(ctx).Find(&theirs).Error; err != nil || len(theirs) != 5 {
		t.Errorf("every patient past the guard: %v, %d rows, want A's 5", err, len(theirs))
	}

	// Writes: A's own row in a transaction; B's rows out of reach.
	err := guarded.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		p := gormPatient{ClinicID: clinicA, ID: tenancy.NewID(), Name: "new"}
		if err := tx.Create(&p).Error; err != nil {
			return err
		}
		return tx.Model(&gormPatient{}).Where("clinic_id = ? and id = ?", clinicA, p.ID).Update("name", "renamed").Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := guarded.WithContext(ctx).Create(&gormPatient{ClinicID: clinicB, ID: tenancy.NewID(), Name: "planted"}).Error; !errors.As(err, &refusal) {
		t.Errorf("creating a patient at B through the guard: %v, want a refusal", err)
	}
	if err := rlsOnly.WithContext(ctx).Create(&gormPatient{ClinicID: clinicB, ID: tenancy.NewID(), Name: "planted"}).Error; err == nil {
		t.Error("creating a patient at B past the guard succeeded")
	}
	res := rlsOnly.WithContext(ctx).Where("clinic_id = ?", clinicB).Delete(&gormPatient{})
	if res.Error != nil || res.RowsAffected != 0 {
		t.Errorf("deleting B's patients past the guard: %v, %d rows", res.Error, res.RowsAffected)
	}
	if err := guarded.WithContext(context.Background()).Where("clinic_id = ?", clinicA).Find(&mine).Error; !errors.Is(err, tenancy.ErrNoTenant) {
		t.Errorf("a query without a principal: %v, want ErrNoTenant", err)
	}
	if a, b := counts(t, db); a != 6 || b != 7 {
		t.Errorf("after the writes: %d patients at A and %d at B, want 6 and 7", a, b)
	}
}
