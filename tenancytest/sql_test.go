package tenancytest

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// schemaSQL has tables isolated by rls.Generate (generated) and tables
// with holes (broken), each with rows of both tenants unless said.
const schemaSQL = `
CREATE SCHEMA audit;
CREATE TABLE public.clinics (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.patients (
	clinic_id uuid NOT NULL REFERENCES public.clinics (id),
	id uuid NOT NULL,
	email text NOT NULL,
	name text NOT NULL,
	tags text[] NOT NULL DEFAULT '{}',
	PRIMARY KEY (clinic_id, id),
	UNIQUE (clinic_id, email)
);
CREATE TABLE public.appointments (
	clinic_id uuid NOT NULL,
	id uuid NOT NULL,
	patient_id uuid NOT NULL,
	starts_at timestamptz NOT NULL DEFAULT now(),
	note text NOT NULL DEFAULT '',
	note_len integer GENERATED ALWAYS AS (length(note)) STORED,
	PRIMARY KEY (clinic_id, id),
	FOREIGN KEY (clinic_id, patient_id) REFERENCES public.patients (clinic_id, id)
);
CREATE TABLE public.settings (
	clinic_id uuid PRIMARY KEY REFERENCES public.clinics (id),
	data jsonb NOT NULL DEFAULT '{}'
);
-- A key without the tenant column: the upsert of a row of A collides with B's.
CREATE TABLE public.tags (
	id uuid PRIMARY KEY,
	clinic_id uuid NOT NULL,
	label text NOT NULL
);
-- Append-only and readable only by owners; no primary key.
CREATE TABLE audit.events (
	clinic_id uuid,
	seq bigint NOT NULL,
	id uuid NOT NULL,
	action text NOT NULL,
	UNIQUE NULLS NOT DISTINCT (clinic_id, seq)
);
-- Only A has rows.
CREATE TABLE public.drafts (
	clinic_id uuid NOT NULL,
	id uuid NOT NULL,
	body text NOT NULL,
	PRIMARY KEY (clinic_id, id)
);
-- Tenant tables whose tenant column has another name: isolated by
-- rls.Generate with its own column, and broken (no row-level security).
CREATE TABLE public.org_notes (
	org_id uuid NOT NULL,
	id uuid NOT NULL,
	body text NOT NULL,
	PRIMARY KEY (org_id, id)
);
CREATE TABLE public.attachments (
	organization_id uuid NOT NULL,
	id uuid NOT NULL,
	name text NOT NULL,
	PRIMARY KEY (organization_id, id)
);
-- Broken: row-level security never enabled.
CREATE TABLE public.notes_no_rls (
	clinic_id uuid NOT NULL,
	id uuid NOT NULL,
	body text NOT NULL,
	PRIMARY KEY (clinic_id, id)
);
-- Broken: a PERMISSIVE policy for the app role and no RESTRICTIVE tenant policy.
CREATE TABLE public.notes_permissive (
	clinic_id uuid NOT NULL,
	id uuid NOT NULL,
	body text NOT NULL,
	PRIMARY KEY (clinic_id, id)
);
ALTER TABLE public.notes_permissive ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
`

var (
	clinicA = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	clinicB = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
)

// generated are the tables isolated by rls.Generate.
var generated = []rls.Table{
	{Name: "public.clinics", Kind: rls.Registry},
	{Name: "public.patients", SubjectColumn: "id"},
	{Name: "public.appointments", SubjectColumn: "patient_id", ReadOnly: []tenancy.Kind{tenancy.Kind("patient")}},
	{Name: "public.settings"},
	{Name: "public.tags"},
	{Name: "audit.events", ReadRoles: []string{"owner"}, Privileges: []string{"SELECT", "INSERT"}},
	{Name: "public.drafts"},
	{Name: "public.org_notes", TenantColumn: "org_id"},
}

// broken are the tables with holes, as a model that knows them lists them.
var broken = []rls.Table{
	{Name: "public.notes_no_rls"},
	{Name: "public.notes_permissive"},
	{Name: "public.attachments", TenantColumn: "organization_id"},
}

// specsNamed returns the specs of generated and broken with these names.
func specsNamed(t *testing.T, names ...string) []rls.Table {
	t.Helper()
	var out []rls.Table
	for _, n := range names {
		i := slices.IndexFunc(append(slices.Clone(generated), broken...), func(s rls.Table) bool { return s.Name == n })
		if i < 0 {
			t.Fatalf("test error: no spec %s", n)
		}
		out = append(out, append(slices.Clone(generated), broken...)[i])
	}
	return out
}

