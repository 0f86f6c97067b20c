// Package tenantriver carries the tenant into background jobs run by
// River (github.com/riverqueue/river, with its pgx driver riverpgxv5): a
// handler enqueues a job inside its tenant transaction, the job stores
// the principal that transaction was begun with, sealed so that no other
// writer of River's tables can forge it, and the worker's database work
// runs in that principal's context through package tenantdb.
//
// # Use
//
//	model, err := rls.NewModel(cfg, append(appTables, tenantriver.Tables("")...)...)
//	// as the owner role: River's migrations (rivermigrate), then
//	prep, err := tenantriver.Schema(model, "") // River's job table gets its tenant column
//	isolation, err := model.Generate()         // grants and policies of every table, River's too
//
//	jobs, err := tenantriver.New(tenantriver.Config{Key: key, Model: model})
//	db, err := tenantdb.Open(ctx, appURL, tenantdb.Config{Model: model,
//		Sources: []tenancy.Source{jwtctx.Source(), tenantriver.Source()}})
//	client, err := river.NewClient(riverpgxv5.New(riverPool), &river.Config{ // riverPool: River's own role
//		Middleware: []rivertype.Middleware{jobs.Middleware()},
//		Workers:    workers, Queues: queues,
//	})
//
//	// in a handler: the job exists if and only if the transaction commits
//	err = db.Tx(ctx, func(tx *tenantdb.Tx) error {
//		...
//		_, err := jobs.Insert(ctx, client, tx, ReminderArgs{AppointmentID: id}, nil)
//		return err
//	})
//
//	// in the worker: ctx carries the job's principal
//	func (w *ReminderWorker) Work(ctx context.Context, job *river.Job[ReminderArgs]) error {
//		return w.db.Tx(ctx, func(tx *tenantdb.Tx) error { ... }) // in the job's tenant
//	}
//
// # The layers
//
// [Jobs.Insert] takes the principal from the tenant transaction itself
// (never from args, metadata or the caller's context), draws the job's id
// at random, and seals the principal into the job's metadata at
// [MetadataKey] with HMAC-SHA256 over the job's id, kind and args (in a
// canonical JSON form, so that PostgreSQL's jsonb rewriting does not
// matter) and the principal, under [Config.Key]. River's insert statement
// then runs on the tenant transaction's raw pgx.Tx: the guard cannot
// parse-scope River's SQL, so the database is what fences it. [Schema]
// gives River's job table a generated tenant column, [TenantColumn], that
// reads the seal's tenant, and the model's generated tenant policy binds
// it, USING and WITH CHECK, to the transaction's tenant: the app role
// cannot insert a job of another tenant, read another tenant's jobs, or
// move a job between tenants. Its other privileges on River's tables are
// what River's insert needs and no more ([Tables]).
//
// [Jobs.Middleware] verifies each job's seal before its worker runs, and
// puts the principal in the work context from [Source]; a job without a
// seal, or whose seal does not verify (forged, copied from another job,
// args changed), is cancelled, never retried. tenantdb accepts the
// principal only when [tenantdb.Config.Sources] lists Source. Retries,
// snoozes and rescues of a job killed mid-work keep its metadata, hence
// its tenant; a job written to be idempotent applies nothing twice.
//
// # Security
//
// The key must be secret to the processes that enqueue and work jobs: the
// database never sees it. River's client and workers connect on a pool of
// their own, as a role that row-level security does not bind on River's
// tables (the owner of River's tables with BYPASSRLS); the app role's pool
// reaches River's tables only through Insert, fenced as above. Unique jobs
// are refused in a tenant transaction (River's unique index spans every
// tenant), by Insert and by a trigger of [Schema]. An impersonating
// principal is refused: a job would outlive the grant. A job runs with the
// principal as it was when the job was enqueued; revoking a token does not
// stop jobs already enqueued. Insert middleware that the application adds
// to the River client sees the insert's context. See docs/jobs.md for the
// threat model.
package tenantriver
