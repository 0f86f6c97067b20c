package sqlguard_test

import (
	"bufio"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/internal/pgparse"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// A corpusStmt is one statement of testdata/corpus.
type corpusStmt struct {
	name   string
	sql    string
	rule   sqlguard.Rule // unscoped.sql: the rule that refuses it
	tenant []paramRef    // parameters that carry the tenant
	other  []paramRef    // unscoped.sql: parameters that carry another tenant
	empty  []paramRef    // unscoped.sql: parameters bound to an empty array
}

type paramRef struct {
	n     int
	array bool
}

var corpusHeader = regexp.MustCompile(`^-- name: (.+?) \((sqlc|bun|gorm)\)(.*)$`)

// readCorpus reads the statements of testdata/corpus/file.
func readCorpus(t *testing.T, file string) []corpusStmt {
	t.Helper()
	f, err := os.Open("testdata/corpus/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusStmt
	var cur *corpusStmt
	var body strings.Builder
	flush := func() {
		if cur != nil {
			cur.sql = strings.TrimSuffix(strings.TrimSpace(body.String()), ";")
			out = append(out, *cur)
		}
		body.Reset()
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := corpusHeader.FindStringSubmatch(line); m != nil {
			flush()
			cur = &corpusStmt{name: m[1] + " (" + m[2] + ")"}
			list := &cur.tenant
			for _, w := range strings.Fields(m[3]) {
				switch {
				case w == "rule:":
					list = nil
				case list == nil && cur.rule == "":
					cur.rule = sqlguard.Rule(w)
					list = &cur.tenant
				case w == "tenant:":
					list = &cur.tenant
				case w == "other:":
					list = &cur.other
				case w == "empty:":
					list = &cur.empty
				case strings.HasPrefix(w, "$"):
					n, err := strconv.Atoi(strings.TrimSuffix(w[1:], "[]"))
					if err != nil {
						t.Fatalf("%s: bad parameter %q", file, w)
					}
					*list = append(*list, paramRef{n: n, array: strings.HasSuffix(w, "[]")})
				default:
					t.Fatalf("%s: bad header %q", file, line)
				}
			}
			continue
		}
		if cur != nil && !strings.HasPrefix(line, "--") {
			body.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	return out
}

// corpusModel is the model that the "-- model:" comments of
// testdata/corpus/schema.sql describe.
func corpusModel(t *testing.T) (*rls.Model, string) {
	t.Helper()
	b, err := os.ReadFile("testdata/corpus/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	var tables []rls.Table
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "-- model: ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		tb := rls.Table{Name: f[0]}
		switch f[1] {
		case "tenant":
			tb.TenantColumn = f[2]
		case "registry":
			tb.Kind = rls.Registry
		default:
			t.Fatalf("schema.sql: bad model comment %q", line)
		}
		tables = append(tables, tb)
	}
	m, err := rls.NewModel(rls.Config{TenantColumn: "clinic_id"}, tables...)
	if err != nil {
		t.Fatal(err)
	}
	return m, string(b)
}

// A carrier is a Go type an application passes the tenant in.
type carrier struct {
	name string
	one  func(tenancy.ID) any
	many func(...tenancy.ID) any
}

func carriers() []carrier {
	return []carrier{
		{"tenancy.ID", func(id tenancy.ID) any { return id }, func(ids ...tenancy.ID) any { return ids }},
		{"google/uuid.UUID", func(id tenancy.ID) any { return uuid.UUID(raw(id)) }, func(ids ...tenancy.ID) any {
			out := []uuid.UUID{}
			for _, id := range ids {
				out = append(out, uuid.UUID(raw(id)))
			}
			return out
		}},
		{"string", func(id tenancy.ID) any { return id.String() }, func(ids ...tenancy.ID) any {
			out := []string{}
			for _, id := range ids {
				out = append(out, id.String())
			}
			return out
		}},
		{"pgtype.UUID", func(id tenancy.ID) any { return pgtype.UUID{Bytes: raw(id), Valid: true} }, func(ids ...tenancy.ID) any {
			out := []pgtype.UUID{}
			for _, id := range ids {
				out = append(out, pgtype.UUID{Bytes: raw(id), Valid: true})
			}
			return out
		}},
		{"[16]byte", func(id tenancy.ID) any { return raw(id) }, func(ids ...tenancy.ID) any {
			out := [][16]byte{}
			for _, id := range ids {
				out = append(out, raw(id))
			}
			return out
		}},
		{"driver.Valuer", func(id tenancy.ID) any { return textValuer{id.String()} }, func(ids ...tenancy.ID) any {
			out := []driver.Valuer{}
			for _, id := range ids {
				out = append(out, textValuer{id.String()})
			}
			return out
		}},
	}
}

// corpusArgs binds st's parameters: the tenant ones to tenant (as c
// carries it), the other-tenant ones to other, the rest to "x"; and
// replaces {tenant} and {other} in the text.
func corpusArgs(t *testing.T, st corpusStmt, c carrier, tenant, other tenancy.ID) (string, []any) {
	t.Helper()
	sql := strings.NewReplacer("{tenant}", tenant.String(), "{other}", other.String()).Replace(st.sql)
	tree, err := pgparse.Parse(sql)
	if err != nil {
		t.Fatalf("%s: %v", st.name, err)
	}
	max, ok := 0, true
	maxParam(tree, &max, &ok, nil)
	args := make([]any, max)
	for i := range args {
		args[i] = "x"
	}
	arrays := map[int][]tenancy.ID{}
	set := func(refs []paramRef, id tenancy.ID) {
		for _, p := range refs {
			if p.n > max {
				t.Fatalf("%s: $%d is not in the statement", st.name, p.n)
			}
			if p.array {
				arrays[p.n] = append(arrays[p.n], id)
			} else {
				args[p.n-1] = c.one(id)
			}
		}
	}
	set(st.tenant, tenant)
	set(st.other, other)
	for _, p := range st.empty {
		arrays[p.n] = nil
	}
	for n, ids := range arrays {
		args[n-1] = c.many(ids...)
	}
	return sql, args
}

// TestCorpus runs the realistic statements of testdata/corpus through the
// guard once per Go type that carries the tenant: every scoped one is
// accepted (false refusals: 0), and refused when any parameter or literal
// that carries the tenant carries another; every unscoped variant is
// refused by the rule it names. With a database, every statement is first
// prepared on the schema, so the corpus is SQL that PostgreSQL runs.
func TestCorpus(t *testing.T) {
	m, schema := corpusModel(t)
	scoped, unscopedStmts := readCorpus(t, "scoped.sql"), readCorpus(t, "unscoped.sql")
	if len(scoped) < 60 || len(unscopedStmts) < 30 {
		t.Fatalf("corpus: %d scoped and %d unscoped statements, want at least 60 and 30", len(scoped), len(unscopedStmts))
	}
	for _, tool := range []string{"(sqlc)", "(bun)", "(gorm)"} {
		n := 0
		for _, st := range scoped {
			if strings.HasSuffix(st.name, tool) {
				n++
			}
		}
		if n < 10 {
			t.Errorf("corpus: %d scoped statements of %s, want at least 10", n, tool)
		}
	}

	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, `create schema tenancy;
		create function tenancy.current_tenant_id() returns uuid language sql stable
		  as $$ select nullif(current_setting('tenancy.tenant_id', true), '')::uuid $$;`+schema)
	conn := db.Conn(t, pgtest.Owner)
	for i, st := range append(append([]corpusStmt(nil), scoped...), unscopedStmts...) {
		sql, _ := corpusArgs(t, st, carriers()[0], tenantA, tenantB)
		if _, err := conn.Prepare(context.Background(), fmt.Sprint("s", i), sql); err != nil {
			t.Errorf("%s does not prepare on the schema: %v", st.name, err)
		}
	}

	g := newGuard(t, sqlguard.Config{Model: m})
	for _, c := range carriers() {
		t.Run(c.name, func(t *testing.T) {
			accepted, crossRefused, refused := 0, 0, 0
			for _, st := range scoped {
				sql, args := corpusArgs(t, st, c, tenantA, tenantB)
				if err := g.Check(sql, args, tenantA); err != nil {
					t.Errorf("false refusal of %s: %v\n%s", st.name, err, sql)
					continue
				}
				accepted++
				// The same statement for another tenant: each carrier of
				// the tenant, in turn, carries tenant B.
				for _, p := range st.tenant {
					other := st
					other.tenant = nil
					for _, q := range st.tenant {
						if q != p {
							other.tenant = append(other.tenant, q)
						}
					}
					other.other = []paramRef{p}
					sql, args := corpusArgs(t, other, c, tenantA, tenantB)
					var re *sqlguard.RefusalError
					if err := g.Check(sql, args, tenantA); !errors.As(err, &re) || re.Rule != sqlguard.RuleParamTenant || re.Param != p.n {
						t.Errorf("%s with $%d of tenant B: %v, want param-tenant for $%d", st.name, p.n, err, p.n)
						continue
					}
					crossRefused++
				}
				if strings.Contains(st.sql, "{tenant}") {
					var re *sqlguard.RefusalError
					if err := g.Check(sql, args, tenantB); !errors.As(err, &re) || re.Rule != sqlguard.RuleLiteralTenant {
						t.Errorf("%s for tenant B: %v, want literal-tenant", st.name, err)
						continue
					}
					crossRefused++
				}
			}
			for _, st := range unscopedStmts {
				sql, args := corpusArgs(t, st, c, tenantA, tenantB)
				var re *sqlguard.RefusalError
				if err := g.Check(sql, args, tenantA); !errors.As(err, &re) || re.Rule != st.rule {
					t.Errorf("%s: %v, want %s\n%s", st.name, err, st.rule, sql)
					continue
				}
				refused++
			}
			t.Logf("%s: %d of %d scoped statements accepted (false refusals: %d); %d cross-tenant variants refused; %d of %d unscoped variants refused",
				c.name, accepted, len(scoped), len(scoped)-accepted, crossRefused, refused, len(unscopedStmts))
		})
	}
}