// probeModel is the model ProbeSQL is given: db's roles and specs.
func probeModel(t *testing.T, db *pgtest.DB, specs ...rls.Table) *rls.Model {
	t.Helper()
	m, err := rls.NewModel(rls.Config{
		OwnerRole:    db.RoleName(pgtest.Owner),
		AppRole:      db.RoleName(pgtest.App),
		PlatformRole: db.RoleName(pgtest.Platform),
		TenantColumn: "clinic_id",
		Kinds:        testKinds,
	}, specs...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fixture returns a database with schemaSQL, the generated isolation, the
// broken tables' grants and policy, and rows of A and B (written by the
// superuser, past row-level security).
// fixtureModel is the isolation model of the generated tables for db's
// roles.
func fixtureModel(t *testing.T, db *pgtest.DB) *rls.Model {
	t.Helper()
	m, err := rls.NewModel(rls.Config{
		OwnerRole:    db.RoleName(pgtest.Owner),
		AppRole:      db.RoleName(pgtest.App),
		PlatformRole: db.RoleName(pgtest.Platform),
		TenantColumn: "clinic_id",
		Kinds:        testKinds,
	}, generated...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func fixture(t *testing.T) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, schemaSQL)
	migration, err := fixtureModel(t, db).Generate()
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, migration)
	app := pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize()
	db.Exec(t, pgtest.Owner, `
		GRANT SELECT, INSERT, UPDATE, DELETE ON public.notes_no_rls, public.notes_permissive, public.attachments TO `+app+`;
		CREATE POLICY open ON public.notes_permissive AS PERMISSIVE FOR ALL TO `+app+` USING (true) WITH CHECK (true);`)
	db.Exec(t, pgtest.Admin, strings.NewReplacer("$1", "'"+clinicA.String()+"'", "$2", "'"+clinicB.String()+"'").Replace(`
		INSERT INTO public.clinics VALUES ($1, 'A'), ($2, 'B');
		INSERT INTO public.patients (clinic_id, id, email, name, tags) VALUES
			($1, '0195f1c2-0000-7000-8000-0000000000a1', 'a1@example.com', 'A One', '{vip}'),
			($1, '0195f1c2-0000-7000-8000-0000000000a2', 'a2@example.com', 'A Two', '{}'),
			($2, '0195f1c2-0000-7000-8000-0000000000b1', 'b1@example.com', 'B One', '{"x,y"}');
		INSERT INTO public.appointments (clinic_id, id, patient_id, note) VALUES
			($1, gen_random_uuid(), '0195f1c2-0000-7000-8000-0000000000a1', 'check-up'),
			($2, gen_random_uuid(), '0195f1c2-0000-7000-8000-0000000000b1', 'filling');
		INSERT INTO public.settings VALUES ($1, '{"open": "8-5"}'), ($2, '{"open": "9-6"}');
		INSERT INTO public.tags VALUES (gen_random_uuid(), $1, 'a'), (gen_random_uuid(), $2, 'b');
		INSERT INTO audit.events VALUES ($1, 1, gen_random_uuid(), 'a.x'), ($2, 1, gen_random_uuid(), 'b.x'), (NULL, 1, gen_random_uuid(), 'p.x');
		INSERT INTO public.drafts VALUES ($1, gen_random_uuid(), 'a draft');
		INSERT INTO public.org_notes VALUES ($1, gen_random_uuid(), 'a'), ($2, gen_random_uuid(), 'b');
		INSERT INTO public.attachments VALUES ($1, gen_random_uuid(), 'a.pdf'), ($2, gen_random_uuid(), 'b.pdf');
		INSERT INTO public.notes_no_rls VALUES ($1, gen_random_uuid(), 'a'), ($2, gen_random_uuid(), 'b');
		INSERT INTO public.notes_permissive VALUES ($1, gen_random_uuid(), 'a'), ($2, gen_random_uuid(), 'b');`))
	return db
}

func config(t *testing.T, db *pgtest.DB, model *rls.Model, options ...SQLTable) SQLConfig {
	return SQLConfig{
		App:        db.Pool(t, pgtest.App),
		Privileged: db.Conn(t, pgtest.Admin),
		Model:      model,
		Tables:     options,
		TenantA:    clinicA,
		TenantB:    clinicB,
	}
}

// recorder is a testing.TB that records what ProbeSQL and ProbeHTTP report instead of
// failing the test. Its Fatalf ends the goroutine, as testing's does.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []SQLFailure
	http     []HTTPFailure
	errs     []error  // errors passed to Errorf or Fatalf
	other    []string // messages with neither
	logs     []string // what Logf said
	fatal    bool
}

