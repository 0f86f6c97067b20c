package app_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// syncBuffer is a bytes.Buffer safe for the app's log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDailySummaryAcrossClinics: the app summarizes the previous day of
// every clinic through the cross-clinic entry point, each clinic in its
// own context; each clinic's owner reads the run in the clinic's audit
// log, once however often the app checks (each check starts the run of
// that day again, as a restart or a second instance would).
func TestDailySummaryAcrossClinics(t *testing.T) {
	var log syncBuffer
	oa := apptest.Start(t, apptest.Options{SummaryEvery: 200 * time.Millisecond, Log: &log})
	run := "daily-summary " + time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)

	type auditPage struct {
		Items []struct {
			Action       string `json:"action"`
			ResourceType string `json:"resource_type"`
			ResourceID   string `json:"resource_id"`
			Reason       string `json:"reason"`
		}
	}
	runEvents := func(c seed.Clinic) int {
		t.Helper()
		var page auditPage
		r := oa.Do(t, "GET", "/api/v1/audit?limit=1000", oa.SignIn(t, seed.StaffEmail("owner", c), c.ID), nil)
		r.JSON(t, &page)
		if r.Status != http.StatusOK {
			t.Fatalf("%s's audit log: %d %s", c.Name, r.Status, r.Body)
		}
		n := 0
		for _, e := range page.Items {
			if e.ResourceType == audit.ResourceRun && e.ResourceID == run {
				if e.Action != audit.ActionSystem || e.Reason != app.SummaryReason {
					t.Errorf("%s's run event: %+v", c.Name, e)
				}
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range seed.Clinics {
		for runEvents(c) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s's audit log has no event of run %q after 30s", c.Name, run)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The app checks every 200ms: let it check several more times.
	time.Sleep(time.Second)
	for _, c := range seed.Clinics {
		if n := runEvents(c); n != 1 {
			t.Errorf("%s's audit log has %d events of run %q, want 1", c.Name, n, run)
		}
	}
	if got := strings.Count(log.String(), `msg="daily summary" clinic=`); got != len(seed.Clinics) {
		t.Errorf("%d summaries logged, want one per clinic (%d):\n%s", got, len(seed.Clinics), log.String())
	}
}
