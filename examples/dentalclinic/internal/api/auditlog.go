package api

import (
	"net/http"
	"strconv"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// ownerOnly admits the clinic's owners; an impersonating admin never reads
// the audit log that records them.
var ownerOnly = Allow{Kinds: []tenancy.Kind{kinds.Staff}, Roles: []string{"owner"}}

// auditRoutes registers the owner's audit log.
func (s *Server) auditRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodGet, v1+"/audit", ownerOnly, s.auditLog)
}

// auditLog lists the clinic's audit events in order; the cursor is the
// last seq seen.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after int64
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 0 {
			badRequest(w, "bad_cursor", "cursor is not one this server gave")
			return
		}
		after = n
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 200 {
		limit = 100
	}
	events, err := s.store.AuditLog(r.Context(), after, limit+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	next := ""
	if len(events) > limit {
		events = events[:limit]
		next = strconv.FormatInt(events[limit-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, newPage(events, next))
}