func (r *recorder) Helper() {}
func (r *recorder) Logf(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(f, a...))
}
func (r *recorder) Errorf(f string, a ...any) { r.record(f, a) }
func (r *recorder) Error(a ...any)            { r.record("%v", a) }
func (r *recorder) Fatalf(f string, a ...any) {
	r.record(f, a)
	r.mu.Lock()
	r.fatal = true
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) Fatal(a ...any) { r.Fatalf("%v", a...) }
func (r *recorder) FailNow()       { r.Fatalf("FailNow") }

func (r *recorder) record(format string, args []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	found := false
	for _, a := range args {
		switch v := a.(type) {
		case SQLFailure:
			r.failures = append(r.failures, v)
			found = true
		case HTTPFailure:
			r.http = append(r.http, v)
			found = true
		case error:
			r.errs = append(r.errs, v)
			found = true
		}
	}
	if !found {
		r.other = append(r.other, fmt.Sprintf(format, args...))
	}
}

// probe runs ProbeSQL with a recorder, in a goroutine that Fatalf may end.
func probe(t *testing.T, cfg SQLConfig) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ProbeSQL(r, cfg)
	}()
	<-done
	return r
}

// hole is what a test expects of a failure: the table and the check.
type hole struct {
	Table string
	Check Check
}

