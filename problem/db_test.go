package problem_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/problem"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	tenantA = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	tenantB = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
	docB    = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000b1")
)

// allowAll lets every statement through, so that row-level security
// answers on its own.
type allowAll struct{}

func (allowAll) Check(string, []any, tenancy.ID) error { return nil }

// TestAnswersOfARealDatabase: the errors that a real tenantdb pool returns,
// as the app role under the generated policies, get their answers; a read
// of another tenant's object, refused by the guard or finding no row, is
// answered exactly as a missing object is.
func TestAnswersOfARealDatabase(t *testing.T) {
	db := pgtest.New(t)
	cfg := rls.Config{
		OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
		Kinds: []tenancy.KindSpec{{Name: "member", Access: tenancy.AccessTenant}},
	}
	db.Exec(t, pgtest.Owner, `create table public.docs (tenant_id uuid not null, id uuid not null, title text not null check (title <> ''),
		primary key (tenant_id, id), unique (tenant_id, title))`)
	table := rls.Table{Name: "public.docs"}
	sql, err := rls.Generate(cfg, table)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	db.Exec(t, pgtest.Admin, `insert into public.docs values ($1, $2, 'B''s doc')`, tenantB, docB)
	var n int
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select count(*) from public.docs where id = $1`, docB).Scan(&n); err != nil || n != 1 {
		t.Fatalf("tenant B's doc: %d rows (%v), want 1", n, err)
	}
	model, err := rls.NewModel(cfg, table)
	if err != nil {
		t.Fatal(err)
	}
	open := func(guard tenantdb.Guard) *tenantdb.Pool {
		p, err := tenantdb.New(context.Background(), db.Pool(t, pgtest.App), tenantdb.Config{Model: model, Guard: guard, Sources: []tenancy.Source{tenancytest.Source()}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	guarded, unguarded := open(nil), open(allowAll{})
	ctx := tenancytest.Context(context.Background(), tenancy.Principal{Kind: "member", Tenant: tenantA, Subject: tenancy.NewID()})
	answer := func(err error) (int, string) {
		t.Helper()
		if err == nil {
			t.Fatal("no error")
		}
		rec := httptest.NewRecorder()
		problem.Write(rec, httptest.NewRequest(http.MethodGet, "/docs/x", nil), err)
		return rec.Code, rec.Body.String()
	}
	read := func(p *tenantdb.Pool, tenant, id tenancy.ID) error {
		var title string
		return p.QueryRow(ctx, `select title from public.docs where tenant_id = $1 and id = $2`, tenant, id).Scan(&title)
	}

	missingStatus, missing := answer(read(guarded, tenantA, tenancy.NewID()))
	if missingStatus != 404 {
		t.Fatalf("a missing doc: %d %s, want 404", missingStatus, missing)
	}
	for name, err := range map[string]error{
		"another tenant's doc, named as the tenant (the guard refuses)": read(guarded, tenantB, docB),
		"another tenant's doc, by id (row-level security hides it)":     read(guarded, tenantA, docB),
		"another tenant's doc, without the guard":                       read(unguarded, tenantB, docB),
	} {
		if status, body := answer(err); status != missingStatus || body != missing {
			t.Errorf("%s: %d %s, want the missing doc's answer %d %s", name, status, body, missingStatus, missing)
		}
	}

	insert := func(p *tenantdb.Pool, tenant tenancy.ID, title string) error {
		_, err := p.Exec(ctx, `insert into public.docs (tenant_id, id, title) values ($1, $2, $3)`, tenant, tenancy.NewID(), title)
		return err
	}
	if err := insert(guarded, tenantA, "A's doc"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		err    error
		status int
	}{
		{"a duplicate title", insert(guarded, tenantA, "A's doc"), 409},
		{"an empty title", insert(guarded, tenantA, ""), 422},
		{"a row for another tenant, past the guard (row-level security refuses)", insert(unguarded, tenantB, "x"), 403},
		{"a row for another tenant (the guard refuses)", insert(guarded, tenantB, "x"), 404},
		{"an unscoped statement", func() error { _, err := guarded.Exec(ctx, `delete from public.docs`); return err }(), 500},
	} {
		if status, body := answer(tt.err); status != tt.status {
			t.Errorf("%s: %d %s (from %v), want %d", tt.name, status, body, tt.err, tt.status)
		}
	}
}
