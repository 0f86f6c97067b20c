package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// summaryReason is the reason each clinic's owner reads in the audit log
// for the daily summary.
const summaryReason = "daily summary of the clinic's appointments and invoices"

// summarizeDay writes the summary of day (its UTC date) for every clinic
// through the cross-clinic entry point: each clinic's counts in its own
// context, recorded in its own audit chain, at most once per clinic and
// day (a run that stopped part way resumes where it stopped).
func summarizeDay(ctx context.Context, db *tenantdb.Pool, platform *pgxpool.Pool, log *slog.Logger, day time.Time) (tenantdb.EveryTenantResult, error) {
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 1)
	return db.EveryTenant(ctx, summaryReason, tenantdb.EveryTenantConfig{
		Run:         "daily-summary " + from.Format(time.DateOnly),
		Concurrency: 2,
		Completed:   audit.RunCompleted(platform),
	}, func(ctx context.Context, tx *tenantdb.Tx) error {
		p, err := tenancy.Require(ctx)
		if err != nil {
			return err
		}
		s, err := store.SummarizeDay(ctx, tx, p.Tenant, from, to)
		if err != nil {
			return err
		}
		log.InfoContext(ctx, "daily summary", "clinic", p.Tenant, "day", from.Format(time.DateOnly),
			"appointments", s.Appointments, "cancelled", s.Cancelled, "invoices_issued", s.InvoicesIssued)
		return nil
	})
}

// summarizeDaily summarizes yesterday (by cfg.Now, UTC) for every clinic
// now and then every interval until ctx ends: a clinic already summarized
// for that day is skipped, so a restart or a second instance costs a read.
func summarizeDaily(ctx context.Context, cfg Config, db *tenantdb.Pool, platform *pgxpool.Pool) {
	for {
		if _, err := summarizeDay(ctx, db, platform, cfg.Log, cfg.Now().UTC().AddDate(0, 0, -1)); err != nil && ctx.Err() == nil {
			cfg.Log.WarnContext(ctx, "daily summary", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(cfg.SummaryEvery):
		}
	}
}
