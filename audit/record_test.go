package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestRecordRefusesBadEvents(t *testing.T) {
	f := setup(t)
	ctx := staff(clinicA, ownerA, "owner")
	tests := []struct {
		name string
		e    audit.Event
		want error
	}{
		{"no action", audit.Event{Outcome: audit.Success}, audit.ErrInvalidEvent},
		{"upper-case action", audit.Event{Action: "Patient.Read", Outcome: audit.Success}, audit.ErrInvalidEvent},
		{"no outcome", audit.Event{Action: "patient.read"}, audit.ErrInvalidEvent},
		{"control character in reason", audit.Event{Action: "patient.read", Outcome: audit.Success, Reason: "a\nb"}, audit.ErrInvalidEvent},
		{"long reason", audit.Event{Action: "patient.read", Outcome: audit.Success, Reason: string(make([]byte, 501))}, audit.ErrInvalidEvent},
		{"another clinic", audit.Event{Tenant: clinicB, Action: "patient.read", Outcome: audit.Success}, audit.ErrTenantMismatch},
		{"request action, lower-case method", audit.Event{Action: "get /notes/{id}", Outcome: audit.Success}, audit.ErrInvalidEvent},
		{"request action with a space in the route", audit.Event{Action: "GET /notes/a b", Outcome: audit.Success}, audit.ErrInvalidEvent},
		{"request action, no route", audit.Event{Action: "GET ", Outcome: audit.Success}, audit.ErrInvalidEvent},
		{"request action", audit.Event{Action: "GET /notes/{id}", Outcome: audit.Success}, nil},
	}
	for _, r := range recorders {
		for _, tt := range tests {
			t.Run(r.name+"/"+tt.name, func(t *testing.T) {
				err := f.app.Tx(ctx, func(tx *tenantdb.Tx) error { return r.record(ctx, tx, tt.e) })
				if !errors.Is(err, tt.want) {
					t.Errorf("%s: %v, want %v", r.name, err, tt.want)
				}
			})
		}
	}
}

// recorders are the two ways to record an event in a tenant transaction:
// at once, and with the transaction's COMMIT.
var recorders = []struct {
	name   string
	record func(ctx context.Context, tx *tenantdb.Tx, e audit.Event) error
}{
	{"Record", func(ctx context.Context, tx *tenantdb.Tx, e audit.Event) error {
		_, err := audit.Record(ctx, tx, e)
		return err
	}},
	{"RecordAtCommit", func(ctx context.Context, tx *tenantdb.Tx, e audit.Event) error {
		return audit.RecordAtCommit(ctx, tx, e)
	}},
}

