package api

import (
	"net/http"
	"sync"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// clinicStatusTTL is how long a clinic's status is trusted without asking
// the database again. Suspending a clinic on this instance takes effect at
// once (forget); on other instances within this long.
const clinicStatusTTL = 5 * time.Second

// clinicStatuses caches whether clinics are active. It is safe for
// concurrent use.
type clinicStatuses struct {
	mu   sync.Mutex
	seen map[tenancy.ID]clinicStatus
}

type clinicStatus struct {
	active  bool
	checked time.Time
}

func (c *clinicStatuses) lookup(id tenancy.ID, now time.Time) (active, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.seen[id]
	if !ok || now.Sub(st.checked) >= clinicStatusTTL || now.Before(st.checked) {
		return false, false
	}
	return st.active, true
}

func (c *clinicStatuses) store(id tenancy.ID, active bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || len(c.seen) > 10000 {
		c.seen = map[tenancy.ID]clinicStatus{}
	}
	c.seen[id] = clinicStatus{active: active, checked: now}
}

func (c *clinicStatuses) forget(id tenancy.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, id)
}

// activeClinic refuses (401) every token whose clinic is suspended: staff
// and portal sessions and impersonation grants end with their clinic,
// though the tokens themselves have not expired. Principals without a
// clinic (a platform admin's own session) pass.
func (s *Server) activeClinic(next http.Handler) http.Handler { return s.activeClinicWith(next, nil) }

// activeClinicWith is activeClinic whose refusals deny renders, when it is
// not nil.
func (s *Server) activeClinicWith(next, deny http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := tenancy.FromContext(r.Context())
		if !ok || !p.HasTenant() {
			next.ServeHTTP(w, r)
			return
		}
		now := s.now()
		active, known := s.clinics.lookup(p.Tenant, now)
		if !known {
			c, err := s.store.CurrentClinic(r.Context())
			if err != nil && deny != nil {
				s.log.WarnContext(r.Context(), "reading the clinic's status", "err", err, "request_id", requestID(r))
				jwtctx.Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable", Code: "unavailable",
					Detail: "The service is briefly unavailable; try again shortly.",
					Header: http.Header{"Retry-After": {"2"}}}.Serve(w, r, deny)
				return
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
			active = c.Status == "active"
			s.clinics.store(p.Tenant, active, now)
		}
		if !active && deny != nil {
			jwtctx.Problem{Status: http.StatusUnauthorized, Title: "Unauthorized", Code: "clinic_suspended",
				Detail: "This clinic is suspended; its sessions have ended."}.Serve(w, r, deny)
			return
		}
		if !active {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dentalclinic", error="invalid_token"`)
			writeProblem(w, Problem{Status: http.StatusUnauthorized, Code: "clinic_suspended",
				Detail: "This clinic is suspended; its sessions have ended."})
			return
		}
		next.ServeHTTP(w, r)
	})
}
