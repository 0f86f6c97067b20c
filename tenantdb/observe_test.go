package tenantdb_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// events records what a Pool reports to Config.Observe.
type events struct {
	mu  sync.Mutex
	all []tenantdb.Event
}

func (e *events) observe(ev tenantdb.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) take() []tenantdb.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.all
	e.all = nil
	return out
}

// seen is an event without its time and error, for comparison.
type seen struct {
	Kind       tenantdb.EventKind
	Tenant     tenancy.ID
	Statements int
	Rule       sqlguard.Rule
	Err        string
}

func summary(t *testing.T, evs []tenantdb.Event) []seen {
	t.Helper()
	var out []seen
	for _, ev := range evs {
		s := seen{Kind: ev.Kind, Tenant: ev.Tenant, Statements: ev.Statements}
		switch ev.Kind {
		case tenantdb.EventStatement, tenantdb.EventTx:
			if ev.Duration <= 0 || ev.Err != nil {
				t.Errorf("%s event: duration %v, error %v; want a duration and no error", ev.Kind, ev.Duration, ev.Err)
			}
		case tenantdb.EventRefused:
			var refusal *sqlguard.RefusalError
			if errors.As(ev.Err, &refusal) {
				s.Rule = refusal.Rule
			}
		case tenantdb.EventShareWait:
			switch {
			case ev.Err == nil:
				s.Err = "turn"
			case errors.Is(ev.Err, tenantdb.ErrBusy):
				s.Err = "busy"
			default:
				s.Err = ev.Err.Error()
			}
			if ev.Duration <= 0 {
				t.Errorf("share wait of %v", ev.Duration)
			}
		}
		out = append(out, s)
	}
	return out
}

// TestObserve: each piece of a tenant's work is reported once, when it
// gives its connection back, with the statements it sent (not the SDK's
// own), a guard refusal with its rule, and a wait for the share with how
// it ended.
func TestObserve(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 3, "")
	var rec events
	var wait atomic.Int64 // the share's Wait, which the test changes
	wait.Store(int64(30 * time.Millisecond))
	p := newPool(t, pool, tenantdb.Config{Guard: realGuard(t, db), Observe: rec.observe,
		ShareFor: func(tenancy.ID) tenantdb.Share { return tenantdb.Share{Conns: 1, Wait: time.Duration(wait.Load())} }})
	ctxA, ctxB := staffCtx(clinicA, staffA), staffCtx(clinicB, staffB)
	var n int

	if err := p.QueryRow(ctxA, "select count(*) from patients where clinic_id = $1", clinicA).Scan(&n); err != nil || n != 5 {
		t.Fatalf("A's count: %d, %v", n, err)
	}
	if _, err := p.Exec(ctxB, "update patients set name = name where clinic_id = $1", clinicB); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	b.Queue("select count(*) from patients where clinic_id = $1", clinicA)
	b.Queue("select count(*) from notes where clinic_id = $1", clinicA)
	if err := p.SendBatch(ctxA, b).Close(); err != nil {
		t.Fatal(err)
	}
	err := p.Tx(ctxA, func(tx *tenantdb.Tx) error {
		if err := tx.QueryRow(ctxA, "select count(*) from patients where clinic_id = $1", clinicA).Scan(&n); err != nil {
			return err
		}
		if _, err := tx.Exec(ctxA, "select count(*) from patients"); err == nil { // refused: unscoped
			t.Error("an unscoped statement went through")
		}
		if _, err := tx.Pgx().Exec(ctxA, "update patients set name = name where clinic_id = $1", clinicA); err != nil {
			return err
		}
		return tx.QueueAtCommit("update patients set name = name where clinic_id = $1", clinicA)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A statement for another tenant's rows, refused by the guard.
	if _, err := p.Exec(ctxA, "delete from patients where clinic_id = $1", clinicB); err == nil {
		t.Error("A deleted B's rows")
	}
	// Statements refused before the guard, and work without a tenant,
	// report nothing beyond the guard's refusal.
	if _, err := p.PreAuth().Exec(context.Background(), "public.clinic_names"); err != nil {
		t.Fatal(err)
	}

	want := []seen{
		{Kind: tenantdb.EventStatement, Tenant: clinicA, Statements: 1},
		{Kind: tenantdb.EventStatement, Tenant: clinicB, Statements: 1},
		{Kind: tenantdb.EventStatement, Tenant: clinicA, Statements: 2},
		{Kind: tenantdb.EventRefused, Tenant: clinicA, Rule: sqlguard.RuleUnscoped},
		{Kind: tenantdb.EventTx, Tenant: clinicA, Statements: 3},
		{Kind: tenantdb.EventRefused, Tenant: clinicA, Rule: sqlguard.RuleParamTenant},
	}
	if diff := cmp.Diff(want, summary(t, rec.take())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// A holds its share of one: its next piece of work waits, then is
	// busy; and a wait that ends with its turn.
	hold, held := make(chan struct{}), make(chan struct{})
	go func() {
		_ = p.Tx(ctxA, func(*tenantdb.Tx) error { close(held); <-hold; return nil })
	}()
	<-held
	if err := p.QueryRow(ctxA, "select 1 from patients where clinic_id = $1 limit 1", clinicA).Scan(&n); !errors.Is(err, tenantdb.ErrBusy) {
		t.Errorf("A beyond its share: %v, want ErrBusy", err)
	}
	// A wait long enough for the Tx's end on a loaded machine; the Tx ends
	// once the read has had time to queue.
	wait.Store(int64(time.Minute))
	go func() { time.Sleep(50 * time.Millisecond); close(hold) }()
	if err := p.QueryRow(ctxA, "select 1 from patients where clinic_id = $1 limit 1", clinicA).Scan(&n); err != nil {
		t.Errorf("A once its connection came back: %v", err)
	}
	// The Tx's end and the waiting read's turn race: compare as sets.
	got := summary(t, rec.take())
	want = []seen{
		{Kind: tenantdb.EventShareWait, Tenant: clinicA, Err: "busy"},
		{Kind: tenantdb.EventTx, Tenant: clinicA},
		{Kind: tenantdb.EventShareWait, Tenant: clinicA, Err: "turn"},
		{Kind: tenantdb.EventStatement, Tenant: clinicA, Statements: 1},
	}
	bySeen := cmpopts.SortSlices(func(a, b seen) bool { return a.Kind < b.Kind || a.Kind == b.Kind && a.Err < b.Err })
	if diff := cmp.Diff(want, got, bySeen); diff != "" {
		t.Errorf("events of the share (-want +got):\n%s", diff)
	}
}

// BenchmarkPointReadObserve is a point read with Config.Observe nil (the
// default: nothing measured) and with a hook that does nothing (the
// hook's own cost: two clock reads and a call), run alternately.
func BenchmarkPointReadObserve(b *testing.B) {
	db, id := benchSchema(b)
	pool, _ := appPool(b, db, 2, "")
	ctx := staffCtx(clinicA, staffA)
	var name string
	for _, c := range []struct {
		name string
		p    *tenantdb.Pool
	}{
		{"nil", newPool(b, pool, tenantdb.Config{})},
		{"noop", newPool(b, pool, tenantdb.Config{Observe: func(tenantdb.Event) {}})},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.p.QueryRow(ctx, "select name from patients where clinic_id = $1 and id = $2", clinicA, id).Scan(&name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
