package rls

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mydentalpractice/tenancy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGenerateGolden compares the SQL generated from each testdata/*.json
// spec with testdata/*.sql. Run `go test ./rls -run Golden -update` after
// a deliberate change, and review the diff.
func TestGenerateGolden(t *testing.T) {
	specs, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) == 0 {
		t.Fatal("no specs in testdata")
	}
	for _, path := range specs {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			got := generateFile(t, path)
			golden := strings.TrimSuffix(path, ".json") + ".sql"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Generate(%s) differs from %s (-want +got):\n%s", path, golden, diff)
			}
		})
	}
}

// TestGenerateCitusGolden compares the Citus section that
// Model.GenerateCitus makes of testdata/citus.json with
// testdata/citus-section.sql, and checks that Generate appends the same
// section. Run `go test ./rls -run Golden -update` after a deliberate
// change, and review the diff.
func TestGenerateCitusGolden(t *testing.T) {
	path := filepath.Join("testdata", "citus.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spec, err := ParseSpec(f)
	if err != nil {
		t.Fatalf("ParseSpec(%s): %v", path, err)
	}
	got, err := GenerateCitus(spec.Config, spec.Tables...)
	if err != nil {
		t.Fatalf("GenerateCitus(%s): %v", path, err)
	}
	golden := filepath.Join("testdata", "citus-section.sql")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("GenerateCitus(%s) differs from %s (-want +got):\n%s", path, golden, diff)
	}
	// Generate appends the same section, after the header that
	// GenerateCitus adds of its own.
	full := generateFile(t, path)
	section := got[strings.Index(got, "\n-- Citus:"):]
	if !strings.HasSuffix(full, section) {
		t.Errorf("Generate(%s) does not end with the section of GenerateCitus:\n%s", path, section)
	}
	// Without Config.Citus, Generate says nothing about Citus.
	spec.Citus = false
	plain, err := Generate(spec.Config, spec.Tables...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain, "citus") || strings.Contains(plain, "Citus") {
		t.Errorf("Generate without Config.Citus mentions Citus")
	}
}

func generateFile(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spec, err := ParseSpec(f)
	if err != nil {
		t.Fatalf("ParseSpec(%s): %v", path, err)
	}
	sql, err := Generate(spec.Config, spec.Tables...)
	if err != nil {
		t.Fatalf("Generate(%s): %v", path, err)
	}
	return sql
}

func TestGenerateDeterministic(t *testing.T) {
	tables := []Table{{Name: "public.a", ReadRoles: []string{"b", "a", "b"}}, {Name: "public.r", Kind: Registry}}
	first, err := Generate(Config{}, tables...)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		got, err := Generate(Config{}, tables...)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Fatalf("second Generate differs (-first +got):\n%s", diff)
		}
	}
	if !strings.Contains(first, "ARRAY['a', 'b']::text[]") {
		t.Errorf("read roles are not sorted and unique in:\n%s", first)
	}
}

func TestGenerateInvalid(t *testing.T) {
	long := strings.Repeat("x", 64)
	tests := []struct {
		name   string
		cfg    Config
		tables []Table
		want   error
	}{
		{"unqualified table", Config{}, []Table{{Name: "patients"}}, ErrInvalidTable},
		{"three-part name", Config{}, []Table{{Name: "db.public.patients"}}, ErrInvalidTable},
		{"empty schema", Config{}, []Table{{Name: ".patients"}}, ErrInvalidTable},
		{"long table name", Config{}, []Table{{Name: "public." + long}}, ErrInvalidTable},
		{"NUL in name", Config{}, []Table{{Name: "public.a\x00b"}}, ErrInvalidTable},
		{"newline in name", Config{}, []Table{{Name: "public.a\nDROP TABLE b"}}, ErrInvalidTable},
		{"newline in role", Config{AppRole: "a\nb"}, nil, ErrInvalidConfig},
		{"twice", Config{}, []Table{{Name: "public.a"}, {Name: "public.a", Kind: Registry}}, ErrInvalidTable},
		{"unknown kind", Config{}, []Table{{Name: "public.a", Kind: 7}}, ErrInvalidTable},
		{"registry with subject", Config{}, []Table{{Name: "public.a", Kind: Registry, SubjectColumn: "p"}}, ErrInvalidTable},
		{"registry with privileges", Config{}, []Table{{Name: "public.a", Kind: Registry, Privileges: []string{"SELECT"}}}, ErrInvalidTable},
		{"subject is tenant", Config{}, []Table{{Name: "public.a", SubjectColumn: "tenant_id"}}, ErrInvalidTable},
		{"TRUNCATE", Config{}, []Table{{Name: "public.a", Privileges: []string{"TRUNCATE"}}}, ErrInvalidTable},
		{"read role with comma", Config{}, []Table{{Name: "public.a", ReadRoles: []string{"a,b"}}}, ErrInvalidTable},
		{"empty read role", Config{}, []Table{{Name: "public.a", ReadRoles: []string{""}}}, ErrInvalidTable},
		{"undeclared read-only kind", Config{}, []Table{{Name: "public.a", ReadOnly: []tenancy.Kind{"auditor"}}}, ErrInvalidTable},
		{"kind without access", Config{Kinds: []tenancy.KindSpec{{Name: "auditor"}}}, nil, ErrInvalidConfig},
		{"system kind declared", Config{Kinds: []tenancy.KindSpec{{Name: tenancy.KindSystem, Access: tenancy.AccessTenant}}}, nil, ErrInvalidConfig},
		{"kind declared twice", Config{Kinds: []tenancy.KindSpec{{Name: "a", Access: tenancy.AccessTenant}, {Name: "a", Access: tenancy.AccessSubject}}}, nil, ErrInvalidConfig},
		{"malformed kind", Config{Kinds: []tenancy.KindSpec{{Name: "Admin", Access: tenancy.AccessTenant}}}, nil, ErrInvalidConfig},
		{"bad tenant key type", Config{TenantKey: 9}, nil, ErrInvalidConfig},
		{"long role", Config{AppRole: long}, nil, ErrInvalidConfig},
		{"same roles", Config{AppRole: "x", OwnerRole: "x"}, nil, ErrInvalidConfig},
		{"app is default platform", Config{AppRole: DefaultPlatformRole}, nil, ErrInvalidConfig},
		{"unqualified definer", Config{AllowDefiner: []string{"sign_in"}}, nil, ErrInvalidConfig},
		{"definer with arguments", Config{AllowDefiner: []string{"auth.sign_in(text)"}}, nil, ErrInvalidConfig},
		{"update columns with table UPDATE", Config{}, []Table{{Name: "public.a", UpdateColumns: []string{"kind"}}}, ErrInvalidTable},
		{"tenant column as update column", Config{}, []Table{{Name: "public.a", Privileges: []string{"SELECT"}, UpdateColumns: []string{"tenant_id"}}}, ErrInvalidTable},
		{"bad update column", Config{}, []Table{{Name: "public.a", Privileges: []string{"SELECT"}, UpdateColumns: []string{"a\x00"}}}, ErrInvalidTable},
		{"private with update columns", Config{}, []Table{{Name: "public.a", Kind: Private, UpdateColumns: []string{"kind"}}}, ErrInvalidTable},
		{"registry with allowed unique key", Config{}, []Table{{Name: "public.a", Kind: Registry, AllowUnique: []string{"a_pkey"}}}, ErrInvalidTable},
		{"bad allowed unique key", Config{}, []Table{{Name: "public.a", AllowUnique: []string{""}}}, ErrInvalidTable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Generate(tt.cfg, tt.tables...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Generate error = %v, want %v", err, tt.want)
			}
			if got != "" {
				t.Errorf("Generate returned SQL with an error:\n%s", got)
			}
		})
	}
}

func TestQuoteIdent(t *testing.T) {
	tests := []struct{ in, want string }{
		{"clinic_id", "clinic_id"},
		{"_x1", "_x1"},
		{"user", `"user"`},
		{"name", "name"}, // unreserved keyword: quote_ident leaves it bare
		{"Clinic", `"Clinic"`},
		{"1st", `"1st"`},
		{`a"b`, `"a""b"`},
		{"a b", `"a b"`},
		{"é", `"é"`},
	}
	for _, tt := range tests {
		if got := quoteIdent(tt.in); got != tt.want {
			t.Errorf("quoteIdent(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestQuoteLiteral(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "'plain'"},
		{"o'wner", "'o''wner'"},
		{`back\slash`, `E'back\\slash'`},
		{`both\'`, `E'both\\'''`},
	}
	for _, tt := range tests {
		if got := quoteLiteral(tt.in); got != tt.want {
			t.Errorf("quoteLiteral(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDollarQuote(t *testing.T) {
	tests := []struct{ body, want string }{
		{"x", "$t$x$t$"},
		{"a $t$ b", "$t_1$a $t$ b$t_1$"},
		{"$t$ $t_1$", "$t_2$$t$ $t_1$$t_2$"},
	}
	for _, tt := range tests {
		if got := dollarQuote("t", tt.body); got != tt.want {
			t.Errorf("dollarQuote(t, %q) = %s, want %s", tt.body, got, tt.want)
		}
	}
}

// TestGenerateUpdateColumns: UpdateColumns grants UPDATE on those columns
// only, after the table's privileges (which REVOKE ALL cleared, column
// privileges included).
func TestGenerateUpdateColumns(t *testing.T) {
	got, err := Generate(Config{}, Table{Name: "public.jobs", Privileges: []string{"select", "insert"}, UpdateColumns: []string{"kind", "Odd Name"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`REVOKE ALL ON TABLE public.jobs FROM PUBLIC, tenancy_app, tenancy_platform;
GRANT SELECT, INSERT ON TABLE public.jobs TO tenancy_app;
GRANT UPDATE (kind, "Odd Name") ON TABLE public.jobs TO tenancy_app;
`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Generate lacks\n%s\nin:\n%s", want, got)
		}
	}
}
