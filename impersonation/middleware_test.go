package audit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestEveryImpersonatedRequestWritesOneEvent(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f)
	// Forced failure for one route's event.
	f.db.Exec(t, pgtest.Admin, `alter table audit.events add constraint forced_failure check (resource_id <> 'POST /forced')`)

	insertNote := func(r *http.Request) error {
		return audit.RequestTx(r.Context(), f.app, func(tx *tenantdb.Tx) error {
			p, _ := tenancy.FromContext(r.Context())
			_, err := tx.Exec(r.Context(), `insert into public.notes (clinic_id, id, body) values ($1, $2, 'x')`, p.Tenant, tenancy.NewID())
			return err
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /notes/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("a note")) })
	mux.HandleFunc("GET /denied", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) })
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	write := func(w http.ResponseWriter, r *http.Request) {
		if err := insertNote(r); err != nil {
			http.Error(w, "failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}
	mux.HandleFunc("POST /notes", write)
	mux.HandleFunc("POST /forced", write)

	jm, err := jwtctx.NewMiddleware(w.auth, jwtctx.MiddlewareConfig{Accept: jwtctx.AnyToken})
	if err != nil {
		t.Fatal(err)
	}
	am, err := audit.NewMiddleware(f.app, audit.MiddlewareConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv := jm.Handler(am.Handler(mux))

	g, token, err := w.imp.Start(adminCtx(), clinicA, "support ticket 4711", 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	staffToken, err := w.auth.Issue(tenancy.Principal{Kind: tenancy.KindStaff, Tenant: clinicA, Subject: ownerA, Roles: []string{"owner"}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	notes := func() int {
		var n int
		if err := f.db.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select count(*) from public.notes`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	tests := []struct {
		name       string
		token      string
		method     string
		path       string
		wantStatus int
		wantEvents int    // new http.request events
		wantRoute  string // of the new event
		wantOut    audit.Outcome
		wantNotes  int // notes added
	}{
		{"read", token, "GET", "/notes/123", 200, 1, "GET /notes/{id}", audit.Success, 0},
		{"write", token, "POST", "/notes", 201, 1, "POST /notes", audit.Success, 1},
		{"denied", token, "GET", "/denied", 403, 1, "GET /denied", audit.Denied, 0},
		{"handler panics", token, "GET", "/boom", 500, 1, "GET /boom", audit.Failure, 0},
		{"unrouted", token, "GET", "/nowhere/secret-name", 404, 1, "GET (no route)", audit.Failure, 0},
		{"write whose event cannot be written", token, "POST", "/forced", 503, 0, "", 0, 0},
		{"staff request", staffToken, "POST", "/notes", 201, 0, "", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, notesBefore := f.adminCount(t, clinicA, audit.ActionRequest), notes()
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := f.adminCount(t, clinicA, audit.ActionRequest) - before; got != tt.wantEvents {
				t.Errorf("%d new request events, want %d", got, tt.wantEvents)
			}
			if got := notes() - notesBefore; got != tt.wantNotes {
				t.Errorf("%d new notes, want %d", got, tt.wantNotes)
			}
			if tt.wantEvents == 0 {
				return
			}
			events, err := audit.List(context.Background(), f.platformQuerier(t), clinicA, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			last := events[len(events)-1]
			if last.ResourceID != tt.wantRoute || last.Outcome != tt.wantOut || last.Grant != g.ID ||
				last.Impersonator != admin || last.Actor != admin || last.RequestID == "" {
				t.Errorf("event %+v, want route %q, outcome %s, grant %s and admin %s", last, tt.wantRoute, tt.wantOut, g.ID, admin)
			}
		})
	}
	if _, err := audit.Verify(context.Background(), f.platform, clinicA); err != nil {
		t.Error(err)
	}
}

func TestOnSystemRecordsPlatformEvents(t *testing.T) {
	for _, role := range []pgtest.Role{pgtest.Platform, pgtest.Owner} {
		t.Run(role.String(), func(t *testing.T) {
			f := setup(t)
			pool, err := tenantdb.New(context.Background(), f.db.Pool(t, pgtest.App), tenantdb.Config{
				Model: f.model, Guard: allowAll{}, System: f.db.Pool(t, role), OnSystem: audit.OnSystem, Sources: []tenancy.Source{tenancytest.Source()},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, ctx := range []context.Context{context.Background(), adminCtx()} {
				if err := pool.System(ctx, "list clinics for the admin console", func(*tenantdb.SystemTx) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := audit.Verify(context.Background(), f.platform, tenancy.ID{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Events != 2 || f.adminCount(t, tenancy.ID{}, audit.ActionSystem) != 2 {
				t.Errorf("%d platform events, want 2", rep.Events)
			}
		})
	}
}
