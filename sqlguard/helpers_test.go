package sqlguard_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

var (
	tenantA = tenancy.MustParseID("0190a8c0-0000-7000-8000-00000000000a")
	tenantB = tenancy.MustParseID("0190a8c0-0000-7000-8000-00000000000b")
)

// testTables are the tenant tables of the test schema (see schemaSQL).
var testTables = []string{"public.patients", "appointments", "clinic.invoices", "Notes"}

func newGuard(t testing.TB, cfg sqlguard.Config) *sqlguard.Guard {
	t.Helper()
	if cfg.TenantTables == nil {
		cfg.TenantTables = testTables
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
