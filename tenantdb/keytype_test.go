package tenantdb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// keyCase is one tenant key type, with two tenants' keys, a guest's
// subject, and the ways a Go program may bind tenant A's key.
type keyCase struct {
	typ      tenancy.KeyType
	sqlType  string
	a, b     tenancy.ID
	guestA   tenancy.ID // a subject of A, assigned one of A's two tasks
	bindings []any      // tenant A's key, as different Go values
	bad      string     // a malformed key of this type
}

func keyCases(t testing.TB) []keyCase {
	text := func(s string) tenancy.ID {
		id, err := tenancy.TextID(s)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	ua, ub := tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000aa"), tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000bb")
	rawA, _ := ua.UUID()
	return []keyCase{
		{typ: tenancy.KeyUUID, sqlType: "uuid", a: ua, b: ub, guestA: tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a9"),
			bindings: []any{ua, ua.String(), strings.ToUpper(ua.String()), rawA, pgtype.UUID{Bytes: rawA, Valid: true}},
			bad:      "not-a-uuid"},
		{typ: tenancy.KeyBigint, sqlType: "bigint", a: tenancy.IntID(7), b: tenancy.IntID(8), guestA: tenancy.IntID(79),
			bindings: []any{tenancy.IntID(7), "7", int64(7), 7, int32(7), pgtype.Int8{Int64: 7, Valid: true}},
			bad:      "007"},
		{typ: tenancy.KeyText, sqlType: "text", a: text("acme"), b: text("globex"), guestA: text("acme-guest"),
			bindings: []any{text("acme"), "acme", pgtype.Text{String: "acme", Valid: true}},
			bad:      " acme"},
	}
}

// TestKeyTypesThroughEveryLayer runs the same isolation checks for each
// tenant key type, from a signed token over real HTTP through the guard
// and the pool to forced row-level security: every layer reads the key
// type from the one model.
func TestKeyTypesThroughEveryLayer(t *testing.T) {
	for _, kc := range keyCases(t) {
		t.Run(kc.typ.String(), func(t *testing.T) { testKeyType(t, kc) })
	}
}

