package store

import (
	"cmp"
	"context"
	"time"

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

// AuditFilter narrows the owner's audit log ([Store.AuditEntries]).
type AuditFilter struct {
	// Actor keeps the entries of one person: a staff member's id, or a
	// platform admin's (who acted under an impersonation). Zero: everyone.
	Actor tenancy.ID
	// Impersonated keeps only the entries made under an impersonation
	// grant: what platform admins did in the clinic.
	Impersonated bool
	// Actions keeps the entries of these actions ("patient.view",
	// "GET /patients/{id}"); empty with Routes empty: every action.
	Actions []string
	// Routes keeps, as well as Actions, the impersonated requests
	// (recorded as their method and route, "GET /api/v1/patients/{id}")
	// to these paths or below them: "/api/v1/patients" keeps that one and
	// "POST /api/v1/patients", not "GET /api/v1/patientsx".
	Routes []string
	// From and To keep the entries recorded at or after From and before
	// To; a zero time is no bound.
	From, To time.Time
	// Cursor is the cursor of the page to read, as the previous page
	// returned it; "" for the first page.
	Cursor string
	// Limit is the number of entries a page holds at most (a default
	// when 0, capped at the store's largest page).
	Limit int
}

// AuditEntry is one entry of the owner's audit log with the names its
// reader may see. The audit rows hold ids only: the names are joined in
// here, at read time, from the clinic's own tables, so a name changed or
// a patient erased changes what is shown, never the chain.
type AuditEntry struct {
	AuditEvent
	// At is OccurredAt as a time.
	At time.Time
	// ActorName is the name of the staff member (or patient) who acted,
	// "" when the actor is not one the clinic's tables name: a platform
	// admin, or someone no longer on them.
	ActorName string
	// ImpersonatorName is the name of the platform admin who acted under
	// an impersonation grant, from auth.clinic_impersonators (which names
	// only the admins who have held a grant at the clinic); "" when the
	// entry is no impersonation or the name does not resolve.
	ImpersonatorName string
	// PatientID and PatientName name the patient whose record the entry
	// is about (a chart, or an appointment, invoice, payment or
	// prescription of theirs), when the reader may see it; nil and ""
	// otherwise.
	PatientID   *tenancy.ID
	PatientName string
	// StaffName is the name of the staff member whose account the entry
	// is about (resource type "staff"), "" when it is about no staff
	// account or the account is no longer on the clinic's tables.
	StaffName string
}

// patientOf is, for each kind of record an audit entry may name, the
// table whose patient_id says whose record it is.
var patientOf = map[string]string{
	"appointment": "appointments", "invoice": "invoices", "payment": "payments", "prescription": "prescriptions",
}

// AuditEntries returns a page of the caller's clinic's audit log, newest
// first, narrowed by f, with the names of the people and patients it
// names (AuditEntry). Row-level security shows the log only to staff
// holding the "owner" role: anyone else gets an empty page. Pages are
// keyset pages on the chain's seq, with the cursor of the next page ("" at
// the end).
func (s *Store) AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, string, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, "", err
	}
	var after struct{ S int64 }
	if err := decodeCursor(f.Cursor, &after); err != nil {
		return nil, "", err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return nil, "", invalid("to", "the end of the date range must be after its start")
	}
	limit := pageLimit(f.Limit)
	args := []any{p.Tenant}
	where := ""
	if !f.Actor.IsZero() {
		args = append(args, f.Actor)
		where += ` and (actor_id = $` + itoa(len(args)) + ` or impersonator_id = $` + itoa(len(args)) + `)`
	}
	if f.Impersonated {
		where += ` and impersonation_grant_id is not null`
	}
	if len(f.Actions) > 0 || len(f.Routes) > 0 {
		below := make([]string, len(f.Routes))
		for i, r := range f.Routes {
			below[i] = escapeLike(r) + "/%"
		}
		args = append(args, f.Actions, f.Routes, below)
		n := len(args)
		path := `substr(action, strpos(action, ' ') + 1)`
		where += ` and (action = any($` + itoa(n-2) + `::text[]) or (strpos(action, ' ') > 0 and (` + path + ` = any($` + itoa(n-1) +
			`::text[]) or ` + path + ` like any($` + itoa(n) + `::text[]))))`
	}
	if !f.From.IsZero() {
		args = append(args, f.From)
		where += ` and occurred_at >= $` + itoa(len(args))
	}
	if !f.To.IsZero() {
		args = append(args, f.To)
		where += ` and occurred_at < $` + itoa(len(args))
	}
	ks := keyset{cols: []string{"seq"}, desc: true}
	if after.S > 0 {
		var cond string
		cond, args = ks.after(args, after.S)
		where += cond
	}
	var list []AuditEntry
	var next string
	err = s.db.Tx(ctx, func(tx *tenantdb.Tx) error {
		rows, err := tx.Query(ctx, `select seq, id, occurred_at, actor_kind, actor_id, impersonation_grant_id, impersonator_id,
			action, resource_type, resource_id, outcome, reason, request_id from audit.events where tenant_id = $1`+where+
			` order by `+ks.orderBy()+limitSQL(limit), args...)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
			var e AuditEntry
			err := r.Scan(&e.Seq, &e.ID, &e.At, &e.ActorKind, &e.Actor, &e.Grant, &e.Impersonator,
				&e.Action, &e.ResourceType, &e.ResourceID, &e.Outcome, &e.Reason, &e.RequestID)
			e.At = e.At.UTC()
			e.ClinicID, e.OccurredAt = p.Tenant, e.At.Format("2006-01-02T15:04:05.000000Z")
			return e, err
		})
		if err != nil {
			return err
		}
		list, next = nextPage(list, limit, func(last AuditEntry) any {
			after.S = last.Seq
			return after
		})
		return joinAuditNames(ctx, tx, p.Tenant, list)
	})
	if err != nil {
		return nil, "", wrap("audit log", err)
	}
	return list, next, nil
}

