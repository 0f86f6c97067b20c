package sqlguard_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// The texts of tenantA and tenantB, as bun writes them into statements.
const (
	litA = "0190a8c0-0000-7000-8000-00000000000a"
	litB = "0190a8c0-0000-7000-8000-00000000000b"
)

const literalTenant = sqlguard.RuleLiteralTenant

// TestCheckLiteral checks string constants used as the tenant, in the
// shapes uptrace/bun writes and the casts PostgreSQL offers, for tenant A.
func TestCheckLiteral(t *testing.T) {
	if tenantA.String() != litA || tenantB.String() != litB {
		t.Fatalf("test error: litA, litB = %s, %s; want %v, %v", litA, litB, tenantA, tenantB)
	}
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		// SELECT ... WHERE.
		{name: "where", sql: "select * from patients where clinic_id = '" + litA + "'"},
		{name: "where reversed", sql: "select * from patients where '" + litA + "' = clinic_id"},
		{name: "bun select", sql: `SELECT "p"."id" FROM "patients" AS "p" WHERE (p.clinic_id = '` + litA + `')`},
		{name: "bun select quoted column", sql: `SELECT "p"."clinic_id", "p"."id", "p"."name" FROM "patients" AS "p" WHERE ("p"."clinic_id" = '` + litA + `') AND ("p"."id" = '01a2b3c4-0000-7000-8000-000000000001')`},
		{name: "bun count", sql: `SELECT count(*) FROM "patients" AS "p" WHERE (clinic_id = '` + litA + `')`},
		{name: "upper case", sql: "select * from patients where clinic_id = '" + strings.ToUpper(litA) + "'"},
		{name: "escape string", sql: `select * from patients where clinic_id = E'` + litA[:35] + `\x61'`},
		{name: "other tenant", sql: "select * from patients where clinic_id = '" + litB + "'",
			rule: literalTenant, table: "patients", at: "'" + litB},
		{name: "other tenant beside a parameter", sql: "select * from patients where clinic_id = $1 and clinic_id = '" + litB + "'",
			rule: literalTenant, table: "patients", at: "'" + litB},
		{name: "other tenant beside the tenant", sql: "select * from patients where clinic_id = '" + litA + "' and clinic_id = '" + litB + "'",
			rule: literalTenant, table: "patients", at: "'" + litB},
		{name: "malformed", sql: "select * from patients where clinic_id = 'not-a-uuid'",
			rule: literalTenant, table: "patients", at: "'not"},
		{name: "malformed beside a parameter", sql: "select * from patients where clinic_id = $1 and clinic_id = 'x'",
			rule: literalTenant, table: "patients", at: "'x'"},
		{name: "empty", sql: "select * from patients where clinic_id = ''",
			rule: literalTenant, table: "patients", at: "''"},
		{name: "braces", sql: "select * from patients where clinic_id = '{" + litA + "}'",
			rule: literalTenant, table: "patients", at: "'{"},
		{name: "no hyphens", sql: "select * from patients where clinic_id = '" + strings.ReplaceAll(litA, "-", "") + "'",
			rule: literalTenant, table: "patients", at: "'0"},
		{name: "trailing space", sql: "select * from patients where clinic_id = '" + litA + " '",
			rule: literalTenant, table: "patients", at: "'0"},
		{name: "zero uuid", sql: "select * from patients where clinic_id = '00000000-0000-0000-0000-000000000000'",
			rule: literalTenant, table: "patients", at: "'0"},
		{name: "under or", sql: "select * from patients where clinic_id = '" + litA + "' or name = 'x'",
			rule: orBranch, table: "patients", at: "patients"},
		{name: "number", sql: "select * from patients where clinic_id = 1", rule: unscoped, table: "patients", at: "patients"},
		{name: "null", sql: "select * from patients where clinic_id = null", rule: unscoped, table: "patients", at: "patients"},
		{name: "literal elsewhere", sql: "select * from patients where clinic_id = $1 and name = 'not-a-uuid'"},
		{name: "global table", sql: "select * from clinics where id = 'not-a-uuid'"},
		{name: "sub-query", sql: "select * from patients p where p.clinic_id = '" + litA + "' and exists (select 1 from appointments a where a.clinic_id = '" + litA + "' and a.patient_id = p.id)"},
		{name: "sub-query other tenant", sql: "select * from patients p where p.clinic_id = '" + litA + "' and exists (select 1 from appointments a where a.clinic_id = '" + litB + "')",
			rule: literalTenant, table: "appointments", at: "'" + litB},

		// Casts.
		{name: "cast", sql: "select * from patients where clinic_id = '" + litA + "'::uuid"},
		{name: "cast qualified", sql: "select * from patients where clinic_id = '" + litA + "'::pg_catalog.uuid"},
		{name: "cast function", sql: "select * from patients where clinic_id = CAST('" + litA + "' AS uuid)"},
		{name: "typed constant", sql: "select * from patients where clinic_id = uuid '" + litA + "'"},
		{name: "cast other tenant", sql: "select * from patients where clinic_id = CAST('" + litB + "' AS uuid)",
			rule: literalTenant, table: "patients", at: "'" + litB},
		{name: "typed constant malformed", sql: "select * from patients where clinic_id = uuid 'x'",
			rule: literalTenant, table: "patients", at: "'x'"},
		{name: "cast to text", sql: "select * from patients where clinic_id = '" + litA + "'::text",
			rule: unscoped, table: "patients", at: "patients"},
		{name: "two casts", sql: "select * from patients where clinic_id = '" + litA + "'::text::uuid",
			rule: unscoped, table: "patients", at: "patients"},

		// JOIN ... ON.
		{name: "join on", sql: "select * from patients p join appointments a on a.clinic_id = '" + litA + "' and a.patient_id = p.id where p.clinic_id = '" + litA + "'"},
		{name: "bun join", sql: `SELECT "p"."name", "a"."note" FROM "patients" AS "p" JOIN "appointments" AS "a" ON ("a"."clinic_id" = "p"."clinic_id") AND ("a"."patient_id" = "p"."id") WHERE (p.clinic_id = '` + litA + `')`},
		{name: "join on other tenant", sql: "select * from patients p join appointments a on a.clinic_id = '" + litB + "' and a.patient_id = p.id where p.clinic_id = '" + litA + "'",
			rule: literalTenant, table: "appointments", at: "'" + litB},
		{name: "left join on preserved side", sql: "select * from patients p left join appointments a on p.clinic_id = '" + litA + "' and a.clinic_id = p.clinic_id",
			rule: unscoped, table: "patients", at: "patients"},

		// INSERT ... VALUES, every row.
		{name: "bun insert", sql: `INSERT INTO "patients" AS "p" ("clinic_id", "id", "name") VALUES ('` + litA + `', '01a2b3c4-0000-7000-8000-000000000001', 'x')`},
		{name: "bun insert returning", sql: `INSERT INTO "patients" AS "p" ("clinic_id", "id", "name") VALUES ('` + litA + `', '01a2b3c4-0000-7000-8000-000000000001', 'x') RETURNING "id"`},
		{name: "insert rows", sql: "insert into patients (clinic_id, id, name) values ('" + litA + "', $3, 'x'), ('" + strings.ToUpper(litA) + "', $3, 'y'), ($1, $3, 'z'), ('" + litA + "'::uuid, $3, 'w')"},
		{name: "insert row of another tenant", sql: "insert into patients (clinic_id, id, name) values ('" + litA + "', $3, 'x'), ('" + litB + "', $3, 'y')",
			rule: literalTenant, table: "patients", at: "'" + litB},
		{name: "insert row malformed", sql: "insert into patients (clinic_id, id, name) values ('" + litA + "', $3, 'x'), ('x', $3, 'y')",
			rule: literalTenant, table: "patients", at: "'x', $3, 'y'"},
		{name: "insert row of another tenant by parameter", sql: "insert into patients (clinic_id, id, name) values ('" + litA + "', $3, 'x'), ($2, $3, 'y')",
			rule: sqlguard.RuleParamTenant, table: "patients", at: "$2", param: 2},
		{name: "insert select", sql: "insert into patients (clinic_id, id, name) select '" + litA + "', id, name from clinics"},
		{name: "insert select other tenant", sql: "insert into patients (clinic_id, id, name) select '" + litB + "', id, name from clinics",
			rule: literalTenant, table: "patients", at: "'" + litB},

		// ON CONFLICT.
		{name: "bun upsert", sql: `INSERT INTO "patients" AS "p" ("clinic_id", "id", "name") VALUES ('` + litA + `', '01a2b3c4-0000-7000-8000-000000000001', 'x') ON CONFLICT ("clinic_id", "id") DO UPDATE SET "name" = EXCLUDED."name"`},
		{name: "on conflict scoped by where", sql: "insert into patients as p (clinic_id, id, name) values ('" + litA + "', $3, 'x') on conflict (id) do update set name = excluded.name where p.clinic_id = '" + litA + "'"},
		{name: "on conflict where other tenant", sql: "insert into patients as p (clinic_id, id, name) values ('" + litA + "', $3, 'x') on conflict (id) do update set name = excluded.name where p.clinic_id = '" + litB + "'",
			rule: literalTenant, table: "patients", at: "'" + litB},
		{name: "on conflict assigns the tenant", sql: "insert into patients (clinic_id, id) values ('" + litA + "', $3) on conflict (clinic_id, id) do update set clinic_id = '" + litA + "'"},
		{name: "on conflict assigns another tenant", sql: "insert into patients (clinic_id, id) values ('" + litA + "', $3) on conflict (clinic_id, id) do update set clinic_id = '" + litB + "'",
			rule: literalTenant, table: "patients", at: "'" + litB},

		// UPDATE and DELETE ... WHERE.
		{name: "bun update", sql: `UPDATE "patients" AS "p" SET "name" = 'x' WHERE (clinic_id = '` + litA + `')`},
		{name: "update other tenant", sql: `UPDATE "patients" AS "p" SET "name" = 'x' WHERE (clinic_id = '` + litB + `')`,
			rule: literalTenant, table: "patients", at: "'" + litB},
		{name: "update unscoped", sql: `UPDATE "patients" AS "p" SET "name" = 'x' WHERE (name = '` + litA + `')`,
			rule: unscoped, table: "patients", at: `"patients"`},
		{name: "update from", sql: "update patients p set name = a.note from appointments a where p.clinic_id = '" + litA + "' and a.clinic_id = p.clinic_id"},
		{name: "bun delete", sql: `DELETE FROM "patients" AS "p" WHERE (clinic_id = '` + litA + `')`},
		{name: "delete other tenant", sql: `DELETE FROM "patients" AS "p" WHERE ("p"."clinic_id" = '` + litB + `')`,
			rule: literalTenant, table: "patients", at: "'" + litB},
		{name: "delete malformed", sql: `DELETE FROM "patients" AS "p" WHERE (clinic_id = '` + litA[1:] + `')`,
			rule: literalTenant, table: "patients", at: "'"},
		{name: "delete unscoped", sql: `DELETE FROM "patients" AS "p" WHERE (name = 'a1')`,
			rule: unscoped, table: "patients", at: `"patients"`},
		{name: "delete using", sql: "delete from appointments a using patients p where a.clinic_id = '" + litA + "' and p.clinic_id = a.clinic_id and p.id = a.patient_id"},
	})
}

