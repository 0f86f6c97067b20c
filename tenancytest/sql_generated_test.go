package tenancytest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

// generatedTenantSQL is a table like River's job table as tenantriver
// prepares it: the tenant column generated from a document, the app role
// allowed to update one other column only; and the same table without
// row-level security.
const generatedTenantSQL = `
CREATE TABLE public.clinics (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.jobs (
	id bigint PRIMARY KEY,
	meta jsonb NOT NULL,
	kind text NOT NULL,
	clinic_id uuid GENERATED ALWAYS AS ((meta ->> 'tenant')::uuid) STORED
);
CREATE INDEX jobs_clinic ON public.jobs (clinic_id);
CREATE TABLE public.jobs_no_rls (LIKE public.jobs INCLUDING ALL);
`

// TestProbeSQLGeneratedTenantColumn: a tenant column the app role cannot
// update (generated, or left out of its column privileges) is probed by
// setting a column it may update; the isolated table passes, and the same
// table without row-level security fails every check, its UPDATEs
// included. (Before, every UPDATE check of such a table failed as "proves
// nothing", whatever its policies.)
func TestProbeSQLGeneratedTenantColumn(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, generatedTenantSQL)
	specs := []rls.Table{
		{Name: "public.clinics", Kind: rls.Registry},
		{Name: "public.jobs", Privileges: []string{"SELECT", "INSERT", "DELETE"}, UpdateColumns: []string{"kind"}, AllowUnique: []string{"jobs_pkey"}},
	}
	migration, err := probeModel(t, db, specs...).Generate()
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, migration)
	app := pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize()
	db.Exec(t, pgtest.Owner, `GRANT SELECT, INSERT, DELETE, UPDATE (kind) ON public.jobs_no_rls TO `+app)
	db.Exec(t, pgtest.Admin, strings.NewReplacer("$1", "'"+clinicA.String()+"'", "$2", "'"+clinicB.String()+"'").Replace(`
		INSERT INTO public.clinics VALUES ($1, 'A'), ($2, 'B');
		INSERT INTO public.jobs (id, meta, kind) VALUES (1, jsonb_build_object('tenant', $1::text), 'a'), (2, jsonb_build_object('tenant', $2::text), 'b');
		INSERT INTO public.jobs_no_rls (id, meta, kind) VALUES (1, jsonb_build_object('tenant', $1::text), 'a'), (2, jsonb_build_object('tenant', $2::text), 'b');`))

	r := probe(t, config(t, db, probeModel(t, db, specs...)))
	if r.fatal || len(r.errs) > 0 || len(r.other) > 0 || len(r.failures) > 0 {
		t.Fatalf("the isolated table: fatal %v, errors %v, messages %q, failures %v", r.fatal, r.errs, r.other, r.failures)
	}
	for _, l := range r.logs {
		if strings.Contains(l, "UPDATE") {
			t.Errorf("the isolated table's UPDATE checks were skipped: %s", l)
		}
	}

	broken := append(specs, rls.Table{Name: "public.jobs_no_rls"})
	r = probe(t, config(t, db, probeModel(t, db, broken...)))
	if r.fatal || len(r.errs) > 0 || len(r.other) > 0 {
		t.Fatalf("ProbeSQL could not probe: fatal %v, errors %v, messages %q", r.fatal, r.errs, r.other)
	}
	if diff := cmp.Diff(holesOfBrokenTable("public.jobs_no_rls"), r.holes()); diff != "" {
		t.Errorf("holes (-want +got):\n%s\nfailures: %v", diff, r.failures)
	}
}
