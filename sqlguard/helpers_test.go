package sqlguard_test

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

var (
	tenantA = tenancy.MustParseID("0190a8c0-0000-7000-8000-00000000000a")
	tenantB = tenancy.MustParseID("0190a8c0-0000-7000-8000-00000000000b")
)

// testTables are the relations of the test schema (see schemaSQL): tenant
// tables scoped by clinic_id (one in another schema, one with a quoted
// mixed-case name), tenant tables with tenant columns of their own
// (orgs.id, attachments.organization_id, tasks."tenantId"), registries and
// a private table.
var testTables = []rls.Table{
	{Name: "public.clinics", Kind: rls.Registry},
	{Name: "public.plans", Kind: rls.Registry},
	{Name: "public.patients"},
	{Name: "public.appointments"},
	{Name: "clinic.invoices"},
	{Name: "public.Notes"},
	{Name: "public.orgs", TenantColumn: "id"},
	{Name: "public.attachments", TenantColumn: "organization_id"},
	{Name: "public.tasks", TenantColumn: "tenantId"},
	{Name: "public.task_tags", TenantColumn: "tenant_id"},
	{Name: "public.secrets", Kind: rls.Private},
}

// testModel returns the model of testTables, with cfg (the zero Config
// for the defaults, but for the tenant column: clinic_id unless cfg names
// one) and any extra tables.
func testModel(t testing.TB, cfg rls.Config, extra ...rls.Table) *rls.Model {
	t.Helper()
	if cfg.TenantColumn == "" {
		cfg.TenantColumn = "clinic_id"
	}
	m, err := rls.NewModel(cfg, append(slices.Clone(testTables), extra...)...)
	if err != nil {
		t.Fatalf("NewModel: %v", err)
	}
	return m
}

// newGuard returns a guard for cfg, over the test model when cfg has no
// model.
func newGuard(t testing.TB, cfg sqlguard.Config) *sqlguard.Guard {
	t.Helper()
	if cfg.Model == nil {
		cfg.Model = testModel(t, rls.Config{})
	}
	g, err := sqlguard.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

// seeds reads testdata/seeds.sql: one statement a line, # for comments.
func seeds(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/seeds.sql")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// raw returns the 16 bytes of the UUID id.
func raw(id tenancy.ID) [16]byte {
	b, ok := id.UUID()
	if !ok {
		panic("raw: " + id.String() + " is not a UUID")
	}
	return b
}

// rawBytes returns the 16 bytes of the UUID id as a slice.
func rawBytes(id tenancy.ID) []byte {
	b := raw(id)
	return b[:]
}
