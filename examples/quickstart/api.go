package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/problem"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// server is the tracker's JSON API. Every handler takes the organization
// from the verified token (tenancy.Require), never from the request, and
// runs its SQL through the tenant-scoped pool.
type server struct {
	db  *tenantdb.Pool
	log *slog.Logger
}

type project struct {
	ID    tenancy.ID `json:"id"`
	OrgID tenancy.ID `json:"org_id"`
	Name  string     `json:"name"`
}

type task struct {
	ID         tenancy.ID  `json:"id"`
	OrgID      tenancy.ID  `json:"org_id"`
	ProjectID  tenancy.ID  `json:"project_id"`
	Title      string      `json:"title"`
	AssigneeID *tenancy.ID `json:"assignee_id"`
}

// mux is what routes registers on: an http.ServeMux, or in tests a
// tenancytest.ServeMux, which records the routes for the leak prober.
type mux interface {
	Handle(pattern string, h http.Handler)
}

// routes registers the API on m, every route behind a middleware that
// verifies auth's tokens (its own, and its identity providers' access
// tokens); the writes are for members only.
func (s *server) routes(m mux, auth *jwtctx.Authority) error {
	mw, err := jwtctx.NewMiddleware(auth, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken | jwtctx.AccessToken})
	if err != nil {
		return err
	}
	membersOnly := jwtctx.RequireKind(member)
	handle := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, mw.Handler(h)) }
	handle("GET /projects", s.listProjects)
	handle("POST /projects", membersOnly(http.HandlerFunc(s.createProject)).ServeHTTP)
	handle("GET /projects/{id}", s.getProject)
	handle("GET /tasks", s.listTasks)
	handle("POST /tasks", membersOnly(http.HandlerFunc(s.createTask)).ServeHTTP)
	handle("GET /tasks/{id}", s.getTask)
	return nil
}

func (s *server) listProjects(w http.ResponseWriter, r *http.Request) {
	p, _ := tenancy.Require(r.Context()) // the middleware put it there
	rows, err := s.db.Query(r.Context(), `select id, org_id, name from projects where org_id = $1 order by name, id`, p.Tenant)
	reply[project](s, w, r, http.StatusOK, false, rows, err)
}

func (s *server) getProject(w http.ResponseWriter, r *http.Request) {
	p, _ := tenancy.Require(r.Context())
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	rows, err := s.db.Query(r.Context(), `select id, org_id, name from projects where org_id = $1 and id = $2`, p.Tenant, id)
	reply[project](s, w, r, http.StatusOK, true, rows, err)
}