func (r *recorder) holes() []hole {
	var hs []hole
	for _, f := range r.failures {
		h := hole{f.Table, f.Check}
		if !slices.Contains(hs, h) {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, func(a, b hole) int {
		if a.Table != b.Table {
			return compareStrings(a.Table, b.Table)
		}
		return compareStrings(string(a.Check), string(b.Check))
	})
	return hs
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestProbeSQLPasses: a schema isolated by rls.Generate passes, with the
// real testing.T, on every kind of table the fixture has (subject columns,
// a key without the tenant, a key that is only the tenant, an append-only
// owners-only table without a primary key, a generated column, a tenant
// column of another name): every tenant relation of the model is probed,
// the one option given by name.
func TestProbeSQLPasses(t *testing.T) {
	db := fixture(t)
	ProbeSQL(t, config(t, db, fixtureModel(t, db), SQLTable{Name: "public.drafts", AllowEmpty: "B has no drafts in this fixture"}))
}

// holesOfBrokenTable are the checks that a table without isolation fails.
func holesOfBrokenTable(table string) []hole {
	var hs []hole
	for _, c := range []Check{CheckDelete, CheckInsert, CheckNoContext, CheckReturning, CheckSelect, CheckUpdate, CheckUpsert} {
		hs = append(hs, hole{table, c})
	}
	return hs
}

// TestProbeSQLFindsHoles: the prober can fail. Each broken table fails the
// checks it should, and one run over every table lists every hole while
// the isolated tables stay clean.
func TestProbeSQLFindsHoles(t *testing.T) {
	db := fixture(t)
	all := append(slices.Clone(generated), broken...)
	drafts := SQLTable{Name: "public.drafts", AllowEmpty: "fixture"}
	tests := []struct {
		name    string
		specs   []rls.Table
		options []SQLTable
		want    []hole
	}{
		{"RLS disabled", specsNamed(t, "public.notes_no_rls"), nil, holesOfBrokenTable("public.notes_no_rls")},
		{"permissive policy without the tenant policy", specsNamed(t, "public.notes_permissive"), nil, holesOfBrokenTable("public.notes_permissive")},
		// The second app: a tenant column of another name, no
		// row-level security. The model says the column; no prober looks
		// for clinic_id.
		{"another tenant column, RLS disabled", specsNamed(t, "public.attachments"), nil, holesOfBrokenTable("public.attachments")},
		{"another tenant column, isolated", specsNamed(t, "public.org_notes"), nil, nil},
		{"B has no rows", specsNamed(t, "public.drafts"), nil, []hole{{"public.drafts", CheckVacuous}}},
		{"B has no rows, allowed", specsNamed(t, "public.drafts"), []SQLTable{drafts}, nil},
		{"append-only table readable by owners only", specsNamed(t, "audit.events"), nil, nil},
		{"every table at once", all, []SQLTable{drafts}, append(append(holesOfBrokenTable("public.notes_no_rls"), holesOfBrokenTable("public.notes_permissive")...),
			holesOfBrokenTable("public.attachments")...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := probe(t, config(t, db, probeModel(t, db, tt.specs...), tt.options...))
			if r.fatal || len(r.errs) > 0 || len(r.other) > 0 {
				t.Fatalf("ProbeSQL could not probe: fatal %v, errors %v, messages %q", r.fatal, r.errs, r.other)
			}
			want := slices.Clone(tt.want)
			slices.SortFunc(want, func(a, b hole) int {
				if a.Table != b.Table {
					return compareStrings(a.Table, b.Table)
				}
				return compareStrings(string(a.Check), string(b.Check))
			})
			if diff := cmp.Diff(want, r.holes()); diff != "" {
				t.Errorf("holes (-want +got):\n%s\nfailures: %v", diff, r.failures)
			}
		})
	}
}

// TestProbeSQLOwnRows: a read-role rule that hides every row from the
// probing principal is reported, since seeing none of B's rows then proves
// nothing about the tenant rule.
func TestProbeSQLOwnRows(t *testing.T) {
	db := fixture(t)
	cfg := config(t, db, probeModel(t, db, specsNamed(t, "audit.events")...))
	cfg.Roles = []string{"dentist"}
	r := probe(t, cfg)
	if diff := cmp.Diff([]hole{{"audit.events", CheckOwnRows}}, r.holes()); diff != "" {
		t.Errorf("holes (-want +got):\n%s\nfailures: %v", diff, r.failures)
	}
}

// TestProbeSQLRefuses: ProbeSQL stops, with the documented error, rather
// than probe through connections that would make its checks meaningless,
// or with options that would silently apply to nothing.
func TestProbeSQLRefuses(t *testing.T) {
	db := fixture(t)
	model := probeModel(t, db, specsNamed(t, "public.clinics", "public.patients")...)
	tests := []struct {
		name   string
		modify func(*SQLConfig)
		want   error
	}{
		{"app connection is a superuser", func(c *SQLConfig) { c.App = db.Conn(t, pgtest.Admin) }, tenantdb.ErrUnsafeRole},
		{"privileged connection is the app role", func(c *SQLConfig) { c.Privileged = db.Conn(t, pgtest.App) }, ErrNotPrivileged},
		{"privileged connection is the owner without BYPASSRLS", func(c *SQLConfig) { c.Privileged = db.Conn(t, pgtest.Owner) }, ErrNotPrivileged},
		{"one tenant", func(c *SQLConfig) { c.TenantB = c.TenantA }, ErrInvalidConfig},
		{"no model", func(c *SQLConfig) { c.Model = nil }, ErrInvalidConfig},
		{"a model without tenant relations", func(c *SQLConfig) { c.Model = probeModel(t, db, specsNamed(t, "public.clinics")...) }, ErrInvalidConfig},
		{"options for a relation the model does not have", func(c *SQLConfig) { c.Tables = []SQLTable{{Name: "public.appointments", Key: []string{"id"}}} }, ErrInvalidConfig},
		{"options for a registry", func(c *SQLConfig) { c.Tables = []SQLTable{{Name: "public.clinics", AllowEmpty: "x"}} }, ErrInvalidConfig},
		{"options twice", func(c *SQLConfig) { c.Tables = []SQLTable{{Name: "public.patients"}, {Name: "public.patients"}} }, ErrInvalidConfig},
		{"unqualified options", func(c *SQLConfig) { c.Tables = []SQLTable{{Name: "patients"}} }, ErrInvalidConfig},
		{"no app connection", func(c *SQLConfig) { c.App = nil }, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(t, db, model)
			tt.modify(&cfg)
			r := probe(t, cfg)
			if !r.fatal {
				t.Fatalf("ProbeSQL did not stop; failures %v", r.failures)
			}
			if len(r.errs) != 1 || !errors.Is(r.errs[0], tt.want) {
				t.Errorf("reported %v, want an error wrapping %v", r.errs, tt.want)
			}
		})
	}
}

// TestProbeSQLUnknownTable: a tenant relation of the model that the
// catalog lacks fails its probe (ErrInvalidConfig) and the others still
// run.
func TestProbeSQLUnknownTable(t *testing.T) {
	db := fixture(t)
	r := probe(t, config(t, db, probeModel(t, db, rls.Table{Name: "public.nope"}, rls.Table{Name: "public.notes_no_rls"})))
	if r.fatal || len(r.errs) != 1 || !errors.Is(r.errs[0], ErrInvalidConfig) {
		t.Errorf("fatal %v, errors %v; want one error wrapping ErrInvalidConfig", r.fatal, r.errs)
	}
	if len(r.holes()) == 0 {
		t.Error("the table after the unknown one was not probed")
	}
}

// testKinds are the fixture's principal kinds.
var testKinds = []tenancy.KindSpec{
	{Name: "staff", Access: tenancy.AccessTenant},
	{Name: "patient", Access: tenancy.AccessSubject},
	{Name: "platform_admin", Access: tenancy.AccessOperator},
}
