package app_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestClinicShare: with each clinic limited to one connection of the
// pool, a burst of one clinic's requests answers 200, or 503 "busy" with
// Retry-After past the share's wait (never another error), while another
// clinic's requests in the same moment all answer 200.
func TestClinicShare(t *testing.T) {
	oa := apptest.Start(t, apptest.Options{MaxConns: 4, ClinicShare: tenantdb.Share{Conns: 1, Wait: time.Millisecond}})
	river := oa.SignIn(t, seed.StaffEmail("owner", riverside), riverside.ID)
	hill := oa.SignIn(t, seed.StaffEmail("owner", hillcrest), hillcrest.ID)
	busy := 0
	for round := 0; round < 20 && busy == 0; round++ {
		var wg sync.WaitGroup
		results := make(chan apptest.Response, 12)
		for range 12 {
			wg.Go(func() { results <- oa.Do(t, "GET", "/api/v1/patients?q=a", river, nil) })
		}
		for range 3 {
			if r := oa.Do(t, "GET", "/api/v1/patients?q=a", hill, nil); r.Status != http.StatusOK {
				t.Fatalf("Hillcrest during Riverside's burst: %d %s", r.Status, r.Body)
			}
		}
		wg.Wait()
		close(results)
		for r := range results {
			switch r.Status {
			case http.StatusOK:
			case http.StatusServiceUnavailable:
				var p struct{ Code string }
				if err := json.Unmarshal(r.Body, &p); err != nil || p.Code != "busy" || r.Header.Get("Retry-After") == "" ||
					r.Header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("Riverside over its share: %d %v %s", r.Status, r.Header, r.Body)
				}
				busy++
			default:
				t.Fatalf("Riverside's burst: %d %s", r.Status, r.Body)
			}
		}
	}
	if busy == 0 {
		t.Error("20 bursts of 12 requests on a share of one connection never answered busy: the share does not limit")
	}
}