// joinAuditNames fills the names of a page of audit entries from the
// clinic's staff and patients (the actor's, and the staff member's whose
// account an entry is about), and the patient of each record named; and
// the names of the platform admins who impersonated the clinic, from
// auth.clinic_impersonators.
func joinAuditNames(ctx context.Context, tx *tenantdb.Tx, clinic tenancy.ID, list []AuditEntry) error {
	people := map[tenancy.ID]bool{}
	records := map[string][]tenancy.ID{}
	impersonated := false
	for i := range list {
		if e := &list[i]; e.Actor != nil {
			people[*e.Actor] = true
		}
		impersonated = impersonated || list[i].Impersonator != nil
		id, err := tenancy.ParseID(list[i].ResourceID)
		if err != nil {
			continue
		}
		switch t := list[i].ResourceType; {
		case t == "patient" || t == "staff":
			people[id] = true
		case patientOf[t] != "":
			records[t] = append(records[t], id)
		}
	}
	// The patient of each appointment, invoice, payment or prescription.
	patientOfRecord := map[string]map[tenancy.ID]tenancy.ID{}
	for kind, ids := range records {
		m := map[tenancy.ID]tenancy.ID{}
		rows, err := tx.Query(ctx, `select id, patient_id from `+patientOf[kind]+` where clinic_id = $1 and id = any($2::uuid[])`, clinic, idTexts(ids))
		if err != nil {
			return err
		}
		var id, patient tenancy.ID
		if _, err := pgx.ForEachRow(rows, []any{&id, &patient}, func() error { m[id] = patient; people[patient] = true; return nil }); err != nil {
			return err
		}
		patientOfRecord[kind] = m
	}
	ids := make([]tenancy.ID, 0, len(people))
	for id := range people {
		ids = append(ids, id)
	}
	staff, patients := map[tenancy.ID]string{}, map[tenancy.ID]string{}
	var id tenancy.ID
	var name, given, family string
	rows, err := tx.Query(ctx, `select id, name from staff where clinic_id = $1 and id = any($2::uuid[])`, clinic, idTexts(ids))
	if err != nil {
		return err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { staff[id] = name; return nil }); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `select id, given_name, family_name from patients where clinic_id = $1 and id = any($2::uuid[])`, clinic, idTexts(ids))
	if err != nil {
		return err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &given, &family}, func() error { patients[id] = given + " " + family; return nil }); err != nil {
		return err
	}
	// The admins' names: the function returns only those who have held a
	// grant at the transaction's clinic, and only to its owners.
	admins := map[tenancy.ID]string{}
	if impersonated {
		rows, err := tx.Query(ctx, `select admin_id, name from auth.clinic_impersonators()`)
		if err != nil {
			return err
		}
		if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { admins[id] = name; return nil }); err != nil {
			return err
		}
	}
	for i := range list {
		e := &list[i]
		if e.Impersonator != nil {
			e.ImpersonatorName = admins[*e.Impersonator]
		}
		if e.Actor != nil && e.Impersonator == nil {
			e.ActorName = cmp.Or(staff[*e.Actor], patients[*e.Actor])
		}
		rid, err := tenancy.ParseID(e.ResourceID)
		if err != nil {
			continue
		}
		if e.ResourceType == "staff" {
			e.StaffName = staff[rid]
		}
		patient, ok := rid, e.ResourceType == "patient"
		if m := patientOfRecord[e.ResourceType]; m != nil {
			patient, ok = m[rid]
		}
		if n := patients[patient]; ok && n != "" {
			e.PatientID, e.PatientName = &patient, n
		}
	}
	return nil
}
