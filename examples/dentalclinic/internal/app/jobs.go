package app

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantarchive"
	"github.com/mydentalpractice/tenancy/tenantdb"
	"github.com/mydentalpractice/tenancy/tenantriver"
)

// The River queues: appointment reminders, clinic exports (one at a time
// per instance: an export reads a whole clinic).
const (
	reminderQueue  = "reminders"
	exportQueue    = "exports"
	exportAttempts = 3
)

// jobKey derives the key that seals each job's principal from the token
// signing key's seed, as the web UI's CSRF key is: every instance that
// shares the signing key (Config.KeyFile) shares it, and nothing else
// knows it. The database never sees it.
func jobKey(seed []byte) []byte {
	mac := hmac.New(sha256.New, seed)
	mac.Write([]byte("dentalclinic jobs seal key v1"))
	return mac.Sum(nil)
}

// jobs runs the app's background jobs on River: a client on a pool of the
// owner role (which owns River's tables and bypasses row-level security,
// as River's fetching of every clinic's jobs needs), the reminder worker,
// and tenantriver's middleware, which puts each job's sealed principal
// back in its work context. Jobs are enqueued by the app role's tenant
// transactions only, through tenantriver (reminders.Enqueue).
type jobs struct {
	pool     *pgxpool.Pool
	client   *river.Client[pgx.Tx]
	sealer   *tenantriver.Jobs
	worker   *reminderWorker
	exporter *exportWorker
	lead     time.Duration
	now      func() time.Time
}

// newJobs connects to the owner role's database (ownerConn), checks that
// the role may fetch every clinic's jobs, and builds the River client. Its
// reminder worker gets its store from setStore, before start; onRun hears
// each job's run (the console's load).
func newJobs(ctx context.Context, cfg Config, ownerConn string, model *rls.Model, key []byte, onRun func(tenantriver.Run)) (*jobs, error) {
	sealer, err := tenantriver.New(tenantriver.Config{Key: key, Model: model, OnRun: onRun})
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(ownerConn)
	if err != nil {
		return nil, fmt.Errorf("MIGRATION_DATABASE_URL: %w", err)
	}
	pcfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	var bypass bool
	if err := pool.QueryRow(ctx, `select rolbypassrls or rolsuper from pg_catalog.pg_roles where rolname = current_user`).Scan(&bypass); err != nil {
		pool.Close()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if !bypass {
		pool.Close()
		return nil, errors.New("jobs: the role of MIGRATION_DATABASE_URL runs the background jobs (River fetches every clinic's jobs) and needs BYPASSRLS")
	}
	w := &reminderWorker{log: cfg.Log}
	ew := &exportWorker{log: cfg.Log}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, w); err != nil {
		pool.Close()
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, ew); err != nil {
		pool.Close()
		return nil, err
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:     map[string]river.QueueConfig{reminderQueue: {MaxWorkers: 2}, exportQueue: {MaxWorkers: 1}},
		Workers:    workers,
		Middleware: []rivertype.Middleware{sealer.Middleware()},
		Logger:     slog.New(warnOnly{cfg.Log.Handler()}),
		// A reminder written a few times over a day's retries is fine;
		// past that the clinic's outbox is better off without it.
		MaxAttempts: 10,
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	lead := cfg.ReminderLead
	if lead <= 0 {
		lead = 24 * time.Hour
	}
	return &jobs{pool: pool, client: client, sealer: sealer, worker: w, exporter: ew, lead: lead, now: cfg.Now}, nil
}

// setStore gives the workers their store, the tenant pool and the key
// that signs exports.
func (j *jobs) setStore(st *store.Store, db *tenantdb.Pool, key ed25519.PrivateKey) {
	j.worker.store = st
	j.exporter.store, j.exporter.db, j.exporter.key = st, db, key
}

// start starts working jobs; stop stops, waiting at most a few seconds for
// jobs under way, and closes the pool.
func (j *jobs) start(ctx context.Context) error {
	if err := j.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	return nil
}

func (j *jobs) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = j.client.Stop(ctx)
	j.pool.Close()
}

