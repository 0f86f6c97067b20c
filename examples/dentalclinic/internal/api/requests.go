package api

import (
	"net/http"
	"strconv"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// requestRoutes registers the front desk's inbox of portal appointment
// requests: the roles that book (access.Booking) read, confirm and
// decline them.
func (s *Server) requestRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodGet, v1+"/appointment-requests", booking, s.listRequests)
	s.handle(auth, http.MethodGet, v1+"/appointment-requests/{id}", booking, s.getRequest)
	s.handle(auth, http.MethodPost, v1+"/appointment-requests/{id}/confirm", booking, noBody(s.confirmRequest))
	s.handle(auth, http.MethodPost, v1+"/appointment-requests/{id}/decline", booking, s.declineRequest)
}

// listRequests answers GET /appointment-requests?status=&cursor=&limit=,
// newest first.
func (s *Server) listRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.RequestFilter{Status: q.Get("status"), Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			badRequest(w, "bad_query", "limit is a positive whole number.")
			return
		}
		f.Limit = n
	}
	list, next, err := s.store.Requests(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(list, next))
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	q, err := s.store.Request(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}

func (s *Server) confirmRequest(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	q, err := s.store.ConfirmRequest(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}

type declineBody struct {
	Reason string `json:"reason"`
}

func (s *Server) declineRequest(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in declineBody
	if !decode(w, r, &in) {
		return
	}
	q, err := s.store.DeclineRequest(r.Context(), id, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}
