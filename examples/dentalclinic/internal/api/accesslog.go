package api

import (
	"net/http"
	"time"

	"github.com/mydentalpractice/tenancy"
)

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logged writes one structured log line per request: the method and route
// pattern (never the path or query, which may carry data), the status, the
// duration, the request id and the clinic. No patient data, no token.
func (s *Server) logged(method, route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		attrs := []any{"method", method, "route", route, "status", sw.status, "duration_ms", time.Since(start).Milliseconds()}
		if p, ok := tenancy.FromContext(r.Context()); ok {
			attrs = append(attrs, "request_id", p.RequestID, "kind", p.Kind.String())
			if p.HasTenant() {
				attrs = append(attrs, "clinic", p.Tenant.String())
			}
			if p.Impersonation != nil {
				attrs = append(attrs, "grant", p.Impersonation.GrantID.String())
			}
		}
		s.log.InfoContext(r.Context(), "request", attrs...)
	})
}
