package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	riverside = seed.Clinics[0]
	hillcrest = seed.Clinics[1]
)

// newStore migrates and seeds a database of the test's own (the owner
// runs the migrations and may bypass RLS, as in production) and returns a
// store on the app role's pool, as the app builds it, with the test's
// principals admitted (tenancytest.Source).
func newStore(t *testing.T) *store.Store {
	t.Helper()
	st, _ := newStoreDB(t)
	return st
}

// newStoreDB is newStore and its database, for fixtures written as the
// superuser.
func newStoreDB(t *testing.T) (*store.Store, *pgtest.DB) {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	db.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls")
	roles := migrations.Roles{Owner: db.RoleName(pgtest.Owner), App: db.RoleName(pgtest.App), Platform: db.RoleName(pgtest.Platform), Audit: db.RoleName(pgtest.Audit)}
	if _, err := migrations.Up(ctx, migrations.Conns{Owner: db.ConnString(pgtest.Owner), AuditAdmin: db.ConnString(pgtest.Admin)}, roles); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, db.Conn(t, pgtest.Owner), func(tx pgx.Tx) error { return seed.Write(ctx, tx, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	model, err := migrations.Model(roles)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := tenantdb.New(ctx, db.Pool(t, pgtest.App), tenantdb.Config{Model: model, Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	return store.New(pool, db.Pool(t, pgtest.Platform), store.Options{}), db
}

// staffAt is a context of a front desk member of clinic c.
func staffAt(c seed.Clinic) context.Context {
	return tenancytest.Context(context.Background(), tenancy.Principal{Kind: kinds.Staff, Tenant: c.ID, Subject: tenancy.NewID(), Roles: []string{"front_desk"}})
}

// TestListPatientsNamePrefix is the store's side of the family-name
// prefix search (the API's is TestNamePrefixSearch): the index range of
// NamePrefixBounds matches the start of the family name, ignoring the case
// of A to Z only, literally (no LIKE wildcards), after non-ASCII
// characters; page by page with the cursor it returns what one page does;
// and a prefix of Hillcrest's patient finds them at Hillcrest (the data
// exists) and nothing of Hillcrest's at Riverside.
func TestListPatientsNamePrefix(t *testing.T) {
	st := newStore(t)
	river, hill := staffAt(riverside), staffAt(hillcrest)
	for _, fam := range []string{"Zoëprefixtest", "ZOEprefixtest", "Øprefixtest", "Zo_prefixtest", "Zo%prefixtest"} {
		given := "Prefix"
		if _, err := st.CreatePatient(river, store.PatientInput{GivenName: &given, FamilyName: &fam}); err != nil {
			t.Fatalf("create %s: %v", fam, err)
		}
	}
	list := func(ctx context.Context, f store.PatientFilter) ([]store.Patient, string) {
		t.Helper()
		ps, next, err := st.ListPatients(ctx, f)
		if err != nil {
			t.Fatalf("ListPatients(%+v): %v", f, err)
		}
		return ps, next
	}
	has := func(ps []store.Patient, fam string) bool {
		for _, p := range ps {
			if p.FamilyName == fam {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		prefix   string
		want     []string
		wantNone []string
	}{
		{"zo", []string{"Zoëprefixtest", "ZOEprefixtest", "Zo_prefixtest", "Zo%prefixtest"}, nil},
		{"ZOË", nil, []string{"Zoëprefixtest", "ZOEprefixtest"}}, // Ë is not A-Z: matched as it is
		{"zoë", []string{"Zoëprefixtest"}, []string{"ZOEprefixtest"}},
		{"zoe", []string{"ZOEprefixtest"}, []string{"Zoëprefixtest"}},
		{"Ø", []string{"Øprefixtest"}, nil},
		{"Zo_", []string{"Zo_prefixtest"}, []string{"Zoëprefixtest", "ZOEprefixtest", "Zo%prefixtest"}}, // _ is no wildcard
		{"zo%", []string{"Zo%prefixtest"}, []string{"Zoëprefixtest", "ZOEprefixtest", "Zo_prefixtest"}}, // nor is %
		{"%", nil, []string{"Zo%prefixtest"}},
		{"zoeprefixtestx", nil, []string{"ZOEprefixtest"}},
		{"\U0010FFFF", nil, nil}, // no upper bound: still a valid, empty search
	} {
		got, _ := list(river, store.PatientFilter{NamePrefix: c.prefix, Limit: 200})
		for _, w := range c.want {
			if !has(got, w) {
				t.Errorf("NamePrefix %q: %s missing", c.prefix, w)
			}
		}
		for _, w := range c.wantNone {
			if has(got, w) {
				t.Errorf("NamePrefix %q: %s returned", c.prefix, w)
			}
		}
		lo, _, _ := store.NamePrefixBounds(c.prefix)
		for _, p := range got {
			if p.ClinicID != riverside.ID || !strings.HasPrefix(store.FoldName(p.FamilyName), lo) {
				t.Errorf("NamePrefix %q returned %s %s of clinic %v", c.prefix, p.GivenName, p.FamilyName, p.ClinicID)
			}
		}
	}

	// Page by page, with the cursor, the same patients as in one page.
	all, next := list(river, store.PatientFilter{NamePrefix: "w", Limit: 200})
	if next != "" || len(all) < 3 {
		t.Fatalf("NamePrefix w: %d patients, next %q; want at least 3 on one page", len(all), next)
	}
	var paged []store.Patient
	cursor := ""
	for i := 0; ; i++ {
		if i > len(all) {
			t.Fatal("paging does not end")
		}
		page, next := list(river, store.PatientFilter{NamePrefix: "w", Limit: 2, Cursor: cursor})
		paged = append(paged, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(paged) != len(all) {
		t.Fatalf("paged %d patients, one page %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i].ID != all[i].ID {
			t.Fatalf("page order differs at %d: %s against %s", i, paged[i].FamilyName, all[i].FamilyName)
		}
	}

	// Hillcrest's patient: found at Hillcrest, nothing of it at Riverside.
	family := seed.HillcrestOnly[strings.LastIndex(seed.HillcrestOnly, " ")+1:] // Whitlock
	for _, prefix := range []string{family, strings.ToLower(family[:4]), strings.ToUpper(family[:3])} {
		got, _ := list(hill, store.PatientFilter{NamePrefix: prefix, Limit: 200})
		found := false
		for _, p := range got {
			found = found || p.FamilyName == family && p.ClinicID == hillcrest.ID
		}
		if !found {
			t.Fatalf("Hillcrest's own NamePrefix %q does not find %s; the fixture is missing", prefix, family)
		}
		got, _ = list(river, store.PatientFilter{NamePrefix: prefix, Limit: 200})
		for _, p := range got {
			if p.ClinicID != riverside.ID || p.FamilyName == family {
				t.Errorf("LEAK: Riverside's NamePrefix %q returned %s %s of clinic %v", prefix, p.GivenName, p.FamilyName, p.ClinicID)
			}
		}
	}
}
