package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// relResult is one request's outcome in a load test.
type relResult struct {
	method, route string
	Status        int
	retryAfter    string
	contentType   string
	Body          []byte
	took          time.Duration
	err           error
}

// send makes one request with client; it never fails the test, so load
// goroutines may call it.
func relSend(ctx context.Context, client *http.Client, method, url, token string, body []byte, route string) relResult {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	res := relResult{method: method, route: route}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		res.err = err
		return res
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		res.err, res.took = err, time.Since(start)
		return res
	}
	res.Body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	res.took = time.Since(start)
	res.Status = resp.StatusCode
	res.retryAfter = resp.Header.Get("Retry-After")
	res.contentType = resp.Header.Get("Content-Type")
	return res
}

// foreignClinicIDs returns the clinic ids in a JSON body other than want:
// every object's "clinic_id", at any depth.
func relForeignClinicIDs(body []byte, want tenancy.ID) []string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "clinic_id" && s != want.String() {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// relStats gathers the outcomes of a load test. It is safe for
// concurrent use.
type relStats struct {
	mu          sync.Mutex
	took        []time.Duration
	status      map[int]int
	errors      int
	crossTenant int
	notes       []string // the first few anomalies, for the failure message
}

func newRelStats() *relStats { return &relStats{status: map[int]int{}} }

func (s *relStats) add(r relResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.took = append(s.took, r.took)
	if r.err != nil {
		s.errors++
		s.note("%s %s: %v", r.method, r.route, r.err)
		return
	}
	s.status[r.Status]++
}

func (s *relStats) leak(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.crossTenant++
	s.note("CROSS-TENANT: "+format, args...)
}

func (s *relStats) note(format string, args ...any) {
	if len(s.notes) < 20 {
		s.notes = append(s.notes, fmt.Sprintf(format, args...))
	}
}

func (s *relStats) count(pred func(status int) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for st, c := range s.status {
		if pred(st) {
			n += c
		}
	}
	return n
}

// percentile returns the p-th percentile (0-100) of the latencies.
func (s *relStats) percentile(p float64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.took) == 0 {
		return 0
	}
	d := slices.Clone(s.took)
	slices.Sort(d)
	i := int(float64(len(d)-1) * p / 100)
	return d[i]
}

func (s *relStats) summary() string {
	s.mu.Lock()
	n := len(s.took)
	codes := make([]int, 0, len(s.status))
	for c := range s.status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", s.status[c], c))
	}
	s.mu.Unlock()
	return fmt.Sprintf("requests=%d statuses=[%s] transport_errors=%d cross_tenant=%d p50=%v p95=%v p99=%v max=%v",
		n, strings.Join(parts, " "), s.errors, s.crossTenant,
		s.percentile(50).Round(100*time.Microsecond), s.percentile(95).Round(100*time.Microsecond),
		s.percentile(99).Round(100*time.Microsecond), s.percentile(100).Round(100*time.Microsecond))
}

// relClinicWork is what a load client of one clinic needs: its token, its own
// patients, a dentist and a chair, and another clinic's patient it must
// never see.
type relClinicWork struct {
	clinic   tenancy.ID
	token    string
	patients []tenancy.ID
	dentist  tenancy.ID
	chair    tenancy.ID
	foreign  tenancy.ID // a patient of another clinic
	loc      *time.Location
}

// prepareWork reads, through the API, what each clinic's load clients use.
func relPrepareWork(t *testing.T, oa *apptest.App) []*relClinicWork {
	t.Helper()
	tokens := clinicTokens(t, oa)
	var works []*relClinicWork
	for _, c := range seed.Clinics {
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			t.Fatal(err)
		}
		w := &relClinicWork{clinic: c.ID, token: tokens[c.ID], loc: loc}
		var pats struct{ Items []patientJSON }
		r := oa.Do(t, "GET", "/api/v1/patients?limit=50", w.token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("patients of %s: %d %s", c.Name, r.Status, r.Body)
		}
		r.JSON(t, &pats)
		for _, p := range pats.Items {
			w.patients = append(w.patients, p.ID)
		}
		if len(w.patients) == 0 {
			t.Fatalf("%s has no patients: the seed is missing", c.Name)
		}
		var staff struct {
			Items []struct {
				ID    tenancy.ID `json:"id"`
				Roles []string   `json:"roles"`
			}
		}
		oa.Do(t, "GET", "/api/v1/staff", w.token, nil).JSON(t, &staff)
		for _, s := range staff.Items {
			if slices.Contains(s.Roles, "dentist") && w.dentist.IsZero() {
				w.dentist = s.ID
			}
		}
		var chairs struct {
			Items []struct {
				ID tenancy.ID `json:"id"`
			}
		}
		oa.Do(t, "GET", "/api/v1/operatories", w.token, nil).JSON(t, &chairs)
		if len(chairs.Items) > 0 {
			w.chair = chairs.Items[0].ID
		}
		if w.dentist.IsZero() || w.chair.IsZero() {
			t.Fatalf("%s: no dentist (%v) or chair (%v) in the seed", c.Name, w.dentist, w.chair)
		}
		works = append(works, w)
	}
	for i, w := range works {
		w.foreign = works[(i+1)%len(works)].patients[0]
	}
	return works
}

