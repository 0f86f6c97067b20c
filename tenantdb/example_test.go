package tenantdb_test

import (
	"context"
	"fmt"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// A service opens one Pool at start-up, connected as the application's
// role, and hands it to its store. It needs a database, so it only
// compiles here; the package's tests run the same calls against real
// PostgreSQL.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://dental_app:secret@localhost/dental")
	if err != nil {
		log.Fatal(err)
	}
	// The model is built from the same table specs as the migration.
	model, err := rls.NewModel(rls.Config{AppRole: "dental_app", TenantColumn: "clinic_id"},
		rls.Table{Name: "public.clinics", Kind: rls.Registry},
		rls.Table{Name: "public.patients"},
	)
	if err != nil {
		log.Fatal(err)
	}
	// New refuses a superuser, a BYPASSRLS role or a table owner, and
	// guards every tenant table of the model with sqlguard.
	db, err := tenantdb.New(ctx, pool, tenantdb.Config{Model: model})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(db.Model().TenantRelations())
}

// Tx runs a function in one transaction scoped to the principal's tenant;
// the handler's context carries the principal, which jwtctx's middleware
// (whose jwtctx.Source() is in Config.Sources) put there.
func ExamplePool_Tx() {
	var db *tenantdb.Pool          // from tenantdb.Open
	var ctx context.Context        // a request's, from jwtctx's middleware
	p, err := tenancy.Require(ctx) // the clinic of the signed-in staff member
	if err != nil {
		log.Fatal(err)
	}
	clinic := p.Tenant
	appointment := tenancy.NewID()

	err = db.Tx(ctx, func(tx *tenantdb.Tx) error {
		var status string
		err := tx.QueryRow(ctx, "select status from appointments where clinic_id = $1 and id = $2 for update",
			clinic, appointment).Scan(&status)
		if err != nil {
			return err // pgx.ErrNoRows for another clinic's appointment, as for a missing one
		}
		if status != "scheduled" {
			return fmt.Errorf("cannot confirm a %s appointment", status)
		}
		_, err = tx.Exec(ctx, "update appointments set status = 'confirmed' where clinic_id = $1 and id = $2",
			clinic, appointment)
		return err
	})
	if err != nil {
		log.Print(err)
	}
}

// System is the one way around the tenant scoping: a separate role, a
// stated reason, and a record of every use.
func ExamplePool_System() {
	var db *tenantdb.Pool // from tenantdb.New with Config.System and Config.OnSystem
	ctx := context.Background()
	err := db.System(ctx, "list clinics for the admin console", func(tx *tenantdb.SystemTx) error {
		rows, err := tx.Query(ctx, "select id, name from clinics order by name")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id tenancy.ID
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			fmt.Println(id, name)
		}
		return rows.Err()
	})
	if err != nil {
		log.Print(err)
	}
}