func (s *server) createProject(w http.ResponseWriter, r *http.Request) {
	p, _ := tenancy.Require(r.Context())
	var in struct {
		Name string `json:"name"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Name = strings.TrimSpace(in.Name); in.Name == "" || len(in.Name) > 200 {
		badRequest(w, r, "name must hold 1 to 200 characters")
		return
	}
	rows, err := s.db.Query(r.Context(), `insert into projects (org_id, name) values ($1, $2) returning id, org_id, name`, p.Tenant, in.Name)
	reply[project](s, w, r, http.StatusCreated, true, rows, err)
}

// Guests see only the tasks assigned to them. The database's subject
// policy (rls.Table.SubjectColumn) says so too; the app does not lean on it.
const taskColumns = `select id, org_id, project_id, title, assignee_id from tasks where org_id = $1`

func taskQuery(p tenancy.Principal, sql string, args ...any) (string, []any) {
	args = append([]any{p.Tenant}, args...)
	if p.Kind == guest {
		args = append(args, p.Subject)
		sql += ` and assignee_id = $` + strconv.Itoa(len(args))
	}
	return sql + ` order by id`, args
}

func (s *server) listTasks(w http.ResponseWriter, r *http.Request) {
	p, _ := tenancy.Require(r.Context())
	sql, args := taskQuery(p, taskColumns)
	rows, err := s.db.Query(r.Context(), sql, args...)
	reply[task](s, w, r, http.StatusOK, false, rows, err)
}

func (s *server) getTask(w http.ResponseWriter, r *http.Request) {
	p, _ := tenancy.Require(r.Context())
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	sql, args := taskQuery(p, taskColumns+` and id = $2`, id)
	rows, err := s.db.Query(r.Context(), sql, args...)
	reply[task](s, w, r, http.StatusOK, true, rows, err)
}

func (s *server) createTask(w http.ResponseWriter, r *http.Request) {
	p, _ := tenancy.Require(r.Context())
	var in struct {
		ProjectID  string `json:"project_id"`
		Title      string `json:"title"`
		AssigneeID string `json:"assignee_id"` // optional
	}
	if !decode(w, r, &in) {
		return
	}
	projectID, err := tenancy.KeyBigint.Parse(in.ProjectID)
	var assignee *tenancy.ID
	if in.AssigneeID != "" && err == nil {
		var id tenancy.ID
		id, err = tenancy.KeyBigint.Parse(in.AssigneeID)
		assignee = &id
	}
	if in.Title = strings.TrimSpace(in.Title); err != nil || in.Title == "" || len(in.Title) > 500 {
		badRequest(w, r, "project_id and assignee_id must be ids, as strings, and title must hold 1 to 500 characters")
		return
	}
	rows, err := s.db.Query(r.Context(), `insert into tasks (org_id, project_id, title, assignee_id) values ($1, $2, $3, $4)
		returning id, org_id, project_id, title, assignee_id`, p.Tenant, projectID, in.Title, assignee)
	reply[task](s, w, r, http.StatusCreated, true, rows, err)
}

// pathID parses the {id} of the path. An id that is not a bigint names no
// object: 404, as for an id of another organization's object.
func pathID(w http.ResponseWriter, r *http.Request) (tenancy.ID, bool) {
	id, err := tenancy.KeyBigint.Parse(r.PathValue("id"))
	if err != nil {
		notFound(w, r)
	}
	return id, err == nil
}

// decode reads a JSON body of at most 64 KiB into v, refusing unknown
// fields and trailing data with a 400.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		badRequest(w, r, "the body must be one JSON object with the documented fields")
		return false
	}
	return true
}

// reply answers with the rows: a list ({"items": [...]}), or the one row
// (none is 404). A foreign key violation is a 400 that does not say which
// key, or why: another organization's project answers as a missing one.
func reply[T any](s *server, w http.ResponseWriter, r *http.Request, status int, one bool, rows pgx.Rows, err error) {
	items := []T{}
	if err == nil {
		items, err = pgx.AppendRows(items, rows, pgx.RowToStructByPos[T])
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "23503":
		badRequest(w, r, "project_id and assignee_id must name a project and a user of your organization")
	case err != nil:
		// The SDK's table of answers (package problem): 404 for another
		// organization's id, 409 for a duplicate, 503 for a database that
		// cannot answer now, 500 for a bug; never the error's text.
		if problem.For(err).Status >= 500 {
			s.log.ErrorContext(r.Context(), "query failed", "route", r.Pattern, "err", err)
		}
		problem.Write(w, r, err)
	case one && len(items) == 0:
		notFound(w, r)
	case one:
		writeJSON(w, status, items[0])
	default:
		writeJSON(w, status, map[string][]T{"items": items})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// notFound answers as the SDK answers no rows: the one answer for a
// missing object and for another organization's.
func notFound(w http.ResponseWriter, r *http.Request) {
	problem.Write(w, r, pgx.ErrNoRows)
}

// badRequest answers 400 with an RFC 9457 problem document, written by
// the same code as the SDK's answers.
func badRequest(w http.ResponseWriter, r *http.Request, detail string) {
	jwtctx.Problem{Status: http.StatusBadRequest, Title: "Bad Request", Code: "bad_request", Detail: detail}.Serve(w, r, nil)
}
