package tenancytest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

// TestProbeSQLKeyTypes runs ProbeSQL over the same schema keyed by each
// tenant key type: isolated, it passes (the subject-scoped probe included,
// with a subject of the declared type); with row-level security removed
// from one table, it reports that table's holes and no other.
func TestProbeSQLKeyTypes(t *testing.T) {
	acme, _ := tenancy.TextID("acme")
	globex, _ := tenancy.TextID("globex")
	guestB, _ := tenancy.TextID("guest-of-globex")
	for _, kc := range []struct {
		typ        tenancy.KeyType
		sqlType    string
		a, b, subj tenancy.ID
	}{
		{tenancy.KeyUUID, "uuid", clinicA, clinicB, tenancy.NewID()},
		{tenancy.KeyBigint, "bigint", tenancy.IntID(7), tenancy.IntID(8), tenancy.IntID(88)},
		{tenancy.KeyText, "text", acme, globex, guestB},
	} {
		t.Run(kc.typ.String(), func(t *testing.T) {
			db := pgtest.New(t)
			db.Exec(t, pgtest.Owner, fmt.Sprintf(`
				create table public.projects (org_id %[1]s not null, id bigint not null, name text not null, primary key (org_id, id));
				create table public.tasks (org_id %[1]s not null, id bigint not null, assignee_id %[1]s, title text not null, primary key (org_id, id));`, kc.sqlType))
			model, err := rls.NewModel(rls.Config{
				OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
				TenantColumn: "org_id", TenantKey: kc.typ, SubjectKey: kc.typ,
				Kinds: []tenancy.KindSpec{{Name: "member", Access: tenancy.AccessTenant}, {Name: "guest", Access: tenancy.AccessSubject}},
			}, rls.Table{Name: "public.projects"}, rls.Table{Name: "public.tasks", SubjectColumn: "assignee_id"})
			if err != nil {
				t.Fatal(err)
			}
			migration, err := model.Generate()
			if err != nil {
				t.Fatal(err)
			}
			db.Exec(t, pgtest.Owner, migration)
			db.Exec(t, pgtest.Admin, `insert into public.projects values ($1, 1, 'a'), ($2, 1, 'b')`, kc.a, kc.b)
			db.Exec(t, pgtest.Admin, `insert into public.tasks values ($1, 1, null, 'a'), ($2, 1, $3, 'b')`, kc.a, kc.b, kc.subj)
			cfg := SQLConfig{App: db.Pool(t, pgtest.App), Privileged: db.Conn(t, pgtest.Admin), Model: model, TenantA: kc.a, TenantB: kc.b}
			ProbeSQL(t, cfg)

			db.Exec(t, pgtest.Owner, `alter table public.tasks no force row level security; alter table public.tasks disable row level security`)
			r := probe(t, cfg)
			got := r.holes()
			if len(got) == 0 || slices.ContainsFunc(got, func(h hole) bool { return h.Table != "public.tasks" }) {
				t.Errorf("with tasks unprotected, ProbeSQL reported %v; want holes of public.tasks only", got)
			}
		})
	}
}
