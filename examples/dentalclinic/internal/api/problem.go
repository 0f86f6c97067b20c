package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/problem"
)

// Problem is an RFC 9457 problem details body. Title and Detail are plain
// words for people; Code is stable for programs. Nothing internal, no
// patient data and no token ever goes in one.
type Problem struct {
	Type    string         `json:"type"`
	Title   string         `json:"title"`
	Status  int            `json:"status"`
	Code    string         `json:"code"`
	Detail  string         `json:"detail,omitempty"`
	Field   string         `json:"field,omitempty"`
	Choices any            `json:"choices,omitempty"`
	Extra   map[string]any `json:"-"`
}

func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// notFound is the one answer for a missing object and for another
// clinic's object: same status, same body, the SDK's (package problem)
// answer to no rows, which is also its answer to a statement the guard
// refused for naming another clinic.
func notFound(w http.ResponseWriter) {
	answer(w, problem.For(pgx.ErrNoRows))
}

// answer writes the SDK's answer p in the app's problem format.
func answer(w http.ResponseWriter, p jwtctx.Problem) {
	for k, v := range p.Header {
		w.Header()[k] = v
	}
	writeProblem(w, Problem{Status: p.Status, Title: p.Title, Code: p.Code, Detail: p.Detail})
}

func badRequest(w http.ResponseWriter, code, detail string) {
	writeProblem(w, Problem{Status: http.StatusBadRequest, Code: code, Detail: detail})
}

// fail maps an error from the store to a response, logging what is not the
// caller's fault without any detail that could be patient data.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *store.Error
	switch {
	case errors.As(err, &se) && errors.Is(err, store.ErrNotFound):
		notFound(w)
	case errors.As(err, &se) && errors.Is(err, store.ErrInvalid):
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: se.Code, Detail: se.Msg, Field: se.Field})
	case errors.As(err, &se) && errors.Is(err, store.ErrConflict):
		writeProblem(w, Problem{Status: http.StatusConflict, Code: se.Code, Detail: se.Msg, Choices: se.Detail})
	case errors.As(err, &se) && errors.Is(err, store.ErrTooSoon):
		wait, _ := se.Detail.(time.Duration)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		writeProblem(w, Problem{Status: http.StatusTooManyRequests, Code: se.Code, Detail: se.Msg})
	case errors.Is(err, tenancy.ErrNoTenant):
		writeProblem(w, Problem{Status: http.StatusForbidden, Code: "no_clinic", Detail: "This action needs a clinic session."})
	case r.Context().Err() != nil:
		// Whatever the error says, the request ran out of time (or its
		// client left): statement_timeout, a pool wait or a cancelled read.
		s.log.WarnContext(r.Context(), "request timed out", "request_id", requestID(r))
		serviceUnavailable(w, "timeout", "The request took too long; try again shortly.")
	default:
		// Everything else is the SDK's table (package problem): no rows and
		// another clinic's id are 404, constraint violations 409 or 422, a
		// database that cannot answer now 503, a bug 500.
		p := problem.For(err)
		switch {
		case p.Status == http.StatusServiceUnavailable:
			s.log.WarnContext(r.Context(), "database unavailable", "cause", problem.Cause(err), "request_id", requestID(r))
		case p.Status >= 500:
			s.log.ErrorContext(r.Context(), "request failed", "err", err, "request_id", requestID(r))
		}
		answer(w, p)
	}
}

func requestID(r *http.Request) string {
	if p, ok := tenancy.FromContext(r.Context()); ok {
		return p.RequestID
	}
	return ""
}

// maxBody bounds request bodies.
const maxBody = 1 << 20

// decode reads a single JSON object into v, refusing unknown fields,
// trailing data, invalid UTF-8, a wrong content type and oversize bodies.
// On failure it has answered 400 (or 413, 415) and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeProblem(w, Problem{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Detail: "Send JSON (application/json)."})
		return false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, Problem{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Detail: "The request body is too large."})
		} else {
			badRequest(w, "bad_json", "The request body could not be read.")
		}
		return false
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD and store
	// the mangled text: refuse it instead.
	if !utf8.Valid(b) {
		badRequest(w, "bad_encoding", "The request body is not valid UTF-8.")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var se *store.Error
		switch {
		case errors.As(err, &typeErr):
			badRequest(w, "bad_json", "Field "+typeErr.Field+" has the wrong type.")
		case errors.As(err, &se):
			badRequest(w, "bad_json", se.Msg)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			badRequest(w, "unknown_field", "Unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field ")+".")
		case errors.Is(err, io.EOF):
			badRequest(w, "bad_json", "The request body is empty.")
		default:
			badRequest(w, "bad_json", "The request body is not valid JSON.")
		}
		return false
	}
	if dec.More() {
		badRequest(w, "bad_json", "Send exactly one JSON object.")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// page is the shape of every list.
type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func newPage[T any](items []T, next string) page[T] {
	if items == nil {
		items = []T{}
	}
	p := page[T]{Items: items}
	if next != "" {
		p.NextCursor = &next
	}
	return p
}

// noBody wraps the handler of an action that takes no input (issue, void,
// suspend, end, log out): an empty body or an empty JSON object passes;
// anything else is refused like any unknown field, before the action runs,
// so a client that thinks it is sending data learns that it is not.
func noBody(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
			if err == nil && len(bytes.TrimSpace(b)) == 0 {
				r.Body = http.NoBody
			} else {
				if err == nil {
					r.Body = io.NopCloser(bytes.NewReader(b))
				} else {
					r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{err}))
				}
				var none struct{}
				if !decode(w, r, &none) {
					return
				}
			}
		}
		h(w, r)
	}
}

// errReader returns err, to hand a read error on to decode.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
