package sqlguard_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// refusal is the part of a *RefusalError the table tests compare.
type refusal struct {
	Rule  sqlguard.Rule
	Table string
	Pos   int
	Param int
	Func  string
}

func refusalOf(t *testing.T, err error) *refusal {
	t.Helper()
	if err == nil {
		return nil
	}
	var re *sqlguard.RefusalError
	if !errors.As(err, &re) || !errors.Is(err, sqlguard.ErrRefused) {
		t.Fatalf("error %v is not a *RefusalError wrapping ErrRefused", err)
	}
	return &refusal{Rule: re.Rule, Table: re.Table, Pos: re.Pos, Param: re.Param, Func: re.Func}
}

type guardTest struct {
	name  string
	sql   string
	args  []any         // default: tenant A, tenant B, "x"
	rule  sqlguard.Rule // "" when accepted
	table string
	at    string // the refusal's position is the first occurrence of at in sql, or the last of "last:at"
	param int
	fn    string // the refused function or operator
}

func runGuardTests(t *testing.T, g *sqlguard.Guard, tests []guardTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				args = []any{tenantA, tenantB, "x"}
			}
			got := refusalOf(t, g.Check(tt.sql, args, tenantA))
			var want *refusal
			if tt.rule != "" {
				pos := strings.Index(tt.sql, tt.at)
				if at, ok := strings.CutPrefix(tt.at, "last:"); ok {
					pos = strings.LastIndex(tt.sql, at)
				}
				if pos < 0 {
					t.Fatalf("test error: %q not in %q", tt.at, tt.sql)
				}
				want = &refusal{Rule: tt.rule, Table: tt.table, Pos: pos, Param: tt.param, Func: tt.fn}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Check(%q) (-want +got):\n%s", tt.sql, diff)
			}
		})
	}
}

const (
	unscoped = sqlguard.RuleUnscoped
	orBranch = sqlguard.RuleOrBranch
)

