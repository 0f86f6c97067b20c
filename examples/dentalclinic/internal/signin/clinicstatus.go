package signin

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/problem"
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

// ActiveClinic wraps next, behind the token middleware, to refuse every
// principal whose clinic is suspended: staff and portal sessions and
// impersonation grants end with their clinic, though the tokens
// themselves have not expired. Principals without a clinic (a platform
// admin's own session) pass. deny renders the refusal, as jwtctx's
// MiddlewareConfig.Deny does, with the jwtctx.Problem in its request's
// context: 401 clinic_suspended (with WWW-Authenticate) for a suspended
// or erased clinic, or the SDK's answer to the error (package problem:
// 503 with Retry-After for a busy share or a database that cannot answer)
// when the clinic's status cannot be read. A nil deny writes the SDK's
// default problem document.
func (s *Service) ActiveClinic(next, deny http.Handler) http.Handler {
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
			switch {
			case errors.Is(err, store.ErrNotFound):
				// An erased clinic's sessions end as a suspended one's.
				active = false
			case err != nil:
				// The SDK's answer: 503 with Retry-After when the database
				// cannot serve now (busy clinic share, unavailable, timed out).
				s.log.WarnContext(r.Context(), "reading the clinic's status", "cause", problem.Cause(err), "request_id", p.RequestID)
				problem.For(err).Serve(w, r, deny)
				return
			default:
				active = c.Status == "active"
				s.clinics.store(p.Tenant, active, now)
			}
		}
		if !active {
			suspended.Serve(w, r, deny)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// The refusals of ActiveClinic.
var (
	suspended = jwtctx.Problem{Status: http.StatusUnauthorized, Title: "Unauthorized", Code: "clinic_suspended",
		Detail: "This clinic is suspended; its sessions have ended.",
		Header: http.Header{"Www-Authenticate": {`Bearer realm="dentalclinic", error="invalid_token"`}}}
)

// ClinicSuspended tells the clinic-status cache that clinic was just
// suspended on this instance, so its sessions end at once (on other
// instances within clinicStatusTTL).
func (s *Service) ClinicSuspended(clinic tenancy.ID) { s.clinics.forget(clinic) }
