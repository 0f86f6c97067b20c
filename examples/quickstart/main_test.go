package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	acme   = tenancy.IntID(1)
	globex = tenancy.IntID(2)
)

// testApp is the tracker on a fresh database of its own, migrated by the
// tracker's own migration with the test database's roles, and seeded.
type testApp struct {
	db    *pgtest.DB
	model *rls.Model
	pool  *tenantdb.Pool // the app role's, accepting tenancytest.Context principals too
	auth  *jwtctx.Authority
	mux   *tenancytest.ServeMux // the API, recording its routes
	admin *pgx.Conn             // the superuser: fixtures, and proof that data exists
	users []user                // a member and a guest of each org
}

func startApp(t *testing.T) *testApp {
	t.Helper()
	a := &testApp{}
	a.db = pgtest.NewMigrated(t, func(ctx context.Context, db *pgtest.DB) error {
		var err error
		if a.model, err = newModel(testRoles(db)); err != nil {
			return err
		}
		return migrate(ctx, db.ConnString(pgtest.Owner), a.model)
	})
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	var err error
	if a.pool, err = openPool(ctx, a.db.ConnString(pgtest.App), a.model, log, tenancytest.Source()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.pool.Close)
	if a.users, err = seed(ctx, a.pool); err != nil {
		t.Fatal(err)
	}
	if a.auth, err = newAuthority(a.model); err != nil {
		t.Fatal(err)
	}
	a.mux = tenancytest.NewServeMux()
	if err := (&server{db: a.pool, log: log}).routes(a.mux, a.auth); err != nil {
		t.Fatal(err)
	}
	a.admin = a.db.Conn(t, pgtest.Admin)
	return a
}

func testRoles(db *pgtest.DB) roles {
	return roles{owner: db.RoleName(pgtest.Owner), app: db.RoleName(pgtest.App), platform: db.RoleName(pgtest.Platform)}
}

// user returns the seeded user of org of kind k.
func (a *testApp) user(t *testing.T, org tenancy.ID, k tenancy.Kind) user {
	t.Helper()
	for _, u := range a.users {
		if u.Principal.Tenant == org && u.Principal.Kind == k {
			return u
		}
	}
	t.Fatalf("no %s seeded in org %s", k, org)
	return user{}
}

func (a *testApp) token(t *testing.T, p tenancy.Principal) string {
	t.Helper()
	tok, err := a.auth.Issue(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// response is one answer of the API.
type response struct {
	status int
	ctype  string
	body   []byte
}

// do sends a request to the API with token (none if empty) and body
// (marshalled unless it is a string).
func (a *testApp) do(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequestWithContext(t.Context(), method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	a.mux.ServeHTTP(w, req)
	return response{w.Code, w.Header().Get("Content-Type"), w.Body.Bytes()}
}

// count returns, as the superuser, the number of rows of table (a name of
// the tracker's schema) in org.
func (a *testApp) count(t *testing.T, table string, org tenancy.ID) int {
	t.Helper()
	var n int
	if err := a.admin.QueryRow(t.Context(), `select count(*) from `+pgx.Identifier{table}.Sanitize()+` where org_id = $1`, org).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// ids returns, as the superuser, the ids of table's rows in org, with the
// assignee of each task.
func (a *testApp) ids(t *testing.T, table string, org tenancy.ID) map[tenancy.ID]tenancy.ID {
	t.Helper()
	col := "null::bigint"
	if table == "tasks" {
		col = "assignee_id"
	}
	rows, err := a.admin.Query(t.Context(), `select id, `+col+` from `+pgx.Identifier{table}.Sanitize()+` where org_id = $1`, org)
	if err != nil {
		t.Fatal(err)
	}
	out := map[tenancy.ID]tenancy.ID{}
	for rows.Next() {
		var id tenancy.ID
		var subject *tenancy.ID
		if err := rows.Scan(&id, &subject); err != nil {
			t.Fatal(err)
		}
		out[id] = tenancy.ID{}
		if subject != nil {
			out[id] = *subject
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