// relLoadOp is one kind of request a load client makes.
type relLoadOp struct {
	name   string
	weight int
	run    func(ctx context.Context, client *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult
}

// relLoadOps are the requests of a clinic's working day: mostly reads of
// lists and records, some new patients, bookings and invoices, and the
// odd attempt at another clinic's patient (which must be 404).
var relLoadOps = []relLoadOp{
	{"list patients", 4, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		return relSend(ctx, c, "GET", base+"/api/v1/patients?limit=20", w.token, nil, "GET /patients")
	}},
	{"open patient", 4, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		id := w.patients[rng.IntN(len(w.patients))]
		return relSend(ctx, c, "GET", base+"/api/v1/patients/"+id.String(), w.token, nil, "GET /patients/{id}")
	}},
	{"list appointments", 3, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		return relSend(ctx, c, "GET", base+"/api/v1/appointments?limit=20", w.token, nil, "GET /appointments")
	}},
	{"list invoices", 3, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		return relSend(ctx, c, "GET", base+"/api/v1/invoices?limit=20", w.token, nil, "GET /invoices")
	}},
	{"new patient", 2, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		b, _ := json.Marshal(map[string]any{"given_name": "Load", "family_name": fmt.Sprintf("Test %d", rng.IntN(1e9))})
		return relSend(ctx, c, "POST", base+"/api/v1/patients", w.token, b, "POST /patients")
	}},
	{"new invoice", 2, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		b, _ := json.Marshal(map[string]any{"patient_id": w.patients[rng.IntN(len(w.patients))],
			"lines": []any{map[string]any{"code": "EXAM", "quantity": 1}, map[string]any{"code": "XRAY", "quantity": 1 + rng.IntN(3)}}})
		return relSend(ctx, c, "POST", base+"/api/v1/invoices", w.token, b, "POST /invoices")
	}},
	{"new booking", 2, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		// A random quarter hour of a weekday's opening hours in a far
		// year: a clash is a 409, which the load accepts.
		start := weekday(time.Date(2040+rng.IntN(60), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 9+rng.IntN(8), 15*rng.IntN(4), 0, 0, w.loc))
		b, _ := json.Marshal(map[string]any{"patient_id": w.patients[rng.IntN(len(w.patients))], "dentist_id": w.dentist,
			"operatory_id": w.chair, "starts_at": start.Format(time.RFC3339), "duration_min": 30, "type": "Check-up",
			"allow_dentist_overlap": true})
		return relSend(ctx, c, "POST", base+"/api/v1/appointments", w.token, b, "POST /appointments")
	}},
	{"foreign patient", 1, func(ctx context.Context, c *http.Client, base string, w *relClinicWork, rng *rand.Rand) relResult {
		return relSend(ctx, c, "GET", base+"/api/v1/patients/"+w.foreign.String(), w.token, nil, "GET /patients/{foreign}")
	}},
}

// runLoad runs clientsPerClinic clients for each clinic until ctx ends,
// each making requests one after another, and records every outcome in
// stats, checking that no apptest.Response carries another clinic's record. Each
// relResult also goes to observe, if set.
func relRunLoad(ctx context.Context, base string, works []*relClinicWork, clientsPerClinic int, stats *relStats, observe func(relResult)) {
	total := 0
	for _, op := range relLoadOps {
		total += op.weight
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	var wg sync.WaitGroup
	for _, w := range works {
		for i := 0; i < clientsPerClinic; i++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
				for ctx.Err() == nil {
					n := rng.IntN(total)
					var op relLoadOp
					for _, op = range relLoadOps {
						if n < op.weight {
							break
						}
						n -= op.weight
					}
					// The request itself is not bound to ctx: a request in
					// flight when the load ends completes.
					r := op.run(context.Background(), client, base, w, rng)
					stats.add(r)
					if r.err == nil {
						if ids := relForeignClinicIDs(r.Body, w.clinic); len(ids) > 0 {
							stats.leak("%s answered records of %v to clinic %v", r.route, ids, w.clinic)
						}
						if op.name == "foreign patient" && r.Status != http.StatusNotFound && r.Status != http.StatusServiceUnavailable {
							stats.leak("another clinic's patient answered %d to clinic %v", r.Status, w.clinic)
						}
					}
					if observe != nil {
						observe(r)
					}
				}
			}(uint64(i) + 1)
		}
	}
	wg.Wait()
}

// isProblem reports whether r is an RFC 9457 problem with its status.
func relIsProblem(r relResult) bool {
	if !strings.HasPrefix(r.contentType, "application/problem+json") {
		return false
	}
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	return json.Unmarshal(r.Body, &p) == nil && p.Status == r.Status && p.Code != ""
}
