package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
)

func TestVerifyFindsTampering(t *testing.T) {
	f := setup(t)
	type chain struct {
		clinic tenancy.ID
		events []audit.Event
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, c chain)
		want   func(c chain) *audit.Problem
	}{
		{
			name:   "intact",
			tamper: func(*testing.T, chain) {},
			want:   func(chain) *audit.Problem { return nil },
		},
		{
			name: "edited",
			tamper: func(t *testing.T, c chain) {
				f.tamper(t, `update audit.events set resource_id = 'someone else' where tenant_id = $1 and seq = 3`, c.clinic)
			},
			want: func(c chain) *audit.Problem {
				return &audit.Problem{Kind: audit.Edited, Tenant: c.clinic, Seq: 3, Event: c.events[2].ID}
			},
		},
		{
			name: "edited with a recomputed hash",
			tamper: func(t *testing.T, c chain) {
				e := c.events[1]
				e.ResourceID = "someone else"
				h := e.Sum()
				f.tamper(t, `update audit.events set resource_id = $2, hash = $3 where tenant_id = $1 and seq = 2`, c.clinic, e.ResourceID, h[:])
			},
			want: func(c chain) *audit.Problem {
				return &audit.Problem{Kind: audit.Edited, Tenant: c.clinic, Seq: 2, Event: c.events[1].ID}
			},
		},
		{
			name: "deleted",
			tamper: func(t *testing.T, c chain) {
				f.tamper(t, `delete from audit.events where tenant_id = $1 and seq = 3`, c.clinic)
			},
			want: func(c chain) *audit.Problem {
				return &audit.Problem{Kind: audit.Deleted, Tenant: c.clinic, Seq: 3, Event: c.events[3].ID}
			},
		},
		{
			name: "deleted at the end",
			tamper: func(t *testing.T, c chain) {
				f.tamper(t, `delete from audit.events where tenant_id = $1 and seq = 5`, c.clinic)
			},
			want: func(c chain) *audit.Problem {
				return &audit.Problem{Kind: audit.Deleted, Tenant: c.clinic, Seq: 5}
			},
		},
		{
			name: "inserted at the end",
			tamper: func(t *testing.T, c chain) {
				forged := c.events[4]
				forged.ID, forged.Seq, forged.PrevHash = tenancy.NewID(), 6, c.events[4].Hash
				forged.Hash = forged.Sum()
				insertEvent(t, f, forged)
			},
			want: func(c chain) *audit.Problem {
				return &audit.Problem{Kind: audit.Inserted, Tenant: c.clinic, Seq: 6, Event: forgedID(t, f, c.clinic, 6)}
			},
		},
		{
			name: "inserted in the middle, later events renumbered",
			tamper: func(t *testing.T, c chain) {
				f.tamper(t, `update audit.events set seq = seq + 100 where tenant_id = $1 and seq >= 3`, c.clinic)
				f.tamper(t, `update audit.events set seq = seq - 99 where tenant_id = $1 and seq > 100`, c.clinic)
				forged := c.events[2]
				forged.ID, forged.ResourceID = tenancy.NewID(), "forged"
				forged.Hash = forged.Sum() // seq 3, linked to event 2: a perfect forgery
				insertEvent(t, f, forged)
			},
			want: func(c chain) *audit.Problem {
				return &audit.Problem{Kind: audit.Inserted, Tenant: c.clinic, Seq: 3, Event: forgedID(t, f, c.clinic, 3)}
			},
		},
		{
			name: "reordered",
			tamper: func(t *testing.T, c chain) {
				f.tamper(t, `update audit.events set seq = 1002 where tenant_id = $1 and seq = 2`, c.clinic)
				f.tamper(t, `update audit.events set seq = 2 where tenant_id = $1 and seq = 4`, c.clinic)
				f.tamper(t, `update audit.events set seq = 4 where tenant_id = $1 and seq = 1002`, c.clinic)
			},
			want: func(c chain) *audit.Problem {
				return &audit.Problem{Kind: audit.Reordered, Tenant: c.clinic, Seq: 2, Event: c.events[3].ID, WrittenSeq: 4}
			},
		},
		{
			name: "head rewound",
			tamper: func(t *testing.T, c chain) {
				f.tamper(t, `update audit.chain_heads set seq = 4, hash = $2 where tenant_id = $1`, c.clinic, c.events[3].Hash[:])
			},
			want: func(c chain) *audit.Problem {
				return &audit.Problem{Kind: audit.Inserted, Tenant: c.clinic, Seq: 5, Event: c.events[4].ID}
			},
		},
		{
			name: "head hash rewritten",
			tamper: func(t *testing.T, c chain) {
				f.tamper(t, `update audit.chain_heads set hash = $2 where tenant_id = $1`, c.clinic, c.events[3].Hash[:])
			},
			want: func(c chain) *audit.Problem {
				return &audit.Problem{Kind: audit.HeadMismatch, Tenant: c.clinic, Seq: 5, Event: c.events[4].ID}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clinic := tenancy.NewID()
			c := chain{clinic: clinic, events: f.record(t, staff(clinic, ownerA, "owner"), 5, "patient.read")}
			if _, err := audit.Verify(context.Background(), f.platform, clinic); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			tt.tamper(t, c)
			rep, err := audit.Verify(context.Background(), f.platform, clinic)
			want := tt.want(c)
			if diff := cmp.Diff(want, rep.Problem); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
			if want == nil {
				if err != nil {
					t.Errorf("Verify: %v, want nil", err)
				}
				return
			}
			var p *audit.Problem
			if !errors.Is(err, audit.ErrBroken) || !errors.As(err, &p) || p != rep.Problem {
				t.Errorf("Verify error %v, want the report's *Problem wrapping ErrBroken", err)
			}
		})
	}
}

func insertEvent(t *testing.T, f *fixture, e audit.Event) {
	t.Helper()
	f.tamper(t, `insert into audit.events (tenant_id, seq, id, version, occurred_at, actor_kind, actor_id, action,
		resource_type, resource_id, outcome, reason, request_id, prev_hash, hash)
		values ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		e.Tenant, e.Seq, e.ID, e.OccurredAt, e.ActorKind.String(), e.Actor, e.Action, e.ResourceType, e.ResourceID,
		e.Outcome.String(), e.Reason, e.RequestID, e.PrevHash[:], e.Hash[:])
}

func forgedID(t *testing.T, f *fixture, clinic tenancy.ID, seq int64) tenancy.ID {
	t.Helper()
	var id tenancy.ID
	if err := f.db.Conn(t, 0).QueryRow(context.Background(),
		`select id from audit.events where tenant_id = $1 and seq = $2 and resource_id in ('forged', 'p4')`, clinic, seq).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestVerifyAll(t *testing.T) {
	f := setup(t)
	f.record(t, staff(clinicA, ownerA, "owner"), 3, "patient.read")
	f.record(t, staff(clinicB, ownerB, "owner"), 2, "patient.read")
	reports, err := audit.VerifyAll(context.Background(), f.platform)
	if err != nil {
		t.Fatal(err)
	}
	got := map[tenancy.ID]int64{}
	for _, r := range reports {
		got[r.Tenant] = r.Events
	}
	want := map[tenancy.ID]int64{{}: 0, clinicA: 3, clinicB: 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events per chain (-want +got):\n%s", diff)
	}
	f.tamper(t, `delete from audit.events where tenant_id = $1 and seq = 1`, clinicB)
	if _, err := audit.VerifyAll(context.Background(), f.platform); !errors.Is(err, audit.ErrBroken) {
		t.Errorf("VerifyAll after a deletion: %v, want ErrBroken", err)
	}
}