func TestCheckSelect(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		{name: "param", sql: "select * from patients where clinic_id = $1"},
		{name: "param reversed", sql: "select * from patients where $1 = clinic_id"},
		{name: "param cast", sql: "select * from patients where clinic_id = $1::uuid"},
		{name: "param cast to text", sql: "select * from patients where clinic_id = $1::text",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "param of another tenant", sql: "select * from patients where clinic_id = $2",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
		{name: "param missing", sql: "select * from patients where clinic_id = $4",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$4", param: 4},
		{name: "two params, one of another tenant", sql: "select * from patients where clinic_id = $1 and clinic_id = $2",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
		{name: "helper", sql: "select * from patients where clinic_id = tenancy.current_tenant_id()"},
		{name: "helper cast", sql: "select * from patients where clinic_id = tenancy.current_tenant_id()::uuid"},
		{name: "helper sub-select", sql: "select * from patients where clinic_id = (select tenancy.current_tenant_id())"},
		{name: "helper unqualified", sql: "select * from patients where clinic_id = current_tenant_id()",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "helper other schema", sql: "select * from patients where clinic_id = public.current_tenant_id()",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "helper with argument", sql: "select * from patients where clinic_id = tenancy.current_tenant_id(1)",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "sub-select not the helper", sql: "select * from patients where clinic_id = (select clinic_id from appointments limit 1)",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "no where", sql: "select * from patients", rule: unscoped, table: "patients", at: "patients"},
		{name: "literal", sql: "select * from patients where clinic_id = '0190a8c0-0000-7000-8000-00000000000a'"}, // see TestCheckLiteral
		{name: "other column", sql: "select * from patients where id = $1", rule: unscoped, table: "patients", at: "patients"},
		{name: "in list", sql: "select * from patients where clinic_id in ($1)"},
		{name: "in list with another tenant", sql: "select * from patients where clinic_id in ($1, $2)",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
		{name: "in list with another value", sql: "select * from patients where clinic_id in ($1, id)",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "not in list", sql: "select * from patients where clinic_id not in ($2)",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "any of a value that is no array", sql: "select * from patients where clinic_id = any($1)",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$1", param: 1}, // see TestCheckArrayParameters
		{name: "is not distinct from", sql: "select * from patients where clinic_id is not distinct from $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "qualified operator", sql: "select * from patients where clinic_id operator(pg_catalog.=) $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "and chain", sql: "select * from patients where name = $3 and (id is not null and clinic_id = $1)"},

		// OR and NOT never count.
		{name: "or", sql: "select * from patients where clinic_id = $1 or name = $3", rule: orBranch, table: "patients", at: "patients"},
		{name: "or both arms", sql: "select * from patients where (clinic_id = $1 or clinic_id = $1)", rule: orBranch, table: "patients", at: "patients"},
		{name: "not", sql: "select * from patients where not (clinic_id <> $1)", rule: orBranch, table: "patients", at: "patients"},
		{name: "or beside a conjunct", sql: "select * from patients where clinic_id = $1 and (name = $3 or true)"},
		{name: "case", sql: "select * from patients where case when true then clinic_id = $1 else false end",
			rule: unscoped, table: "patients", at: "patients"},

		// Names: case, quoting, schemas, ONLY, aliases, comments.
		{name: "upper case", sql: "SELECT * FROM PUBLIC.PATIENTS P WHERE P.CLINIC_ID = $1"},
		{name: "upper case unscoped", sql: "SELECT * FROM PATIENTS", rule: unscoped, table: "patients", at: "PATIENTS"},
		{name: "quoted lower case", sql: `select * from "patients" where "clinic_id" = $1`},
		{name: "quoted other case is another table", sql: `select * from "Patients"`,
			rule: sqlguard.RuleUnknownRelation, table: "Patients", at: `"Patients"`},
		{name: "quoted other case is another column", sql: `select * from patients where "Clinic_Id" = $1`,
			rule: unscoped, table: "patients", at: "patients"},
		{name: "quoted mixed-case tenant table", sql: `select * from "Notes"`, rule: unscoped, table: "Notes", at: `"Notes"`},
		{name: "quoted mixed-case tenant table scoped", sql: `select * from "Notes" n where n.clinic_id = $1`},
		{name: "lower-case name of a mixed-case table", sql: `select * from notes`,
			rule: sqlguard.RuleUnknownRelation, table: "notes", at: "notes"},
		{name: "schema-qualified", sql: "select * from public.patients", rule: unscoped, table: "public.patients", at: "public"},
		{name: "other schema is another table", sql: "select * from archive.patients",
			rule: sqlguard.RuleUnknownRelation, table: "archive.patients", at: "archive"},
		{name: "configured schema", sql: "select * from clinic.invoices", rule: unscoped, table: "clinic.invoices", at: "clinic"},
		{name: "unqualified matches any schema", sql: "select * from invoices", rule: unscoped, table: "invoices", at: "invoices"},
		{name: "qualified by a schema the model does not know", sql: "select * from x.appointments",
			rule: sqlguard.RuleUnknownRelation, table: "x.appointments", at: "x."},
		{name: "database-qualified", sql: "select * from db.public.patients", rule: unscoped, table: "public.patients", at: "db"},
		{name: "only", sql: "select * from only patients", rule: unscoped, table: "patients", at: "patients"},
		{name: "only scoped", sql: "select * from only patients where clinic_id = $1"},
		{name: "alias", sql: "select * from patients as p where p.clinic_id = $1"},
		{name: "alias hides the table name", sql: "select * from patients as p where patients.clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "other alias", sql: "select * from patients p, clinics c where c.clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "column alias list", sql: "select * from patients as p(clinic_id) where p.clinic_id = $1",
			rule: sqlguard.RuleColumnAlias, table: "patients", at: "patients"},
		{name: "comment hides nothing", sql: "select * from patients /* where clinic_id = $1 */",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "line comment", sql: "select * from patients -- where clinic_id = $1\n",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "comment inside", sql: "select * from /* x */ patients where /* y */ clinic_id = $1"},
		{name: "tablesample", sql: "select * from patients tablesample system (10) where clinic_id = $1"},
		{name: "tablesample unscoped", sql: "select * from patients tablesample system (10)",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "table statement", sql: "table patients", rule: unscoped, table: "patients", at: "patients"},
		{name: "global table", sql: "select * from clinics"},
		{name: "no table", sql: "select 1"},
		{name: "values", sql: "values (1), ($3)"},
		{name: "empty", sql: ""},
		{name: "only a comment", sql: "-- nothing"},
		{name: "for update", sql: "select * from patients where clinic_id = $1 for update of patients"},
		{name: "having does not scope", sql: "select clinic_id from patients group by clinic_id having clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "unqualified column, one tenant table", sql: "select * from patients p, clinics c where clinic_id = $1 and c.id = p.clinic_id"},
		{name: "unqualified column, two tenant tables", sql: "select * from patients p, appointments a where clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "three-part column", sql: "select * from patients where public.patients.clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "same alias twice", sql: "select * from patients p, appointments p where p.clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
	})
}

func TestCheckJoins(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		{name: "where propagation", sql: "select * from patients p, appointments a where p.clinic_id = $1 and a.clinic_id = p.clinic_id"},
		{name: "where propagation reversed", sql: "select * from patients p, appointments a where a.clinic_id = p.clinic_id and $1 = p.clinic_id"},
		{name: "chain", sql: "select * from patients p, appointments a, clinic.invoices i where i.clinic_id = a.clinic_id and a.clinic_id = p.clinic_id and p.clinic_id = $1"},
		{name: "no propagation", sql: "select * from patients p, appointments a where p.clinic_id = $1 and a.patient_id = p.id",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "propagation from unscoped", sql: "select * from patients p, appointments a where a.clinic_id = p.clinic_id",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "propagation in or", sql: "select * from patients p, appointments a where p.clinic_id = $1 and (a.clinic_id = p.clinic_id or true)",
			rule: orBranch, table: "appointments", at: "appointments"},
		{name: "self comparison", sql: "select * from patients p where p.clinic_id = p.clinic_id",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "inner join on", sql: "select * from patients p join appointments a on a.clinic_id = p.clinic_id where p.clinic_id = $1"},
		{name: "inner join on scopes both", sql: "select * from patients p join appointments a on a.clinic_id = p.clinic_id and p.clinic_id = $1"},
		{name: "inner join without tenant", sql: "select * from patients p join appointments a on a.patient_id = p.id where p.clinic_id = $1",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "cross join", sql: "select * from patients p cross join appointments a where p.clinic_id = $1 and a.clinic_id = $1"},
		{name: "left join on scopes the nullable side", sql: "select * from patients p left join appointments a on a.clinic_id = p.clinic_id where p.clinic_id = $1"},
		{name: "left join on does not scope the preserved side", sql: "select * from patients p left join appointments a on p.clinic_id = $1 and a.clinic_id = p.clinic_id",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "left join param on nullable side", sql: "select * from patients p left join appointments a on a.clinic_id = $1 where p.clinic_id = $1"},
		{name: "right join", sql: "select * from patients p right join appointments a on p.clinic_id = a.clinic_id where a.clinic_id = $1"},
		{name: "right join on does not scope the preserved side", sql: "select * from patients p right join appointments a on a.clinic_id = $1 and p.clinic_id = $1",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "full join on scopes neither", sql: "select * from patients p full join appointments a on a.clinic_id = $1 and p.clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "full join where", sql: "select * from patients p full join appointments a on a.clinic_id = p.clinic_id where p.clinic_id = $1 and a.clinic_id = $1"},
		{name: "nested inner join in left join", sql: "select * from clinics c left join (patients p join appointments a on a.clinic_id = p.clinic_id and p.clinic_id = $1) on c.id = p.clinic_id"},
		{name: "using does not propagate", sql: "select * from patients p join appointments a using (clinic_id) where p.clinic_id = $1",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "natural join", sql: "select * from patients natural join appointments where clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "aliased join hides its members", sql: "select * from (patients p join appointments a on true) j where p.clinic_id = $1 and a.clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "aliased join scoped inside", sql: "select * from (patients p join appointments a on a.clinic_id = p.clinic_id and p.clinic_id = $1) j"},
		{name: "on clause sees only its join", sql: "select * from appointments a, patients p join clinic.invoices i on i.clinic_id = a.clinic_id where a.clinic_id = $1 and p.clinic_id = $1",
			rule: unscoped, table: "clinic.invoices", at: "clinic"},
		{name: "lateral propagation", sql: "select * from patients p, lateral (select * from appointments a where a.clinic_id = p.clinic_id) x where p.clinic_id = $1"},
		{name: "lateral unscoped", sql: "select * from patients p, lateral (select * from appointments a where a.patient_id = p.id) x where p.clinic_id = $1",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "lateral from unscoped", sql: "select * from patients p, lateral (select * from appointments a where a.clinic_id = p.clinic_id) x",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "non-lateral sub-select cannot see siblings", sql: "select * from patients p, (select * from appointments a where a.clinic_id = p.clinic_id) x where p.clinic_id = $1",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "left join lateral", sql: "select * from patients p left join lateral (select * from appointments a where a.clinic_id = p.clinic_id) x on true where p.clinic_id = $1"},
		{name: "lateral alias shadows outer", sql: "select * from patients p, lateral (select * from appointments p where p.clinic_id = p.clinic_id) x where p.clinic_id = $1",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "nested correlation chain", sql: "select * from patients p where p.clinic_id = $1 and exists (select * from appointments a where a.clinic_id = p.clinic_id and exists (select 1 from clinic.invoices i where i.clinic_id = a.clinic_id))"},
		{name: "correlation into a sub-select in from", sql: "select * from patients p where p.clinic_id = $1 and exists (select 1 from (select * from appointments a where a.clinic_id = p.clinic_id) s)"},
		{name: "sub-select named like the table scopes through its tenant column", sql: "select * from (select * from patients where clinic_id = $1) patients join appointments a on a.clinic_id = patients.clinic_id"},
		{name: "sub-select without the tenant column", sql: "select * from (select id from patients where clinic_id = $1) patients join appointments a on a.clinic_id = patients.clinic_id",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "alias reused for another table", sql: "delete from patients using appointments patients where patients.clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "two tables, one name", sql: "select * from public.patients, patients where patients.clinic_id = $1",
			rule: unscoped, table: "public.patients", at: "public"},
		{name: "right join where does not scope through", sql: "select * from patients p right join appointments a on a.clinic_id = p.clinic_id where p.clinic_id = $1",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "function in from", sql: "select * from patients p, unnest(array[p.id]) u where p.clinic_id = $1"},
		{name: "function in from reading a tenant table", sql: "select * from unnest(array(select id from patients)) u",
			rule: unscoped, table: "patients", at: "patients"},
	})
}

func TestCheckSubqueries(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		{name: "select list", sql: "select (select name from patients limit 1)", rule: unscoped, table: "patients", at: "patients"},
		{name: "select list scoped", sql: "select (select name from patients where clinic_id = $1 limit 1)"},
		{name: "select list correlated", sql: "select (select count(*) from appointments a where a.clinic_id = p.clinic_id) from patients p where p.clinic_id = $1"},
		{name: "select list correlated without tenant", sql: "select (select count(*) from appointments a where a.patient_id = p.id) from patients p where p.clinic_id = $1",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "where in", sql: "select * from patients where clinic_id = $1 and id in (select patient_id from appointments)",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "where exists", sql: "select * from clinics c where exists (select 1 from patients p where p.clinic_id = $1 and p.id = c.id)"},
		{name: "where exists unscoped", sql: "select * from clinics c where exists (select 1 from patients p where p.clinic_id = c.id)",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "having", sql: "select count(*) from patients where clinic_id = $1 having count(*) > (select count(*) from appointments)",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "order by", sql: "select * from patients where clinic_id = $1 order by (select max(note) from appointments)",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "limit", sql: "select * from clinics limit (select count(*) from patients)",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "on clause sub-query", sql: "select * from patients p join clinics c on c.id = (select clinic_id from appointments limit 1) where p.clinic_id = $1",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "from sub-query scoped inside", sql: "select * from (select * from patients where clinic_id = $1) s"},
		{name: "from sub-query scoped outside", sql: "select * from (select * from patients) s where s.clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "inner alias shadows outer", sql: "select * from patients p where p.clinic_id = $1 and exists (select 1 from appointments p where p.clinic_id = $1)"},
		{name: "array sub-query", sql: "select array(select id from patients)", rule: unscoped, table: "patients", at: "patients"},
		{name: "deep nesting", sql: "select * from clinics where id = (select clinic_id from appointments where clinic_id = $1 and patient_id = (select id from patients limit 1) limit 1)",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "sub-query in function argument", sql: "select coalesce((select name from patients limit 1), 'x')",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "sub-query in values", sql: "values ((select name from patients limit 1))",
			rule: unscoped, table: "patients", at: "patients"},
	})
}

func TestCheckSetOperationsAndCTEs(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		{name: "union", sql: "select id from patients where clinic_id = $1 union select id from appointments where clinic_id = $1"},
		{name: "union second arm", sql: "select id from patients where clinic_id = $1 union all select id from patients",
			rule: unscoped, table: "patients", at: "last:patients"},
		{name: "intersect", sql: "select id from clinics intersect select id from patients", rule: unscoped, table: "patients", at: "patients"},
		{name: "except", sql: "select id from patients except select id from clinics", rule: unscoped, table: "patients", at: "patients"},
		{name: "nested set operations", sql: "(select id from patients where clinic_id = $1 union select id from patients where clinic_id = $1) except select id from clinics"},
		{name: "cte scoped", sql: "with p as (select * from patients where clinic_id = $1) select * from p"},
		{name: "cte unscoped", sql: "with p as (select * from patients) select * from p where clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "cte shadows the tenant table of its name", sql: "with patients as (select 1 as clinic_id) select * from patients"},
		{name: "cte's own name inside it is the table", sql: "with patients as (select * from patients) select * from patients where clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients)"},
		{name: "cte does not shadow a qualified name", sql: "with patients as (select 1 as clinic_id) select * from public.patients",
			rule: unscoped, table: "public.patients", at: "public"},
		{name: "cte does not shadow a delete target", sql: "with patients as (select 1 as clinic_id) delete from patients",
			rule: unscoped, table: "patients", at: "last:patients"},
		{name: "cte is not visible before it", sql: "with a as (select * from b), b as (select * from patients where clinic_id = $1) select * from a",
			rule: sqlguard.RuleUnknownRelation, table: "b", at: "b)"},
		{name: "cte is not visible outside its sub-query", sql: "select (with x as (select 1) select 1), * from x",
			rule: sqlguard.RuleUnknownRelation, table: "x", at: "last:x"},
		{name: "recursive cte", sql: "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r"},
		{name: "recursive cte over a tenant table", sql: "with recursive r as (select id from patients where clinic_id = $1 union all select a.id from appointments a join r on a.patient_id = r.id) select * from r",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "data-modifying cte", sql: "with d as (delete from appointments where clinic_id = $1 returning *) select * from d"},
		{name: "data-modifying cte unscoped", sql: "with d as (delete from appointments returning *) select * from d",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "insert cte", sql: "with i as (insert into patients (clinic_id, id, name) values ($2, $3, $3) returning id) select * from i",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
		{name: "cte in sub-query", sql: "select (with x as (select name from patients) select name from x limit 1)",
			rule: unscoped, table: "patients", at: "patients"},
	})
}

func TestCheckInsert(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		{name: "values param", sql: "insert into patients (clinic_id, id, name) values ($1, $3, $3)"},
		{name: "values helper", sql: "insert into patients (clinic_id, id, name) values (tenancy.current_tenant_id(), $3, $3)"},
		{name: "values helper sub-select", sql: "insert into patients (id, clinic_id) values ($3, (select tenancy.current_tenant_id()))"},
		{name: "values other tenant", sql: "insert into patients (clinic_id, id, name) values ($2, $3, $3)",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
		{name: "values literal", sql: "insert into patients (clinic_id, id) values ('0190a8c0-0000-7000-8000-00000000000b', $3)",
			rule: sqlguard.RuleLiteralTenant, table: "patients", at: "'"},
		{name: "every row", sql: "insert into patients (clinic_id, id) values ($1, $3), (tenancy.current_tenant_id(), $3), ($1::uuid, $3)"},
		{name: "one row wrong", sql: "insert into patients (clinic_id, id) values ($1, $3), (null, $3)",
			rule: sqlguard.RuleInsertTenant, table: "patients", at: "patients"},
		{name: "column left out", sql: "insert into patients (id, name) values ($3, $3)",
			rule: sqlguard.RuleInsertTenant, table: "patients", at: "patients"},
		{name: "default", sql: "insert into patients (clinic_id, id) values (default, $3)",
			rule: sqlguard.RuleInsertTenant, table: "patients", at: "patients"},
		{name: "default values", sql: "insert into patients default values",
			rule: sqlguard.RuleInsertTenant, table: "patients", at: "patients"},
		{name: "no column list", sql: "insert into patients values ($1, $3, $3)",
			rule: sqlguard.RuleInsertTenant, table: "patients", at: "patients"},
		{name: "select scoped", sql: "insert into patients (clinic_id, id, name) select clinic_id, id, name from patients where clinic_id = $1"},
		{name: "select param", sql: "insert into patients (clinic_id, id, name) select $1, id, name from clinics"},
		{name: "select unscoped source", sql: "insert into patients (clinic_id, id, name) select $1, id, name from patients",
			rule: unscoped, table: "patients", at: "last:patients"},
		{name: "select column of a global table", sql: "insert into patients (clinic_id, id) select c.id, c.id from clinics c",
			rule: sqlguard.RuleInsertTenant, table: "patients", at: "patients"},
		{name: "select star", sql: "insert into patients (clinic_id, id, name) select * from patients where clinic_id = $1",
			rule: sqlguard.RuleInsertTenant, table: "patients", at: "patients"},
		{name: "select union", sql: "insert into patients (clinic_id, id) select $1, $3 union all select clinic_id, id from patients where clinic_id = $1"},
		{name: "select union wrong arm", sql: "insert into patients (clinic_id, id) select $1, $3 union all select id, id from clinics",
			rule: sqlguard.RuleInsertTenant, table: "patients", at: "patients"},
		{name: "into global table from scoped", sql: "insert into clinics (id, name) select id, name from patients where clinic_id = $1"},
		{name: "into global table from unscoped", sql: "insert into clinics (id, name) select id, name from patients",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "returning", sql: "insert into patients (clinic_id, id) values ($1, $3) returning *"},
		{name: "returning sub-query", sql: "insert into patients (clinic_id, id) values ($1, $3) returning (select count(*) from appointments)",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "on conflict do nothing", sql: "insert into patients (clinic_id, id) values ($1, $3) on conflict do nothing"},
		{name: "on conflict tenant column in target", sql: "insert into patients (clinic_id, id, name) values ($1, $3, $3) on conflict (clinic_id, id) do update set name = excluded.name"},
		{name: "on conflict without tenant column", sql: "insert into patients (clinic_id, id, name) values ($1, $3, $3) on conflict (id) do update set name = excluded.name",
			rule: sqlguard.RuleOnConflict, table: "patients", at: "on conflict"},
		{name: "on conflict constraint", sql: "insert into patients (clinic_id, id, name) values ($1, $3, $3) on conflict on constraint patients_pkey do update set name = excluded.name",
			rule: sqlguard.RuleOnConflict, table: "patients", at: "on conflict"},
		{name: "on conflict scoped by where", sql: "insert into patients as p (clinic_id, id, name) values ($1, $3, $3) on conflict (id) do update set name = excluded.name where p.clinic_id = $1"},
		{name: "on conflict assigns excluded tenant", sql: "insert into patients (clinic_id, id) values ($1, $3) on conflict (clinic_id, id) do update set clinic_id = excluded.clinic_id"},
		{name: "on conflict assigns itself", sql: "insert into patients as p (clinic_id, id) values ($1, $3) on conflict (clinic_id, id) do update set clinic_id = p.clinic_id"},
		{name: "on conflict assigns tenant unqualified", sql: "insert into patients (clinic_id, id) values ($1, $3) on conflict (clinic_id, id) do update set clinic_id = clinic_id",
			rule: sqlguard.RuleAssignTenant, table: "patients", at: "clinic_id = clinic_id"},
		{name: "on conflict assigns another column", sql: "insert into patients (clinic_id, id) values ($1, $3) on conflict (clinic_id, id) do update set clinic_id = excluded.id",
			rule: sqlguard.RuleAssignTenant, table: "patients", at: "clinic_id = excluded"},
		{name: "on conflict assigns another tenant", sql: "insert into patients (clinic_id, id) values ($1, $3) on conflict (clinic_id, id) do update set clinic_id = $2",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
		{name: "on conflict assigns excluded tenant, conflict unscoped", sql: "insert into patients (clinic_id, id) values ($1, $3) on conflict (id) do update set clinic_id = excluded.clinic_id",
			rule: sqlguard.RuleOnConflict, table: "patients", at: "on conflict"},
		{name: "on conflict sub-query", sql: "insert into patients (clinic_id, id, name) values ($1, $3, $3) on conflict (clinic_id, id) do update set name = (select name from patients limit 1)",
			rule: unscoped, table: "patients", at: "patients limit"},
	})
}

func TestCheckInsertTenantColumnDefault(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{TenantColumnDefault: true}), []guardTest{
		{name: "column left out", sql: "insert into patients (id, name) values ($3, $3)"},
		{name: "default", sql: "insert into patients (clinic_id, id) values (default, $3)"},
		{name: "default values", sql: "insert into patients default values"},
		{name: "no column list", sql: "insert into patients values ($1, $3, $3)",
			rule: sqlguard.RuleInsertTenant, table: "patients", at: "patients"},
		{name: "other tenant", sql: "insert into patients (clinic_id, id) values ($2, $3)",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
	})
}

func TestCheckUpdateDelete(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		{name: "update", sql: "update patients set name = $3 where clinic_id = $1"},
		{name: "update alias", sql: "update only patients as p set name = $3 where p.clinic_id = $1 returning p.*"},
		{name: "update unscoped", sql: "update patients set name = $3", rule: unscoped, table: "patients", at: "patients"},
		{name: "update or", sql: "update patients set name = $3 where clinic_id = $1 or id = $3", rule: orBranch, table: "patients", at: "patients"},
		{name: "update other tenant", sql: "update patients set name = $3 where clinic_id = $2",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
		{name: "update assigns the tenant", sql: "update patients set clinic_id = $1 where clinic_id = $1"},
		{name: "update assigns itself", sql: "update patients p set clinic_id = p.clinic_id, name = $3 where clinic_id = $1"},
		{name: "update assigns another tenant", sql: "update patients set clinic_id = $2 where clinic_id = $1",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
		{name: "update assigns another column", sql: "update patients set clinic_id = id where clinic_id = $1",
			rule: sqlguard.RuleAssignTenant, table: "patients", at: "clinic_id"},
		{name: "update assigns a joined column", sql: "update patients p set clinic_id = a.patient_id from appointments a where p.clinic_id = $1 and a.clinic_id = p.clinic_id",
			rule: sqlguard.RuleAssignTenant, table: "patients", at: "clinic_id"},
		{name: "update assigns tenant in a row", sql: "update patients set (name, clinic_id) = ($3, $1) where clinic_id = $1"},
		{name: "update assigns another tenant in a row", sql: "update patients set (name, clinic_id) = ($3, $2) where clinic_id = $1",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
		{name: "update assigns tenant from a sub-select", sql: "update patients set (name, clinic_id) = (select name, clinic_id from patients where clinic_id = $1 limit 1) where clinic_id = $1",
			rule: sqlguard.RuleAssignTenant, table: "patients", at: "clinic_id)"},
		{name: "update from propagation", sql: "update patients p set name = a.note from appointments a where p.clinic_id = $1 and a.clinic_id = p.clinic_id"},
		{name: "update from unscoped", sql: "update patients p set name = a.note from appointments a where p.clinic_id = $1 and a.patient_id = p.id",
			rule: unscoped, table: "appointments", at: "appointments"},
		{name: "update set sub-query correlated", sql: "update appointments set note = (select name from patients p where p.clinic_id = appointments.clinic_id and p.id = appointments.patient_id) where clinic_id = $1"},
		{name: "update set sub-query unscoped", sql: "update appointments set note = (select name from patients p where p.id = appointments.patient_id) where clinic_id = $1",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "update where current of", sql: "update patients set name = $3 where current of c", rule: unscoped, table: "patients", at: "patients"},
		{name: "update global table", sql: "update clinics set name = $3"},
		{name: "update pg_settings", sql: "update pg_settings set setting = 'x' where name = 'tenancy.tenant_id'",
			rule: sqlguard.RuleSet, at: "pg_settings"},
		{name: "delete", sql: "delete from appointments where clinic_id = $1"},
		{name: "delete unscoped", sql: "delete from appointments", rule: unscoped, table: "appointments", at: "appointments"},
		{name: "delete returning", sql: "delete from appointments where clinic_id = tenancy.current_tenant_id() returning *"},
		{name: "delete using propagation", sql: "delete from appointments a using patients p where a.clinic_id = $1 and p.clinic_id = a.clinic_id and p.id = a.patient_id"},
		{name: "delete using unscoped", sql: "delete from appointments a using patients p where a.clinic_id = $1 and p.id = a.patient_id",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "delete where sub-query", sql: "delete from appointments where clinic_id = $1 and patient_id in (select id from patients)",
			rule: unscoped, table: "patients", at: "patients"},
	})
}

func TestCheckStatements(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		{name: "two statements", sql: "select 1; select 2", rule: sqlguard.RuleMultipleStatements, at: " select 2"},
		{name: "scoped then unscoped", sql: "select * from patients where clinic_id = $1; select * from patients",
			rule: sqlguard.RuleMultipleStatements, at: "; select"[1:]},
		{name: "trailing semicolon", sql: "select 1;"},
		{name: "syntax error", sql: "select * frm patients", rule: sqlguard.RuleSyntax, at: "frm"},
		{name: "set_config local", sql: "select set_config('tenancy.tenant_id', $3, true)", rule: sqlguard.RuleSetConfig, at: "set_config", fn: "set_config"},
		{name: "set_config session", sql: "select set_config('tenancy.tenant_id', $3, false)", rule: sqlguard.RuleSetConfig, at: "set_config", fn: "set_config"},
		{name: "set_config other setting", sql: "select pg_catalog.set_config('statement_timeout', '1s', true)", rule: sqlguard.RuleSetConfig, at: "pg_catalog", fn: "pg_catalog.set_config"},
		{name: "set_config in from", sql: "select * from set_config('x.y', 'z', false)", rule: sqlguard.RuleSetConfig, at: "set_config", fn: "set_config"},
		{name: "set_config upper case", sql: "SELECT SET_CONFIG('tenancy.tenant_id', $3, TRUE)", rule: sqlguard.RuleSetConfig, at: "SET_CONFIG", fn: "set_config"},
		{name: "query_to_xml", sql: "select query_to_xml('select * from patients', true, false, '')", rule: sqlguard.RuleFunction, at: "query_to_xml", fn: "query_to_xml"},
		{name: "advisory lock", sql: "select pg_advisory_lock(1)", rule: sqlguard.RuleFunction, at: "pg_advisory_lock", fn: "pg_advisory_lock"},
		{name: "advisory xact lock", sql: "select pg_advisory_xact_lock(1)"},
		{name: "set tenant", sql: "set tenancy.tenant_id = 'x'", rule: sqlguard.RuleSet, at: "set"},
		{name: "set session tenant", sql: "set session tenancy.tenant_id = 'x'", rule: sqlguard.RuleSet, at: "set"},
		{name: "set local tenant", sql: "set local tenancy.tenant_id = 'x'", rule: sqlguard.RuleSet, at: "set"},
		{name: "set local tenant quoted upper case", sql: `set local "TENANCY.tenant_id" = 'x'`, rule: sqlguard.RuleSet, at: "set"},
		{name: "set role", sql: "set role postgres", rule: sqlguard.RuleSet, at: "set"},
		{name: "set local role", sql: "set local role postgres", rule: sqlguard.RuleSet, at: "set"},
		{name: "set session authorization", sql: "set session authorization postgres", rule: sqlguard.RuleSet, at: "set"},
		{name: "set local search_path", sql: "set local search_path = evil", rule: sqlguard.RuleSet, at: "set"},
		{name: "set session statement_timeout", sql: "set statement_timeout = '1s'", rule: sqlguard.RuleSet, at: "set"},
		{name: "set local statement_timeout", sql: "set local statement_timeout = '1s'"},
		{name: "set transaction", sql: "set transaction isolation level serializable"},
		{name: "set session characteristics", sql: "set session characteristics as transaction read only", rule: sqlguard.RuleSet, at: "set"},
		{name: "reset", sql: "reset tenancy.tenant_id", rule: sqlguard.RuleSet, at: "reset"},
		{name: "reset role", sql: "reset role", rule: sqlguard.RuleSet, at: "reset"},
		{name: "reset all", sql: "reset all", rule: sqlguard.RuleSet, at: "reset"},
		{name: "show", sql: "show tenancy.tenant_id", rule: sqlguard.RuleStatementKind, at: "show"},
		{name: "truncate", sql: "truncate patients", rule: sqlguard.RuleTruncate, table: "patients", at: "truncate"},
		{name: "truncate global", sql: "truncate table clinics", rule: sqlguard.RuleTruncate, table: "clinics", at: "truncate"},
		{name: "copy", sql: "copy patients to stdout", rule: sqlguard.RuleCopy, table: "patients", at: "copy"},
		{name: "copy query", sql: "copy (select * from patients where clinic_id = $1) to stdout", rule: sqlguard.RuleCopy, at: "copy"},
		{name: "create table", sql: "create table x (id int)", rule: sqlguard.RuleDDL, at: "create"},
		{name: "create table as", sql: "create table x as select * from patients where clinic_id = $1", rule: sqlguard.RuleDDL, at: "create"},
		{name: "select into", sql: "select * into x from patients where clinic_id = $1", rule: sqlguard.RuleDDL, at: "x from"},
		{name: "alter table", sql: "alter table patients disable row level security", rule: sqlguard.RuleDDL, at: "alter"},
		{name: "drop", sql: "drop table patients", rule: sqlguard.RuleDDL, at: "drop"},
		{name: "grant", sql: "grant select on patients to public", rule: sqlguard.RuleDDL, at: "grant"},
		{name: "revoke", sql: "revoke select on patients from public", rule: sqlguard.RuleDDL, at: "revoke"},
		{name: "comment", sql: "comment on table patients is 'x'", rule: sqlguard.RuleDDL, at: "comment"},
		{name: "create function", sql: "create function f() returns int language sql as 'select 1'", rule: sqlguard.RuleDDL, at: "create"},
		{name: "create policy", sql: "create policy p on patients using (true)", rule: sqlguard.RuleDDL, at: "create"},
		{name: "vacuum", sql: "vacuum patients", rule: sqlguard.RuleDDL, at: "vacuum"},
		{name: "explain", sql: "explain select * from patients where clinic_id = $1", rule: sqlguard.RuleStatementKind, at: "explain"},
		{name: "explain analyze", sql: "explain analyze delete from patients", rule: sqlguard.RuleStatementKind, at: "explain"},
		{name: "do", sql: "do $$ begin perform 1; end $$", rule: sqlguard.RuleStatementKind, at: "do"},
		{name: "call", sql: "call p()", rule: sqlguard.RuleStatementKind, at: "call"},
		{name: "prepare", sql: "prepare s as select * from patients where clinic_id = $1", rule: sqlguard.RuleStatementKind, at: "prepare"},
		{name: "execute", sql: "execute s", rule: sqlguard.RuleStatementKind, at: "execute"},
		{name: "declare cursor", sql: "declare c cursor for select * from patients where clinic_id = $1", rule: sqlguard.RuleStatementKind, at: "declare"},
		{name: "listen", sql: "listen x", rule: sqlguard.RuleStatementKind, at: "listen"},
		{name: "notify", sql: "notify x", rule: sqlguard.RuleStatementKind, at: "notify"},
		{name: "lock", sql: "lock table patients", rule: sqlguard.RuleStatementKind, at: "lock"},
		{name: "merge", sql: "merge into patients p using clinics c on p.clinic_id = c.id when matched then delete", rule: sqlguard.RuleStatementKind, at: "merge"},
		{name: "discard", sql: "discard all", rule: sqlguard.RuleStatementKind, at: "discard"},
		{name: "begin", sql: "begin", rule: sqlguard.RuleTransaction, at: "begin"},
		{name: "commit", sql: "commit", rule: sqlguard.RuleTransaction, at: "commit"},
		{name: "rollback", sql: "rollback", rule: sqlguard.RuleTransaction, at: "rollback"},
		{name: "savepoint", sql: "savepoint s1"},
		{name: "release", sql: "release savepoint s1"},
		{name: "rollback to", sql: "rollback to savepoint s1"},
	})
}

func TestCheckParameterTypes(t *testing.T) {
	g := newGuard(t, sqlguard.Config{})
	const sql = "select * from patients where clinic_id = $1"
	a, b := tenantA, tenantB
	aStr, bStr := a.String(), b.String()
	aBytes := raw(a)
	var nilID *tenancy.ID
	tests := []struct {
		name string
		arg  any
		ok   bool
	}{
		{"ID", a, true},
		{"*ID", &a, true},
		{"[16]byte", aBytes, true},
		{"*[16]byte", &aBytes, true},
		{"string", aStr, true},
		{"upper-case string", strings.ToUpper(aStr), true},
		{"*string", &aStr, true},
		{"pgtype.UUID", pgtype.UUID{Bytes: raw(a), Valid: true}, true},
		{"*pgtype.UUID", &pgtype.UUID{Bytes: raw(a), Valid: true}, true},
		{"other ID", b, false},
		{"other *ID", &b, false},
		{"other string", bStr, false},
		{"string with braces", "{" + aStr + "}", false},
		{"string without hyphens", strings.ReplaceAll(aStr, "-", ""), false},
		{"invalid pgtype.UUID", pgtype.UUID{Bytes: raw(a)}, false},
		{"nil", nil, false},
		{"nil *ID", nilID, false},
		{"[]byte", aBytes[:], false},
		{"int", 1, false},
		{"named [16]byte", struct{ ID tenancy.ID }{a}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := g.Check(sql, []any{tt.arg}, tenantA)
			if tt.ok && err != nil {
				t.Errorf("Check with %#v: %v, want nil", tt.arg, err)
			}
			var re *sqlguard.RefusalError
			if !tt.ok && (!errors.As(err, &re) || re.Rule != sqlguard.RuleParamTenant || re.Param != 1) {
				t.Errorf("Check with %#v: %v, want a param-tenant refusal for $1", tt.arg, err)
			}
		})
	}
	if err := g.Check(sql, nil, tenantA); err == nil {
		t.Error("Check without args: nil, want a refusal")
	}
	if err := g.Check("select 1", nil, tenancy.ID{}); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Errorf("Check for the zero tenant = %v, want ErrNoTenant", err)
	}
}
