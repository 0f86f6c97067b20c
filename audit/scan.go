package audit

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
)

// eventColumns are the columns scanEvent reads, in order.
const eventColumns = `tenant_id, seq, id, version, occurred_at, actor_kind, actor_id, impersonation_grant_id,
    impersonator_id, action, resource_type, resource_id, outcome, reason, request_id, prev_hash, hash`

// scanEvent reads one row of eventColumns. Malformed stored values (an
// unknown kind, a short hash) are kept as far as possible, so that Verify
// reports the row as tampered with rather than failing to read it.
func scanEvent(row pgx.CollectableRow) (Event, error) {
	var (
		e                             Event
		tenant, id, actor, grant, imp *tenancy.ID // NULL is nil; a key of any type
		kind, outcome                 string
		prev, hash                    []byte
	)
	if err := row.Scan(&tenant, &e.Seq, &id, &e.Version, &e.OccurredAt, &kind, &actor, &grant, &imp,
		&e.Action, &e.ResourceType, &e.ResourceID, &outcome, &e.Reason, &e.RequestID, &prev, &hash); err != nil {
		return Event{}, fmt.Errorf("audit: reading an event: %w", err)
	}
	e.Tenant, e.ID, e.Actor, e.Grant, e.Impersonator = deref(tenant), deref(id), deref(actor), deref(grant), deref(imp)
	e.ActorKind, _ = tenancy.ParseKind(kind)
	e.Outcome, _ = ParseOutcome(outcome)
	e.OccurredAt = e.OccurredAt.UTC()
	copy(e.PrevHash[:], prev)
	copy(e.Hash[:], hash)
	if len(prev) != len(e.PrevHash) || len(hash) != len(e.Hash) {
		e.Version = -1 // cannot verify: reported as edited
	}
	return e, nil
}

func deref(id *tenancy.ID) tenancy.ID {
	if id == nil {
		return tenancy.ID{}
	}
	return *id
}
