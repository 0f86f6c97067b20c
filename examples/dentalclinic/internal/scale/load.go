package scale

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
)

// Layout is what a generated database holds, read back from it.
type Layout struct {
	Clinics         int       // numbered from 1
	First           time.Time // first day of appointments (a Monday)
	Days            int       // weekdays with appointments
	PatientsPer     int       // patients per clinic
	AppointmentsPer int       // generated appointments per clinic
}

// DetectLayout reads the layout of a database made by Generate, as a role
// that sees every clinic (the owner).
func DetectLayout(ctx context.Context, conn interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (Layout, error) {
	var l Layout
	err := conn.QueryRow(ctx, `select (select count(*) from clinics),
			(select count(*) from patients where clinic_id = $1),
			(select count(*) from appointments where clinic_id = $1 and id <= $3),
			min((starts_at at time zone $2)::date), count(distinct (starts_at at time zone $2)::date)
		from appointments where clinic_id = $1 and id <= $3`, ClinicID(1), TimeZone, uid(5, 1<<40)).
		Scan(&l.Clinics, &l.PatientsPer, &l.AppointmentsPer, &l.First, &l.Days)
	if err != nil {
		return l, fmt.Errorf("scale: not a generated database: %w", err)
	}
	return l, nil
}

// PatientID returns the id of generated patient k (0-based) of clinic n.
func (l Layout) PatientID(n, k int) tenancy.ID {
	return tenancy.MustParseID(uid(4, int64(n-1)*int64(l.PatientsPer)+int64(k)))
}

// AppointmentID returns the id of generated appointment k of clinic n.
func (l Layout) AppointmentID(n, k int) tenancy.ID {
	return tenancy.MustParseID(uid(5, int64(n-1)*int64(l.AppointmentsPer)+int64(k)))
}

// ChairID returns the id of chair o (0-3) of clinic n.
func ChairID(n, o int) tenancy.ID { return tenancy.MustParseID(uid(3, int64(n)*16+int64(o))) }

// Login signs in staff member s (see StaffEmail) of clinic n at the app
// at base and returns the session token.
func Login(ctx context.Context, client *http.Client, base string, n, s int) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": StaffEmail(n, s), "password": Password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/auth/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("login %s: %s: %s", StaffEmail(n, s), resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return "", fmt.Errorf("login %s: no token (%v)", StaffEmail(n, s), err)
	}
	return out.Token, nil
}

// Op is one kind of request in the load mix, with its share.
type Op struct {
	Name   string
	Weight int
	req    func(l Layout, n int, rng *rand.Rand) (method, path string, body any)
}

// Mix is the load's requests: a clinic's working day, mostly reads (the
// day's schedule, patient searches, opening a chart or an appointment, the
// invoice list) with one write in five (updating a patient's details,
// booking an appointment).
var Mix = []Op{
	{"day schedule", 30, func(l Layout, _ int, rng *rand.Rand) (string, string, any) {
		day := DayOf(l.First, rng.IntN(max(l.Days, 1)))
		return http.MethodGet, "/api/v1/appointments?limit=100&from=" + day.Format(time.RFC3339) + "&to=" + day.AddDate(0, 0, 1).Format(time.RFC3339), nil
	}},
	{"patient search", 15, func(_ Layout, _ int, rng *rand.Rand) (string, string, any) {
		return http.MethodGet, "/api/v1/patients?q=" + []string{"wil", "smi", "pat", "har", "jo"}[rng.IntN(5)], nil
	}},
	{"open chart", 15, func(l Layout, n int, rng *rand.Rand) (string, string, any) {
		return http.MethodGet, "/api/v1/patients/" + l.PatientID(n, rng.IntN(l.PatientsPer)).String(), nil
	}},
	{"open appointment", 10, func(l Layout, n int, rng *rand.Rand) (string, string, any) {
		return http.MethodGet, "/api/v1/appointments/" + l.AppointmentID(n, rng.IntN(max(l.AppointmentsPer, 1))).String(), nil
	}},
	{"invoice list", 10, func(Layout, int, *rand.Rand) (string, string, any) {
		return http.MethodGet, "/api/v1/invoices", nil
	}},
	{"update patient", 10, func(l Layout, n int, rng *rand.Rand) (string, string, any) {
		return http.MethodPatch, "/api/v1/patients/" + l.PatientID(n, rng.IntN(l.PatientsPer)).String(),
			map[string]string{"phone": fmt.Sprintf("+44 7700 %06d", rng.IntN(1000000))}
	}},
	{"book appointment", 10, func(l Layout, n int, rng *rand.Rand) (string, string, any) {
		// A weekday in 2030-2039 at a random five minutes of the day: far
		// from the generated schedule, so bookings rarely collide.
		day := time.Date(2030, 1, 7, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(520)*7+rng.IntN(5))
		start := day.Add(8*time.Hour + time.Duration(rng.IntN(90))*5*time.Minute)
		chair := rng.IntN(chairs)
		k := rng.IntN(l.PatientsPer)
		if k%50 == 0 { // archived
			k++
		}
		return http.MethodPost, "/api/v1/appointments", map[string]any{
			"patient_id": l.PatientID(n, k%l.PatientsPer), "dentist_id": StaffID(n, chair), "operatory_id": ChairID(n, chair),
			"local_start": start.Format("2006-01-02T15:04:05"), "duration_min": 30, "type": "Check-up",
		}
	}},
}