func testKeyType(t *testing.T, kc keyCase) {
	ctx := context.Background()
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, fmt.Sprintf(`
		create table public.orgs (id %[1]s primary key, name text not null);
		create table public.projects (org_id %[1]s not null references public.orgs, id bigint generated always as identity, name text not null, primary key (org_id, id));
		create table public.tasks (org_id %[1]s not null references public.orgs, id bigint generated always as identity,
			assignee_id %[1]s, title text not null, primary key (org_id, id));`, kc.sqlType))
	model, err := rls.NewModel(rls.Config{
		OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
		TenantColumn: "org_id", TenantKey: kc.typ, SubjectKey: kc.typ,
		Kinds: []tenancy.KindSpec{{Name: "member", Access: tenancy.AccessTenant}, {Name: "guest", Access: tenancy.AccessSubject}},
	},
		rls.Table{Name: "public.orgs", Kind: rls.Registry},
		rls.Table{Name: "public.projects", ReadOnly: []tenancy.Kind{"guest"}},
		rls.Table{Name: "public.tasks", SubjectColumn: "assignee_id", ReadOnly: []tenancy.Kind{"guest"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	migration, err := model.Generate()
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, migration)
	db.Exec(t, pgtest.Admin, `insert into public.orgs values ($1, 'A'), ($2, 'B')`, kc.a, kc.b)
	db.Exec(t, pgtest.Admin, `insert into public.projects (org_id, name) values ($1, 'a1'), ($1, 'a2'), ($2, 'b1')`, kc.a, kc.b)
	db.Exec(t, pgtest.Admin, `insert into public.tasks (org_id, assignee_id, title) values ($1, $3, 'a-mine'), ($1, null, 'a-other'), ($2, null, 'b-task')`,
		kc.a, kc.b, kc.guestA)

	// B's rows exist: what follows must not see them.
	var bRows int
	if err := db.Conn(t, pgtest.Admin).QueryRow(ctx, `select (select count(*) from public.projects where org_id = $1) + (select count(*) from public.tasks where org_id = $1)`, kc.b).Scan(&bRows); err != nil || bRows != 2 {
		t.Fatalf("B's rows as the superuser: %d, %v; want 2", bRows, err)
	}

	// The helper returns the declared type.
	var typ string
	if err := db.Conn(t, pgtest.Owner).QueryRow(ctx, `select pg_catalog.format_type(prorettype, null) from pg_catalog.pg_proc where proname = 'current_tenant_id'`).Scan(&typ); err != nil || typ != map[string]string{"uuid": "uuid", "bigint": "bigint", "text": "text"}[kc.sqlType] {
		t.Errorf("current_tenant_id() returns %q (%v), want %s", typ, err, kc.sqlType)
	}

	key, err := jwtctx.GenerateKey("k")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := jwtctx.New(jwtctx.Config{Issuer: "i", Audience: "a", SigningKey: key, Revoker: jwtctx.NoRevocation, Principals: model.Principals()})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := tenantdb.New(ctx, db.Pool(t, pgtest.App), tenantdb.Config{Model: model, Sources: []tenancy.Source{jwtctx.Source(), tenancytest.Source()}, ContextMode: contextMode})
	if err != nil {
		t.Fatal(err)
	}
	rlsOnly, err := tenantdb.New(ctx, db.Pool(t, pgtest.App), tenantdb.Config{Model: model, Guard: allowAll{}, Sources: []tenancy.Source{tenancytest.Source()}, ContextMode: contextMode})
	if err != nil {
		t.Fatal(err)
	}

	// Over HTTP: the token carries the key as a string; the handler binds
	// it as the query's tenant.
	mw, err := jwtctx.NewMiddleware(auth, jwtctx.MiddlewareConfig{Accept: jwtctx.AnyToken})
	if err != nil {
		t.Fatal(err)
	}
	var bind any
	srv := httptest.NewServer(mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenancy.FromContext(r.Context())
		arg := bind
		if arg == nil {
			arg = p.Tenant
		}
		names, err := queryNames(r.Context(), pool, `select name from public.projects where org_id = $1 order by name`, arg)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		fmt.Fprint(w, strings.Join(names, ","))
	})))
	defer srv.Close()
	get := func(token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	memberA := tenancy.Principal{Kind: "member", Tenant: kc.a, Subject: kc.guestA}
	token, err := auth.Issue(memberA, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range kc.bindings {
		bind = b
		if _, raw := b.([16]byte); raw && contextMode == tenantdb.ContextSetLocal {
			// The SET LOCAL mode runs on pgx's exec mode, which sends
			// parameters as text and has no text encoding for a bare
			// [16]byte: pgx refuses it before anything is sent.
			if code, body := get(token); code != http.StatusForbidden || !strings.Contains(body, "unable to encode") {
				t.Errorf("A's key bound as %T in the exec mode: %d %q, want pgx's refusal to encode it", b, code, body)
			}
			continue
		}
		if code, body := get(token); code != http.StatusOK || body != "a1,a2" {
			t.Errorf("A's key bound as %T: %d %q, want 200 \"a1,a2\"", b, code, body)
		}
	}
	bind = kc.b
	if code, body := get(token); code != http.StatusForbidden || !strings.Contains(body, "refused") {
		t.Errorf("B's key bound by A's member: %d %q, want the guard's refusal", code, body)
	}
	bind = nil

	// A token whose tenant is not a key of the declared type is refused
	// at verification, and so is one with an undeclared kind.
	if bad, ok := malformed(kc.typ); ok {
		if _, err := auth.Issue(tenancy.Principal{Kind: "member", Tenant: bad, Subject: kc.guestA}, time.Minute); !errors.Is(err, tenancy.ErrInvalidID) {
			t.Errorf("Issue of a tenant %q for %s keys = %v, want ErrInvalidID", bad, kc.typ, err)
		}
	}
	if _, err := kc.typ.Parse(kc.bad); !errors.Is(err, tenancy.ErrInvalidID) {
		t.Errorf("Parse(%q) = %v, want ErrInvalidID", kc.bad, err)
	}
	if _, err := auth.Issue(tenancy.Principal{Kind: "auditor", Tenant: kc.a, Subject: kc.guestA}, time.Minute); !errors.Is(err, jwtctx.ErrIssue) {
		t.Errorf("Issue of an undeclared kind = %v, want ErrIssue", err)
	}

	// The guard alone refuses an unscoped statement; row-level security
	// alone, behind a guard that allows everything, still shows A's rows
	// only.
	ctxA := tenancytest.Context(ctx, memberA)
	if _, err := queryNames(ctxA, pool, `select name from public.projects order by name`); !errors.Is(err, sqlguard.ErrRefused) {
		t.Errorf("unscoped query: %v, want ErrRefused", err)
	}
	if names, err := queryNames(ctxA, rlsOnly, `select name from public.projects order by name`); err != nil || !slices.Equal(names, []string{"a1", "a2"}) {
		t.Errorf("row-level security alone: %v, %v; want [a1 a2]", names, err)
	}

	// A guest (subject-scoped) sees only its own task, and writes nothing.
	ctxGuest := tenancytest.Context(ctx, tenancy.Principal{Kind: "guest", Tenant: kc.a, Subject: kc.guestA})
	if names, err := queryNames(ctxGuest, rlsOnly, `select title from public.tasks order by title`); err != nil || !slices.Equal(names, []string{"a-mine"}) {
		t.Errorf("guest of A: %v, %v; want [a-mine]", names, err)
	}
	if _, err := rlsOnly.Exec(ctxGuest, `insert into public.projects (org_id, name) values ($1, 'x')`, kc.a); err == nil {
		t.Error("a guest inserted a project")
	}

	// An undeclared kind, or a tenant of another shape, never reaches the
	// database.
	refused := map[string]tenancy.Principal{"undeclared kind": {Kind: "auditor", Tenant: kc.a, Subject: kc.guestA}}
	if bad, ok := malformed(kc.typ); ok {
		refused["malformed tenant"] = tenancy.Principal{Kind: "member", Tenant: bad, Subject: kc.guestA}
	}
	for name, p := range refused {
		if _, err := queryNames(tenancytest.Context(ctx, p), rlsOnly, `select name from public.projects`); !errors.Is(err, tenancy.ErrInvalidPrincipal) {
			t.Errorf("%s: %v, want ErrInvalidPrincipal", name, err)
		}
	}
}

// malformed returns an ID that is not a key of type t, if there is one:
// every ID the package can make is a valid text key.
func malformed(t tenancy.KeyType) (tenancy.ID, bool) {
	switch t {
	case tenancy.KeyBigint:
		return tenancy.NewID(), true // a UUID
	case tenancy.KeyUUID:
		return tenancy.IntID(7), true
	}
	return tenancy.ID{}, false
}

func queryNames(ctx context.Context, q tenantdb.Querier, sql string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
