package load

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
	"github.com/mydentalpractice/tenancy/tenantriver"
)

// TestReport: each clinic's statements, time, waits and jobs are read back
// as its own, beyond the number of places the others' together.
func TestReport(t *testing.T) {
	l, err := New(Config{Clinics: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	a, b, c := tenancy.NewID(), tenancy.NewID(), tenancy.NewID()
	work := func() {
		for range 10 {
			l.Observe(tenantdb.Event{Kind: tenantdb.EventStatement, Tenant: a, Statements: 1, Duration: time.Millisecond})
		}
		for range 5 {
			l.Observe(tenantdb.Event{Kind: tenantdb.EventStatement, Tenant: b, Statements: 1, Duration: time.Millisecond})
		}
		l.Observe(tenantdb.Event{Kind: tenantdb.EventStatement, Tenant: c, Statements: 1})
		l.Observe(tenantdb.Event{Kind: tenantdb.EventShareWait, Tenant: b, Err: tenantdb.ErrBusy})
		l.JobRun(tenantriver.Run{Tenant: a})
		l.JobRun(tenantriver.Run{Tenant: a, Err: errors.New("failed")})
	}
	work()
	if _, err := l.Report(context.Background()); err != nil { // the first read ranks the clinics
		t.Fatal(err)
	}
	work()
	rep, err := l.Report(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := rep.Of(a), rep.Of(b)
	if ra == nil || rb == nil || rep.Of(c) != nil {
		t.Fatalf("places: a %v, b %v, c %v; want a and b, not c", ra, rb, rep.Of(c))
	}
	if ra.Statements != 10 || ra.Jobs != 2 || ra.JobsFailed != 1 || ra.ConnSeconds < 0.009 || ra.ConnSeconds > 0.011 {
		t.Errorf("a: %+v, want 10 statements, 10 ms, 2 jobs of which 1 failed", *ra)
	}
	if rb.Statements != 5 || rb.ShareWaits != 1 || rb.Busy != 1 || rb.Jobs != 0 {
		t.Errorf("b: %+v, want 5 statements, one wait, refused busy", *rb)
	}
	if rep.Others.Statements < 1 {
		t.Errorf("the others: %+v, want c's statements", rep.Others)
	}
}
