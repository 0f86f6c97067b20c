package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/access"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// ownerOnly admits the clinic's owners; an impersonating admin never reads
// the audit log that records them.
var ownerOnly = access.Owner

// auditRoutes registers the owner's audit log.
func (s *Server) auditRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodGet, v1+"/audit", ownerOnly, s.auditLog)
	s.handle(auth, http.MethodGet, v1+"/audit/receipt", ownerOnly, s.auditReceipt)
}

// auditReceipt answers a signed receipt of the clinic's audit chain head
// (audit.Receipt, in the form audit.ParseReceipt reads), for the owner to
// keep and check later with the app's audit public key
// (audit.Receipt.Verify): it proves that the chain held at least that
// many events, ending with that hash.
func (s *Server) auditReceipt(w http.ResponseWriter, r *http.Request) {
	rc, err := s.store.AuditReceipt(r.Context())
	if errors.Is(err, audit.ErrNoChain) {
		notFound(w)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := rc.Sign(s.receiptKey); err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := rc.Marshal()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-receipt.json"`)
	_, _ = w.Write(b)
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