// Enqueue enqueues job in tx, a tenant transaction: a reminder to run
// ReminderLead before its appointment (at once when that is past; none for
// an appointment that has begun), an export at once, on a queue of its own.
func (j *jobs) Enqueue(ctx context.Context, tx *tenantdb.Tx, job store.Job) error {
	var opts *river.InsertOpts
	switch job := job.(type) {
	case store.ReminderArgs:
		now := j.now()
		if !job.StartsAt.After(now) {
			return nil
		}
		opts = &river.InsertOpts{Queue: reminderQueue}
		if at := job.StartsAt.Add(-j.lead); at.After(now) {
			opts.ScheduledAt = at
		}
	case store.ExportArgs:
		opts = &river.InsertOpts{Queue: exportQueue, MaxAttempts: exportAttempts}
	default:
		return fmt.Errorf("jobs: no queue for jobs of kind %s", job.Kind())
	}
	_, err := j.sealer.Insert(ctx, j.client, tx, job.(river.JobArgs), opts)
	return err
}

// exportWorker makes a clinic's export (tenantarchive.Export, through the
// audited entry point tenantdb.Pool.ReadTenant) in the job's clinic, and
// records how it ended.
type exportWorker struct {
	river.WorkerDefaults[store.ExportArgs]
	store *store.Store
	db    *tenantdb.Pool
	key   ed25519.PrivateKey // signs the manifest: the audit signing key
	log   *slog.Logger
}

// Work makes the export; a failure is retried, and the last one recorded.
func (w *exportWorker) Work(ctx context.Context, job *river.Job[store.ExportArgs]) error {
	p, err := tenancy.Require(ctx)
	if err != nil {
		return err
	}
	id := job.Args.ExportID
	if _, err := w.store.PendingExport(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			return river.JobCancel(err) // made already, or not this clinic's
		}
		return err
	}
	dir := w.store.ExportDir(p.Tenant, id)
	if err := os.RemoveAll(dir); err != nil { // an earlier attempt's files
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	man, err := tenantarchive.Export(ctx, w.db, p.Tenant, dir, tenantarchive.ExportConfig{
		Reason: "the clinic's export " + id.String() + ", asked for by its owner", SigningKey: w.key,
		SchemaVersion: strconv.FormatInt(migrations.Latest, 10),
	})
	if err != nil {
		w.log.WarnContext(ctx, "clinic export failed", "job", job.ID, "export", id.String(), "attempt", job.Attempt, "err", err)
		if job.Attempt >= job.MaxAttempts {
			if derr := w.store.ExportDone(ctx, id, true, 0, 0, 0, ""); derr != nil {
				return errors.Join(err, derr)
			}
		}
		return err
	}
	var rows, bytes int64
	for _, f := range man.Tables {
		rows += f.Rows
		bytes += f.Bytes
	}
	if err := w.store.ExportDone(ctx, id, false, len(man.Tables), rows, bytes, man.Digest); err != nil {
		return err
	}
	w.log.InfoContext(ctx, "clinic export written", "job", job.ID, "export", id.String(), "tables", len(man.Tables), "rows", rows)
	return nil
}

// reminderWorker writes an appointment's reminder to the outbox, in the
// job's clinic: ctx carries the principal that booked it.
type reminderWorker struct {
	river.WorkerDefaults[store.ReminderArgs]
	store *store.Store
	log   *slog.Logger
}

// Work writes the reminder; an appointment the clinic does not have
// cancels the job (a retry would not find it either).
func (w *reminderWorker) Work(ctx context.Context, job *river.Job[store.ReminderArgs]) error {
	wrote, err := w.store.SendReminder(ctx, job.ID, job.Args)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if wrote {
		w.log.InfoContext(ctx, "reminder written", "job", job.ID, "appointment", job.Args.AppointmentID.String())
	}
	return nil
}

// warnOnly passes River's warnings and errors on, not its info lines.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(as)} }
func (h warnOnly) WithGroup(g string) slog.Handler       { return warnOnly{h.Handler.WithGroup(g)} }
