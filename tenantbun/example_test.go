package tenantbun_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantbun"
)

// Appointment is a bun model of a tenant table: the tenant column leads
// the primary key, as the database conventions ask.
type Appointment struct {
	bun.BaseModel `bun:"table:appointments,alias:a"`

	ClinicID  tenancy.ID `bun:"clinic_id,pk,type:uuid"`
	ID        tenancy.ID `bun:"id,pk,type:uuid"`
	PatientID tenancy.ID `bun:"patient_id,type:uuid"`
	Status    string     `bun:"status"`
}

// A handler's store reads and writes through bun as usual; the principal
// in ctx (put there by jwtctx middleware) scopes every query. It needs a
// database, so it only compiles here.
func ExampleOpen() {
	ctx := context.Background()
	model, err := rls.NewModel(rls.Config{AppRole: "app", TenantColumn: "clinic_id"}, rls.Table{Name: "public.appointments"})
	if err != nil {
		log.Fatal(err)
	}
	db, err := tenantbun.Open(ctx, "postgres://app:secret@localhost/dental", tenantbun.Config{Model: model, Sources: []tenancy.Source{jwtctx.Source()}})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	var req *http.Request // a request that jwtctx's middleware authenticated
	ctx = req.Context()
	p, err := tenancy.Require(ctx)
	if err != nil {
		log.Fatal(err)
	}
	clinic := p.Tenant

	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var booked []Appointment
		if err := tx.NewSelect().Model(&booked).
			Where("a.clinic_id = ?", clinic).
			Where("a.status = ?", "scheduled").
			Scan(ctx); err != nil {
			return err
		}
		fmt.Println(len(booked), "scheduled")
		_, err := tx.NewUpdate().Model((*Appointment)(nil)).
			Set("status = ?", "confirmed").
			Where("clinic_id = ?", clinic).
			Where("status = ?", "scheduled").
			Exec(ctx)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
}