func TestRecordAtCommitWritesWithTheCommit(t *testing.T) {
	f := setup(t)
	grant := f.grant(t, clinicA, admin)
	ctx := as(tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Tenant: clinicA, Subject: admin, RequestID: "r-9",
		Impersonation: &tenancy.Impersonation{GrantID: grant, Admin: admin}})
	first := f.record(t, staff(clinicA, ownerA, "owner"), 1, "patient.read")[0]
	err := f.app.Tx(ctx, func(tx *tenantdb.Tx) error {
		for _, action := range []string{"note.create", "note.update"} {
			if err := audit.RecordAtCommit(ctx, tx, audit.Event{Action: action, Outcome: audit.Success,
				ActorKind: tenancy.KindSystem, Actor: ownerA}); err != nil { // actor ignored: the context names it
				return err
			}
		}
		if n := f.adminCount(t, clinicA, ""); n != 1 {
			t.Errorf("before the commit: %d events, want 1 (queued ones wait for it)", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := audit.List(context.Background(), f.platformQuerier(t), clinicA, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 {
		t.Fatalf("%d events after the commit, want 3", len(stored))
	}
	for i, e := range stored[1:] {
		want := audit.Event{Tenant: clinicA, Seq: int64(i + 2), Version: 1, ActorKind: tenancy.Kind("platform_admin"), Actor: admin,
			Grant: grant, Impersonator: admin, Action: []string{"note.create", "note.update"}[i], Outcome: audit.Success,
			RequestID: "r-9", PrevHash: stored[i].Hash}
		got := e
		got.ID, got.OccurredAt, got.Hash = tenancy.ID{}, time.Time{}, audit.Hash{}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("event %d (-want +got):\n%s", i+2, diff)
		}
		if e.Hash != e.Sum() {
			t.Errorf("event %d: stored hash is not its encoding's", i+2)
		}
	}
	if stored[0] != first {
		t.Errorf("the first event changed: %+v, was %+v", stored[0], first)
	}
	if _, err := audit.Verify(context.Background(), f.platform, clinicA); err != nil {
		t.Error(err)
	}

	// Work that fails sends nothing that was queued.
	boom := errors.New("boom")
	err = f.app.Tx(ctx, func(tx *tenantdb.Tx) error {
		if err := audit.RecordAtCommit(ctx, tx, audit.Event{Action: "note.delete", Outcome: audit.Success}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || f.adminCount(t, clinicA, "note.delete") != 0 {
		t.Errorf("failed work: %v and %d queued events written, want boom and none", err, f.adminCount(t, clinicA, "note.delete"))
	}
}

func TestRecordSetsActorFromContext(t *testing.T) {
	f := setup(t)
	grant := f.grant(t, clinicA, admin)
	ctx := as(tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Tenant: clinicA, Subject: admin, RequestID: "r-9",
		Impersonation: &tenancy.Impersonation{GrantID: grant, Admin: admin}})
	var got audit.Event
	err := f.app.Tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		got, err = audit.Record(ctx, tx, audit.Event{Action: "patient.read", Outcome: audit.Success,
			ActorKind: tenancy.KindSystem, Actor: ownerA}) // ignored: the context names the actor
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := audit.Event{Tenant: clinicA, Seq: 1, Version: 1, ActorKind: tenancy.Kind("platform_admin"), Actor: admin,
		Grant: grant, Impersonator: admin, Action: "patient.read", Outcome: audit.Success, RequestID: "r-9"}
	ignore := func(e audit.Event) audit.Event {
		e.ID, e.OccurredAt, e.Hash = tenancy.ID{}, time.Time{}, audit.Hash{}
		return e
	}
	if diff := cmp.Diff(want, ignore(got)); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	stored, err := audit.List(context.Background(), f.platformQuerier(t), clinicA, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]audit.Event{got}, stored); diff != "" {
		t.Errorf("stored event differs from the returned one (-returned +stored):\n%s", diff)
	}
}

// platformQuerier is a transaction as the platform role that declares
// system work, rolled back when the test ends.
func (f *fixture) platformQuerier(t *testing.T) audit.Querier {
	t.Helper()
	tx, err := f.platform.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(context.Background(), `select set_config('tenancy.principal', 'system|||||', true)`); err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestOwnerAloneReadsTheClinicsEvents(t *testing.T) {
	f := setup(t)
	f.record(t, staff(clinicA, dentistA, "dentist"), 2, "patient.read")
	f.record(t, staff(clinicB, ownerB, "owner"), 3, "patient.read")
	f.record(t, as(tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Tenant: clinicA, Subject: admin,
		Impersonation: &tenancy.Impersonation{GrantID: f.grant(t, clinicA, admin), Admin: admin}}), 1, "note.read")
	// The data the readers below must or must not see exists.
	if a, b := f.adminCount(t, clinicA, ""), f.adminCount(t, clinicB, ""); a != 3 || b != 3 {
		t.Fatalf("fixture: %d events at A, %d at B, want 3 and 3", a, b)
	}
	tests := []struct {
		name    string
		ctx     context.Context
		clinic  tenancy.ID
		actions []string
	}{
		{"A's owner reads A's events and the impersonation", staff(clinicA, ownerA, "owner"), clinicA,
			[]string{"patient.read", "patient.read", "note.read"}},
		{"A's dentist reads none", staff(clinicA, dentistA, "dentist"), clinicA, nil},
		{"A's patient reads none", as(tenancy.Principal{Kind: tenancy.Kind("patient"), Tenant: clinicA, Subject: patientA}), clinicA, nil},
		{"A's patient with an owner role reads none", as(tenancy.Principal{Kind: tenancy.Kind("patient"), Tenant: clinicA, Subject: patientA, Roles: []string{"owner"}}), clinicA, nil},
		{"an impersonating admin reads none", as(tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Tenant: clinicA, Subject: admin,
			Roles: []string{"owner"}, Impersonation: &tenancy.Impersonation{GrantID: tenancy.NewID(), Admin: admin}}), clinicA, nil},
		{"B's owner reads none of A's", staff(clinicB, ownerB, "owner"), clinicA, nil},
		{"B's owner reads B's", staff(clinicB, ownerB, "owner"), clinicB, []string{"patient.read", "patient.read", "patient.read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := f.app.Tx(tt.ctx, func(tx *tenantdb.Tx) error {
				events, err := audit.List(tt.ctx, tx, tt.clinic, 0, 100)
				for _, e := range events {
					got = append(got, e.Action)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.actions, got); diff != "" {
				t.Errorf("actions read (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("the platform role reads both", func(t *testing.T) {
		q := f.platformQuerier(t)
		for clinic, want := range map[tenancy.ID]int{clinicA: 3, clinicB: 3} {
			events, err := audit.List(context.Background(), q, clinic, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != want {
				t.Errorf("clinic %s: %d events, want %d", clinic, len(events), want)
			}
		}
	})
}

func TestConcurrentWritersKeepEveryChainValid(t *testing.T) {
	for _, r := range recorders {
		t.Run(r.name, func(t *testing.T) { concurrentWriters(t, r.record) })
	}
}

func concurrentWriters(t *testing.T, record func(context.Context, *tenantdb.Tx, audit.Event) error) {
	f := setup(t)
	const writers, each = 8, 5
	others := make([]tenancy.ID, writers)
	for i := range others {
		others[i] = tenancy.NewID()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for i := range writers {
		for _, clinic := range []tenancy.ID{clinicA, others[i]} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := staff(clinic, tenancy.NewID(), "dentist")
				for j := range each {
					err := f.app.Tx(ctx, func(tx *tenantdb.Tx) error {
						return record(ctx, tx, audit.Event{Action: "patient.read", ResourceID: fmt.Sprint(i, "-", j), Outcome: audit.Success})
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	reports, err := audit.VerifyAll(context.Background(), f.platform)
	if err != nil {
		t.Fatal(err)
	}
	got := map[tenancy.ID]int64{}
	for _, r := range reports {
		got[r.Tenant] = r.Events
	}
	want := map[tenancy.ID]int64{{}: 0, clinicA: writers * each}
	for _, c := range others {
		want[c] = each
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events per chain (-want +got):\n%s", diff)
	}
}

func TestWritersOfOneClinicSerializeAndOthersDoNotWait(t *testing.T) {
	f := setup(t)
	ctxA, ctxB := staff(clinicA, ownerA, "owner"), staff(clinicB, ownerB, "owner")
	f.record(t, ctxA, 1, "patient.read")
	f.record(t, ctxB, 1, "patient.read")

	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- f.app.Tx(ctxA, func(tx *tenantdb.Tx) error {
			if _, err := audit.Record(ctxA, tx, audit.Event{Action: "patient.read", Outcome: audit.Success}); err != nil {
				return err
			}
			close(held) // A's head is locked until this transaction ends
			<-release
			return nil
		})
	}()
	<-held
	try := func(ctx context.Context) error {
		return f.app.Tx(ctx, func(tx *tenantdb.Tx) error {
			if _, err := tx.Exec(ctx, `set local lock_timeout = '300ms'`); err != nil {
				return err
			}
			_, err := audit.Record(ctx, tx, audit.Event{Action: "patient.read", Outcome: audit.Success})
			return err
		})
	}
	if err := try(ctxB); err != nil {
		t.Errorf("clinic B while A's head is held: %v, want nil", err)
	}
	if err := try(ctxA); sqlState(err) != "55P03" {
		t.Errorf("clinic A while A's head is held: %v, want lock_not_available (55P03)", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := try(ctxA); err != nil {
		t.Errorf("clinic A after release: %v", err)
	}
	if _, err := audit.VerifyAll(context.Background(), f.platform); err != nil {
		t.Error(err)
	}
}

func TestFailedAuditInsertRollsBackTheAction(t *testing.T) {
	for _, r := range recorders {
		t.Run(r.name, func(t *testing.T) {
			f := setup(t)
			ctx := staff(clinicA, ownerA, "owner")
			// Forced failure: the database refuses this one action's event.
			f.db.Exec(t, pgtest.Admin, `alter table audit.events add constraint forced_failure check (action <> 'note.delete_all')`)
			note := tenancy.NewID()
			write := func(action string) error {
				return f.app.Tx(ctx, func(tx *tenantdb.Tx) error {
					if _, err := tx.Exec(ctx, `insert into public.notes (tenant_id, id, body) values ($1, $2, 'x')`, clinicA, note); err != nil {
						return err
					}
					return r.record(ctx, tx, audit.Event{Action: action, ResourceType: "note", ResourceID: note.String(), Outcome: audit.Success})
				})
			}
			if err := write("note.delete_all"); sqlState(err) != "23514" {
				t.Fatalf("action with a failing audit insert: %v, want check_violation (23514)", err)
			}
			var notes int
			if err := f.db.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select count(*) from public.notes`).Scan(&notes); err != nil {
				t.Fatal(err)
			}
			if notes != 0 || f.adminCount(t, clinicA, "") != 0 {
				t.Errorf("after the failed audit insert: %d notes and %d events, want none", notes, f.adminCount(t, clinicA, ""))
			}
			if err := write("note.create"); err != nil {
				t.Fatalf("the same action with an audit insert that succeeds: %v", err)
			}
			if err := f.db.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select count(*) from public.notes`).Scan(&notes); err != nil {
				t.Fatal(err)
			}
			if notes != 1 || f.adminCount(t, clinicA, "note.create") != 1 {
				t.Errorf("after the audited action: %d notes and %d events, want 1 and 1", notes, f.adminCount(t, clinicA, "note.create"))
			}
			if _, err := audit.Verify(context.Background(), f.platform, clinicA); err != nil {
				t.Error(err)
			}
		})
	}
}
