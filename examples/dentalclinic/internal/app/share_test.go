package app

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestClinicShare: with each clinic limited to one connection of the
// pool, a burst of one clinic's requests answers 200, or 503 "busy" with
// Retry-After past the share's wait (never another error), while another
// clinic's requests in the same moment all answer 200.
func TestClinicShare(t *testing.T) {
	oa := startOwnApp(t, ownAppOptions{maxConns: 4, share: tenantdb.Share{Conns: 1, Wait: time.Millisecond}})
	river := oa.login(t, seed.StaffEmail("owner", riverside), riverside.ID)
	hill := oa.login(t, seed.StaffEmail("owner", hillcrest), hillcrest.ID)
	busy := 0
	for round := 0; round < 20 && busy == 0; round++ {
		var wg sync.WaitGroup
		results := make(chan response, 12)
		for range 12 {
			wg.Go(func() { results <- oa.do(t, "GET", "/api/v1/patients?q=a", river, nil) })
		}
		for range 3 {
			if r := oa.do(t, "GET", "/api/v1/patients?q=a", hill, nil); r.status != http.StatusOK {
				t.Fatalf("Hillcrest during Riverside's burst: %d %s", r.status, r.body)
			}
		}
		wg.Wait()
		close(results)
		for r := range results {
			switch r.status {
			case http.StatusOK:
			case http.StatusServiceUnavailable:
				var p struct{ Code string }
				if err := json.Unmarshal(r.body, &p); err != nil || p.Code != "busy" || r.header.Get("Retry-After") == "" ||
					r.header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("Riverside over its share: %d %v %s", r.status, r.header, r.body)
				}
				busy++
			default:
				t.Fatalf("Riverside's burst: %d %s", r.status, r.body)
			}
		}
	}
	if busy == 0 {
		t.Error("20 bursts of 12 requests on a share of one connection never answered busy: the share does not limit")
	}
}
