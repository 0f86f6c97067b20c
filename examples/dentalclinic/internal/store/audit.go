package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/impersonation"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// tx runs fn in a tenant transaction. When the request is an impersonated
// one, the impersonation middleware's record of it is appended in the
// same transaction (impersonation.RequestTx), so the change and its
// record commit together or not at all. Every write of the store goes
// through here.
//
// A transaction that PostgreSQL aborts as a deadlock victim or for a
// serialization failure is run again, a few times: two bookings racing
// for one chair can deadlock inside the exclusion constraint's check, and
// the loser must then see the winner's row and answer "chair_busy", not
// fail. fn must therefore have no effect outside tx.
func (s *Store) tx(ctx context.Context, fn func(tx *tenantdb.Tx) error) error {
	const attempts = 4
	for i := 1; ; i++ {
		err := impersonation.RequestTx(ctx, s.db, fn)
		if i == attempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

// retryable reports whether err aborted a transaction that may succeed if
// run again: deadlock_detected or serialization_failure.
func retryable(err error) bool {
	code, _ := constraint(err)
	return code == "40P01" || code == "40001"
}

// record records a domain event (such as "patient.view" or
// "invoice.issue") of the record resourceType / id in tx, through
// impersonation.Record: for staff and patients it joins the clinic's
// audit chain; in a platform admin's impersonated request it names the
// record on the request's one event, which the impersonation middleware
// writes. Events name the resource by id only, never its content.
func record(ctx context.Context, tx *tenantdb.Tx, action, resourceType string, id tenancy.ID) error {
	return impersonation.Record(ctx, tx, audit.Event{
		Action: action, ResourceType: resourceType, ResourceID: id.String(), Outcome: audit.Success,
	})
}

// viewRecord reads one record with query, which takes the clinic as $1 and
// the record's id as $2, in a transaction that records the opening as
// action in the clinic's audit log: the shape of every "open one record"
// of the store. No row is ErrNotFound, for another clinic's record as for
// a missing one.
func viewRecord[T any](ctx context.Context, s *Store, op, query string, scan func(pgx.Row) (T, error),
	action, resourceType string, clinic, id tenancy.ID) (T, error) {
	var v T
	err := s.tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		if v, err = scan(tx.QueryRow(ctx, query, clinic, id)); err != nil {
			return notFound(err)
		}
		return record(ctx, tx, action, resourceType, id)
	})
	return v, wrap(op, err)
}

// AuditEvent is one entry of a clinic's audit log as the owner sees it.
type AuditEvent struct {
	Seq          int64       `json:"seq"`
	ID           tenancy.ID  `json:"id"`
	ClinicID     tenancy.ID  `json:"clinic_id"`
	OccurredAt   string      `json:"occurred_at"`
	ActorKind    string      `json:"actor_kind"`
	Actor        *tenancy.ID `json:"actor"`
	Impersonator *tenancy.ID `json:"impersonator"`
	Grant        *tenancy.ID `json:"grant_id"`
	Action       string      `json:"action"`
	ResourceType string      `json:"resource_type"`
	ResourceID   string      `json:"resource_id"`
	Outcome      string      `json:"outcome"`
	Reason       string      `json:"reason"`
	RequestID    string      `json:"request_id"`
	Hash         string      `json:"hash"`
}

// AuditLog returns a page of the caller's clinic's audit log after seq.
// Row-level security shows it only to staff holding the "owner" role.
func (s *Store) AuditLog(ctx context.Context, after int64, limit int) ([]AuditEvent, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	events, err := audit.List(ctx, s.db, p.Tenant, after, limit)
	if err != nil {
		return nil, wrap("audit log", err)
	}
	out := make([]AuditEvent, len(events))
	opt := func(id tenancy.ID) *tenancy.ID {
		if id.IsZero() {
			return nil
		}
		return &id
	}
	for i, e := range events {
		out[i] = AuditEvent{
			Seq: e.Seq, ID: e.ID, ClinicID: e.Tenant, OccurredAt: e.OccurredAt.UTC().Format("2006-01-02T15:04:05.000000Z"),
			ActorKind: e.ActorKind.String(), Actor: opt(e.Actor), Impersonator: opt(e.Impersonator), Grant: opt(e.Grant),
			Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID, Outcome: e.Outcome.String(),
			Reason: e.Reason, RequestID: e.RequestID, Hash: e.Hash.String(),
		}
	}
	return out, nil
}

// AuditReceipt reads the caller's clinic's audit chain head, unsigned,
// for a receipt (audit.ReadReceipt). Row-level security shows the events
// it checks the head against only to staff holding the "owner" role;
// anyone else, and a clinic without events, gets audit.ErrNoChain.
func (s *Store) AuditReceipt(ctx context.Context) (audit.Receipt, error) {
	p, err := tenant(ctx)
	if err != nil {
		return audit.Receipt{}, err
	}
	var r audit.Receipt
	err = s.db.Tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		r, err = audit.ReadReceipt(ctx, tx, p.Tenant)
		return err
	})
	return r, wrap("audit receipt", err)
}
