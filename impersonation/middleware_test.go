package impersonation_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/impersonation"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// notesApp is a small application on the fixture: notes read and written
// the way a store does, through impersonation.Record and RequestTx, behind
// jwtctx's and the impersonation middleware.
type notesApp struct {
	srv        http.Handler
	token      string // an impersonation token for tenant A
	staffToken string // a staff token for tenant A
	grant      impersonation.Grant
	note       tenancy.ID // a note of tenant A
}

func newNotesApp(t *testing.T, f *fixture, cfg impersonation.MiddlewareConfig) *notesApp {
	t.Helper()
	w := newWorld(t, f)
	a := &notesApp{note: tenancy.NewID()}
	f.db.Exec(t, pgtest.Admin, `insert into public.notes (tenant_id, id, body) values ($1, $2, 'a note')`, tenantA, a.note)

	// read opens one note, as a store's "view one record" does: in a
	// transaction that records the opening.
	read := func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id, err := tenancy.ParseID(r.PathValue("id"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		var body string
		err = impersonation.RequestTx(ctx, f.app, func(tx *tenantdb.Tx) error {
			p, _ := tenancy.FromContext(ctx)
			if err := tx.QueryRow(ctx, `select body from public.notes where tenant_id = $1 and id = $2`, p.Tenant, id).Scan(&body); err != nil {
				return err
			}
			return impersonation.Record(ctx, tx, audit.Event{Action: "note.view", ResourceType: "note", ResourceID: id.String(), Outcome: audit.Success})
		})
		if err != nil {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		w.Write([]byte(body))
	}
	// readOutside reads without RequestTx and tells the middleware with
	// Touch: the event is written after the handler.
	readOutside := func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := r.PathValue("id")
		var body string
		err := f.app.Tx(ctx, func(tx *tenantdb.Tx) error {
			p, _ := tenancy.FromContext(ctx)
			return tx.QueryRow(ctx, `select body from public.notes where tenant_id = $1 and id = $2`, p.Tenant, id).Scan(&body)
		})
		if err != nil {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		impersonation.Touch(ctx, "note", id)
		w.Write([]byte(body))
	}
	write := func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := tenancy.NewID()
		err := impersonation.RequestTx(ctx, f.app, func(tx *tenantdb.Tx) error {
			p, _ := tenancy.FromContext(ctx)
			if _, err := tx.Exec(ctx, `insert into public.notes (tenant_id, id, body) values ($1, $2, 'x')`, p.Tenant, id); err != nil {
				return err
			}
			return impersonation.Record(ctx, tx, audit.Event{Action: "note.create", ResourceType: "note", ResourceID: id.String(), Outcome: audit.Success})
		})
		if err != nil {
			http.Error(w, "failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Location", "/notes/"+id.String())
		w.WriteHeader(http.StatusCreated)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /notes/{id}", read)
	mux.HandleFunc("GET /plain/{id}", readOutside)
	mux.HandleFunc("GET /notes", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("a list")) })
	mux.HandleFunc("GET /denied", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) })
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("POST /notes", write)
	mux.HandleFunc("POST /forced", write)

	jm, err := jwtctx.NewMiddleware(w.auth, jwtctx.MiddlewareConfig{Accept: jwtctx.AnyToken})
	if err != nil {
		t.Fatal(err)
	}
	im, err := impersonation.NewMiddleware(f.app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.srv = jm.Handler(im.Handler(mux))
	if a.grant, a.token, err = w.imp.Start(adminCtx(), tenantA, "support ticket 4711", 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	a.staffToken, err = w.auth.Issue(tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: tenantA, Subject: ownerA, Roles: []string{"owner"}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *notesApp) do(token, method, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	a.srv.ServeHTTP(rec, req)
	return rec
}

func TestEveryImpersonatedRequestWritesOneEvent(t *testing.T) {
	f := setup(t)
	// Forced failure for one route's event.
	f.db.Exec(t, pgtest.Admin, `alter table audit.events add constraint forced_failure check (action <> 'POST /forced')`)
	a := newNotesApp(t, f, impersonation.MiddlewareConfig{})
	notes := func() int {
		var n int
		if err := f.db.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select count(*) from public.notes`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	note := a.note.String()
	tests := []struct {
		name       string
		token      string
		method     string
		path       string
		wantStatus int
		wantEvents int    // new events in A's chain
		wantAction string // of the new event
		wantType   string
		wantID     string // "new" for the note created
		wantOut    audit.Outcome
		wantNotes  int // notes added
	}{
		{"read of a note", a.token, "GET", "/notes/" + note, 200, 1, "GET /notes/{id}", "note", note, audit.Success, 0},
		{"read told by Touch", a.token, "GET", "/plain/" + note, 200, 1, "GET /plain/{id}", "note", note, audit.Success, 0},
		{"list, no record", a.token, "GET", "/notes", 200, 1, "GET /notes", "", "", audit.Success, 0},
		{"write", a.token, "POST", "/notes", 201, 1, "POST /notes", "note", "new", audit.Success, 1},
		{"denied", a.token, "GET", "/denied", 403, 1, "GET /denied", "", "", audit.Denied, 0},
		{"handler panics", a.token, "GET", "/boom", 500, 1, "GET /boom", "", "", audit.Failure, 0},
		{"unrouted", a.token, "GET", "/nowhere/secret-name", 404, 1, "GET (unrouted)", "", "", audit.Failure, 0},
		{"write whose event cannot be written", a.token, "POST", "/forced", 503, 0, "", "", "", 0, 0},
		// Not impersonated: the middleware records nothing; the store's
		// domain event is the staff member's own.
		{"staff read", a.staffToken, "GET", "/notes/" + note, 200, 1, "note.view", "note", note, audit.Success, 0},
		{"staff write", a.staffToken, "POST", "/notes", 201, 1, "note.create", "note", "new", audit.Success, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, notesBefore := f.adminCount(t, tenantA, ""), notes()
			rec := a.do(tt.token, tt.method, tt.path)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); tt.wantStatus >= 500 && ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			if got := f.adminCount(t, tenantA, "") - before; got != tt.wantEvents {
				t.Errorf("%d new events, want %d", got, tt.wantEvents)
			}
			if got := notes() - notesBefore; got != tt.wantNotes {
				t.Errorf("%d new notes, want %d", got, tt.wantNotes)
			}
			if tt.wantEvents == 0 {
				return
			}
			events := f.events(t, tenantA)
			last := events[len(events)-1]
			wantID := tt.wantID
			if wantID == "new" {
				wantID = strings.TrimPrefix(rec.Header().Get("Location"), "/notes/")
			}
			if last.Action != tt.wantAction || last.ResourceType != tt.wantType || last.ResourceID != wantID || last.Outcome != tt.wantOut {
				t.Errorf("event %s %s/%s %s, want %s %s/%s %s", last.Action, last.ResourceType, last.ResourceID, last.Outcome,
					tt.wantAction, tt.wantType, wantID, tt.wantOut)
			}
			if tt.token == a.token && (last.Grant != a.grant.ID || last.Impersonator != admin || last.Actor != admin || last.RequestID == "") {
				t.Errorf("event %+v, want grant %s and admin %s", last, a.grant.ID, admin)
			}
			if tt.token == a.staffToken && (!last.Grant.IsZero() || last.Actor != ownerA) {
				t.Errorf("staff event %+v, want the owner as actor and no grant", last)
			}
		})
	}
	if _, err := audit.Verify(context.Background(), f.platform, tenantA); err != nil {
		t.Error(err)
	}
}

// TestWriteEventCommitsInTheWritesTransaction: the impersonated write's
// note and its event were written by one transaction (the same xmin), and
// a write whose event fails leaves no note (above, "write whose event
// cannot be written").
func TestWriteEventCommitsInTheWritesTransaction(t *testing.T) {
	f := setup(t)
	a := newNotesApp(t, f, impersonation.MiddlewareConfig{})
	rec := a.do(a.token, "POST", "/notes")
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d, want 201", rec.Code)
	}
	id := strings.TrimPrefix(rec.Header().Get("Location"), "/notes/")
	conn := f.db.Conn(t, pgtest.Admin)
	var noteTx, eventTx string
	var events int
	if err := conn.QueryRow(context.Background(), `select xmin::text from public.notes where id = $1`, id).Scan(&noteTx); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(context.Background(), `select min(xmin::text), count(*) from audit.events
		where resource_id = $1 and impersonation_grant_id = $2`, id, a.grant.ID).Scan(&eventTx, &events); err != nil {
		t.Fatal(err)
	}
	if events != 1 || eventTx != noteTx {
		t.Errorf("%d events for the note, written by transaction %s; the note by %s: want 1, the same", events, eventTx, noteTx)
	}
}

// TestDenyRendersRefusals: with Deny set, the middleware's refusals are
// the application's own responses, and the problem is in the context.
func TestDenyRendersRefusals(t *testing.T) {
	f := setup(t)
	f.db.Exec(t, pgtest.Admin, `alter table audit.events add constraint forced_failure check (action <> 'POST /forced')`)
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := jwtctx.ProblemFromContext(r.Context())
		if !ok {
			t.Error("no problem in the deny handler's context")
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(p.Status)
		w.Write([]byte("<p>" + p.Title + "</p>"))
	})
	a := newNotesApp(t, f, impersonation.MiddlewareConfig{Deny: deny})
	for _, tt := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"POST", "/forced", 503, "<p>Service Unavailable</p>"},
		{"GET", "/boom", 500, "<p>Internal Server Error</p>"},
	} {
		rec := a.do(a.token, tt.method, tt.path)
		if rec.Code != tt.status || rec.Body.String() != tt.body || rec.Header().Get("Content-Type") != "text/html" {
			t.Errorf("%s %s: %d %q %q, want %d %q text/html", tt.method, tt.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body, tt.status, tt.body)
		}
	}
}
