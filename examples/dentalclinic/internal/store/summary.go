package store

import (
	"context"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// DaySummary is a clinic's day in numbers: no names, nothing about a
// patient.
type DaySummary struct {
	Appointments   int // appointments that started that day, cancelled ones included
	Cancelled      int // of which cancelled or no-show
	InvoicesIssued int
}

// SummarizeDay counts clinic's appointments starting in [from, to) and
// the invoices it issued then, through q: the transaction that the
// cross-clinic run hands each clinic's work.
func SummarizeDay(ctx context.Context, q tenantdb.Querier, clinic tenancy.ID, from, to time.Time) (DaySummary, error) {
	var s DaySummary
	err := q.QueryRow(ctx, `select
			(select count(*) from appointments where clinic_id = $1 and starts_at >= $2 and starts_at < $3),
			(select count(*) from appointments where clinic_id = $1 and starts_at >= $2 and starts_at < $3 and status in ('cancelled', 'no_show')),
			(select count(*) from invoices where clinic_id = $1 and issued_at >= $2 and issued_at < $3)`,
		clinic, from, to).Scan(&s.Appointments, &s.Cancelled, &s.InvoicesIssued)
	return s, wrap("summarize the day", err)
}