// LoadConfig says how to load a server.
type LoadConfig struct {
	Base string // the server's base URL
	// Bases, if set, are several instances of the server (behind one
	// pooler, say): client c sends its requests to Bases[c%len(Bases)],
	// in place of Base.
	Bases    []string
	Tokens   map[int]string // a staff token per clinic; the load spreads over these clinics
	Clients  int            // concurrent clients, each one request at a time
	Duration time.Duration
	Layout   Layout
	Seed     uint64
	// CheckTenant reads every successful answer's JSON and counts each
	// "clinic_id" in it that is not the clinic of the request's token
	// (LoadResult.CrossTenant). It costs the load client time.
	CheckTenant bool
}

// LoadResult is what a load run measured. Conflicts (409, a booking that
// collided) are expected answers, not errors.
type LoadResult struct {
	Requests, Errors, Conflicts int
	// CrossTenant counts the records of another clinic in the answers,
	// with CheckTenant: any is a leak.
	CrossTenant int
	// TenantChecked counts the records whose clinic was checked.
	TenantChecked int
	ByOp          map[string]int
	// ByBase counts the requests each instance answered.
	ByBase      map[string]int
	OpP50       map[string]time.Duration // median latency per kind of request
	Took        time.Duration
	P50, P99    time.Duration
	FirstErrors []string
}

// RPS is requests per second.
func (r LoadResult) RPS() float64 { return float64(r.Requests) / r.Took.Seconds() }

// RunLoad runs cfg.Clients clients, each sending the mix's requests one
// after another for random clinics of cfg.Tokens, for cfg.Duration.
func RunLoad(ctx context.Context, client *http.Client, cfg LoadConfig) (LoadResult, error) {
	clinics := make([]int, 0, len(cfg.Tokens))
	for n := range cfg.Tokens {
		clinics = append(clinics, n)
	}
	if len(clinics) == 0 || cfg.Clients < 1 {
		return LoadResult{}, errors.New("scale: no clinics or clients")
	}
	sort.Ints(clinics)
	total := 0
	for _, op := range Mix {
		total += op.Weight
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var mu sync.Mutex
	bases := cfg.Bases
	if len(bases) == 0 {
		bases = []string{cfg.Base}
	}
	res := LoadResult{ByOp: map[string]int{}, OpP50: map[string]time.Duration{}, ByBase: map[string]int{}}
	var lat []time.Duration
	opLat := map[string][]time.Duration{}
	var wg sync.WaitGroup
	start := time.Now()
	for c := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(c)))
			var mine []time.Duration
			mineOp := map[string][]time.Duration{}
			byOp := map[string]int{}
			base := bases[c%len(bases)]
			var errs, conflicts, cross, checked int
			var firstErrs []string
			for ctx.Err() == nil {
				n := clinics[rng.IntN(len(clinics))]
				w := rng.IntN(total)
				op := Mix[0]
				for _, o := range Mix {
					if w < o.Weight {
						op = o
						break
					}
					w -= o.Weight
				}
				method, path, body := op.req(cfg.Layout, n, rng)
				t := time.Now()
				status, b, err := do(ctx, client, method, base+path, cfg.Tokens[n], body)
				if ctx.Err() != nil {
					break // cut off by the end of the run: not counted
				}
				d := time.Since(t)
				mine = append(mine, d)
				mineOp[op.Name] = append(mineOp[op.Name], d)
				byOp[op.Name]++
				switch {
				case err == nil && status < 300:
					if !cfg.CheckTenant {
						break
					}
					seen, others := OtherClinics(b, ClinicID(n))
					checked += seen
					if len(others) > 0 {
						cross += len(others)
						if len(firstErrs) < 3 {
							firstErrs = append(firstErrs, fmt.Sprintf("CROSS-TENANT: %s %s with clinic %d's token: records of %v", method, path, n, others))
						}
					}
				case err == nil && status == http.StatusConflict:
					conflicts++
				default:
					errs++
					if len(firstErrs) < 3 {
						firstErrs = append(firstErrs, fmt.Sprintf("%s %s: %d %v %.300s", method, path, status, err, b))
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, mine...)
			for k, v := range byOp {
				res.ByOp[k] += v
				opLat[k] = append(opLat[k], mineOp[k]...)
			}
			res.Errors += errs
			res.Conflicts += conflicts
			res.CrossTenant += cross
			res.TenantChecked += checked
			res.ByBase[base] += len(mine)
			res.FirstErrors = append(res.FirstErrors, firstErrs...)
		}()
	}
	wg.Wait()
	res.Took = time.Since(start)
	res.Requests = len(lat)
	slices.Sort(lat)
	res.P50, res.P99 = pct(lat, 50), pct(lat, 99)
	for k, d := range opLat {
		slices.Sort(d)
		res.OpP50[k] = pct(d, 50)
	}
	return res, nil
}

// OtherClinics reads every "clinic_id" member, at any depth, of the JSON
// document body: seen counts them, others holds those that are not clinic
// (the records of another clinic in an answer meant for clinic's staff).
// A body that is not JSON has none.
func OtherClinics(body []byte, clinic tenancy.ID) (seen int, others []string) {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return 0, nil
	}
	want := clinic.String()
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if id, ok := e.(string); ok && k == "clinic_id" {
					seen++
					if id != want {
						out = append(out, id)
					}
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
	return seen, out
}

// do sends one request and returns its status and body.
func do(ctx context.Context, client *http.Client, method, url, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
