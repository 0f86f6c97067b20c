package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// The front desk's inbox of portal appointment requests: the roles that
// book (access.Booking) confirm or decline each, and the patient reads
// the answer in the portal. Confirming re-checks everything a booking
// checks (store.ConfirmRequest); a refusal is shown on the inbox, with
// nothing changed.

func init() {
	for k, v := range map[string]string{
		"request-confirmed": "The request is confirmed; the appointment is on the schedule.",
		"request-declined":  "The request is declined; the patient sees it in the portal.",
		"cancelled":         "Your appointment is cancelled.",
		"move-requested":    "Your request to move the appointment is sent. The clinic will confirm it.",
		"signed-out-one":    "You are signed out of that clinic. You are still signed in here.",
	} {
		notices[k] = v
	}
}

func (s *Server) requestRoutes() {
	s.handle("GET /requests", booking, s.requestsInbox)
	s.handle("POST /requests/{id}/confirm", booking, s.confirmRequest)
	s.handle("POST /requests/{id}/decline", booking, s.declineRequest)
}

// inboxDecided is how many decided requests the inbox shows under the
// waiting ones.
const inboxDecided = 20

type requestsData struct {
	Waiting []inboxRow
	Decided []inboxRow
}

// inboxRow is a request with the time it came, in the clinic's zone.
type inboxRow struct {
	store.Request
	Received string
}

func (s *Server) requestsPage(w http.ResponseWriter, r *http.Request, v *view, status int) {
	waiting, err := portalAll(r.Context(), func(ctx context.Context, pg store.PortalPage) ([]store.Request, string, error) {
		return s.store.Requests(ctx, store.RequestFilter{Status: store.RequestRequested, Cursor: pg.Cursor, Limit: pg.Limit})
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	all, _, err := s.store.Requests(r.Context(), store.RequestFilter{Limit: inboxDecided + len(waiting)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	row := func(q store.Request) inboxRow {
		return inboxRow{Request: q, Received: q.CreatedAt.In(v.Session.loc).Format("Mon 2 Jan 15:04")}
	}
	var d requestsData
	for _, q := range waiting {
		d.Waiting = append(d.Waiting, row(q))
	}
	for _, q := range all {
		if q.Status != store.RequestRequested && len(d.Decided) < inboxDecided {
			d.Decided = append(d.Decided, row(q))
		}
	}
	v.Data = d
	s.render(w, r, status, "requests", v)
}

func (s *Server) requestsInbox(w http.ResponseWriter, r *http.Request) {
	v, ok := s.start(w, r, "Appointment requests")
	if !ok {
		return
	}
	s.requestsPage(w, r, v, http.StatusOK)
}

// decideRequest runs a decision on the request of the path and answers:
// back to the inbox with a notice, or the inbox with the refusal in words
// and nothing changed.
func (s *Server) decideRequest(w http.ResponseWriter, r *http.Request, done string, act func(v *view) error) {
	v, ok := s.start(w, r, "Appointment requests")
	if !ok {
		return
	}
	if !s.readForm(w, r) {
		return
	}
	if err := act(v); err != nil {
		if msg, status := formError(err); msg != "" {
			v.Error = msg
			s.requestsPage(w, r, v, status)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/requests?done="+done, http.StatusSeeOther)
}

func (s *Server) confirmRequest(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	s.decideRequest(w, r, "request-confirmed", func(*view) error {
		_, err := s.store.ConfirmRequest(r.Context(), id)
		return err
	})
}

func (s *Server) declineRequest(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	s.decideRequest(w, r, "request-declined", func(*view) error {
		_, err := s.store.DeclineRequest(r.Context(), id, strings.TrimSpace(r.PostFormValue("reason")))
		return err
	})
}

func init() {
	funcs["portalChangeable"] = portalChangeable
}