// TestCheckLiteralTwoTenants checks that a cached statement with a
// tenant's literal is accepted for that tenant only: the plan keeps the
// literal's value, not the answer for the first tenant.
func TestCheckLiteralTwoTenants(t *testing.T) {
	g := newGuard(t, sqlguard.Config{})
	for _, tt := range []struct {
		name, sql string
		table     string
	}{
		{"select", `SELECT "p"."id" FROM "patients" AS "p" WHERE (p.clinic_id = '` + litA + `')`, "patients"},
		{"insert", `INSERT INTO "patients" AS "p" ("clinic_id", "id", "name") VALUES ('` + litA + `', '01a2b3c4-0000-7000-8000-000000000001', 'x')`, "patients"},
		{"delete", `DELETE FROM "appointments" AS "a" WHERE (a.clinic_id = '` + litA + `'::uuid)`, "appointments"},
		{"join", "select * from patients p join appointments a on a.clinic_id = p.clinic_id where p.clinic_id = uuid '" + litA + "'", "patients"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := &refusal{Rule: literalTenant, Table: tt.table, Pos: strings.Index(tt.sql, "'"+litA)}
			for i, c := range []struct {
				tenant tenancy.ID
				want   *refusal
			}{
				{tenantA, nil},
				{tenantB, want},
				{tenantA, nil},
				{tenantB, want},
			} {
				got := refusalOf(t, g.Check(tt.sql, nil, c.tenant))
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("check %d, for %v (-want +got):\n%s", i, c.tenant, diff)
				}
			}
			// Upper-case text is the same tenant.
			upper := strings.ReplaceAll(tt.sql, litA, strings.ToUpper(litA))
			if err := g.Check(upper, nil, tenantA); err != nil {
				t.Errorf("Check(%q) for A = %v, want nil", upper, err)
			}
			if err := g.Check(upper, nil, tenantB); !errors.Is(err, sqlguard.ErrRefused) {
				t.Errorf("Check(%q) for B = %v, want a refusal", upper, err)
			}
			if err := g.Check(tt.sql, nil, tenancy.ID{}); !errors.Is(err, tenancy.ErrNoTenant) {
				t.Errorf("Check for the zero tenant = %v, want ErrNoTenant", err)
			}
		})
	}
}

// TestCheckLiteralReport checks that Report mode reports a literal of
// another tenant and lets the statement through.
func TestCheckLiteralReport(t *testing.T) {
	var got []*sqlguard.RefusalError
	g := newGuard(t, sqlguard.Config{Mode: sqlguard.Report, OnReport: func(e *sqlguard.RefusalError) { got = append(got, e) }})
	sql := "delete from patients where clinic_id = '" + litA + "'"
	if err := g.Check(sql, nil, tenantB); err != nil {
		t.Fatalf("Check in Report mode = %v, want nil", err)
	}
	if len(got) != 1 || got[0].Rule != literalTenant {
		t.Errorf("reported %v, want one literal-tenant refusal", got)
	}
}
