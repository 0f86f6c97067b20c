package tenantriver_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
	"github.com/mydentalpractice/tenancy/tenantriver"
)

// River's relations, as the isolation model classifies them.
func ExampleTables() {
	model, err := rls.NewModel(rls.Config{TenantColumn: "org_id"},
		append([]rls.Table{{Name: "public.tasks"}}, tenantriver.Tables("")...)...)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range model.Relations() {
		fmt.Println(strings.TrimSpace(r.Qualified() + " " + r.Class.String() + " " + r.TenantColumn))
	}
	// Output:
	// public.river_job tenant tenancy_tenant_id
	// public.river_leader private
	// public.river_migration private
	// public.river_notification private
	// public.river_queue private
	// public.tasks tenant org_id
}

type ReminderArgs struct {
	AppointmentID string `json:"appointment_id"`
}

func (ReminderArgs) Kind() string { return "reminder" }

type ReminderWorker struct {
	river.WorkerDefaults[ReminderArgs]
	db *tenantdb.Pool
}

// Work runs in the job's tenant: ctx carries the principal that enqueued
// it, from tenantriver.Source.
func (w *ReminderWorker) Work(ctx context.Context, job *river.Job[ReminderArgs]) error {
	return w.db.Tx(ctx, func(tx *tenantdb.Tx) error {
		p, _ := tenancy.FromContext(ctx)
		_, err := tx.Exec(ctx, "insert into outbox (org_id, appointment_id) values ($1, $2) on conflict do nothing", p.Tenant, job.Args.AppointmentID)
		return err
	})
}

// Enqueueing in a tenant transaction, and working in the job's tenant.
// It needs a database: the app role's pool for tenantdb, River's own role
// for River.
func ExampleJobs_Insert() {
	ctx := context.Background()
	var (
		model     *rls.Model    // built with tenantriver.Tables
		appPool   *pgxpool.Pool // as the app role
		riverPool *pgxpool.Pool // as River's role
		key       []byte        // 32 random bytes from the secret store
		reqCtx    context.Context
	)
	jobs, err := tenantriver.New(tenantriver.Config{Key: key, Model: model})
	if err != nil {
		log.Fatal(err)
	}
	db, err := tenantdb.New(ctx, appPool, tenantdb.Config{Model: model, Sources: []tenancy.Source{tenantriver.Source()}})
	if err != nil {
		log.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &ReminderWorker{db: db})
	client, err := river.NewClient(riverpgxv5.New(riverPool), &river.Config{
		Middleware: []rivertype.Middleware{jobs.Middleware()},
		Queues:     map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}},
		Workers:    workers,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		log.Fatal(err)
	}
	// In a handler, reqCtx carries the verified principal.
	err = db.Tx(reqCtx, func(tx *tenantdb.Tx) error {
		_, err := jobs.Insert(reqCtx, client, tx, ReminderArgs{AppointmentID: "a1"}, nil)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
}
