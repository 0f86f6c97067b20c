package sqlguard_test

import (
	"errors"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// FuzzGuard feeds arbitrary text to Check. The properties: it never
// panics; it returns nil or a *RefusalError wrapping ErrRefused; the
// answer does not change when the analysis comes from the cache; and a
// statement accepted with the tenant as every parameter is refused when
// some parameter it checks holds another tenant; and, checked for another
// tenant with that tenant as every parameter, it is accepted or refused
// only for a literal (of the first tenant) that it uses as the tenant.
func FuzzGuard(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Add("")
	f.Add(";;")
	f.Add("select $0")
	f.Add("select $2147483647")
	f.Add("select 'é' from patients where clinic_id = $1 and name = 'ü'")
	// Literals as uptrace/bun writes them, and their edge cases.
	f.Add(`SELECT "p"."id" FROM "patients" AS "p" WHERE (p.clinic_id = '` + litA + `')`)
	f.Add(`INSERT INTO "patients" AS "p" ("clinic_id", "id", "name") VALUES ('` + litA + `', '` + litB + `', 'x'), ('` + litA + `', $3, 'y')`)
	f.Add(`UPDATE "patients" AS "p" SET "name" = 'x' WHERE (clinic_id = '` + litA + `'::uuid)`)
	f.Add(`DELETE FROM "patients" AS "p" WHERE (p.clinic_id = '` + litB + `')`)
	f.Add("select * from patients where clinic_id = E'" + litA[:35] + `\x61'`)
	f.Add("select * from patients where clinic_id = $$" + litA + "$$")
	f.Add("select * from patients where clinic_id = U&'" + litA[:35] + `\0061'`)
	f.Add("select * from patients where clinic_id = '" + litA[:20] + "'\n'" + litA[20:] + "'")
	f.Add("select * from patients where clinic_id = '00000000-0000-0000-0000-000000000000'")
	g := newGuard(f, sqlguard.Config{})
	f.Fuzz(func(t *testing.T, sql string) {
		fresh := newGuard(t, sqlguard.Config{CacheSize: 1})
		allA := []any{tenantA, tenantA.String(), &tenantA}
		err1 := fresh.Check(sql, allA, tenantA)
		err2 := g.Check(sql, allA, tenantA)
		err3 := g.Check(sql, allA, tenantA)
		for _, err := range []error{err1, err2, err3} {
			if err == nil {
				continue
			}
			var re *sqlguard.RefusalError
			if !errors.As(err, &re) || !errors.Is(err, sqlguard.ErrRefused) {
				t.Fatalf("Check(%q) = %v, want nil or a *RefusalError", sql, err)
			}
			if re.Pos < 0 || re.Pos > len(sql) {
				t.Errorf("Check(%q): Pos %d outside the text", sql, re.Pos)
			}
		}
		if (err1 == nil) != (err2 == nil) || (err2 == nil) != (err3 == nil) {
			t.Fatalf("Check(%q): uncached %v, first %v, cached %v", sql, err1, err2, err3)
		}
		if err1 != nil {
			return
		}
		// Accepted: each parameter bound to tenant B must be refused
		// unless the statement does not use it as the tenant.
		for i := range allA {
			args := append([]any(nil), allA...)
			args[i] = tenantB
			err := g.Check(sql, args, tenantA)
			var re *sqlguard.RefusalError
			if err != nil && (!errors.As(err, &re) || re.Rule != sqlguard.RuleParamTenant || re.Param != i+1) {
				t.Fatalf("Check(%q) with $%d = B: %v, want nil or param-tenant for $%d", sql, i+1, err, i+1)
			}
		}
		allB := []any{tenantB, tenantB.String(), &tenantB}
		if err := g.Check(sql, allB, tenantB); err != nil {
			var re *sqlguard.RefusalError
			if !errors.As(err, &re) || re.Rule != sqlguard.RuleLiteralTenant {
				t.Fatalf("Check(%q) for B with B as every parameter: %v, want nil or literal-tenant", sql, err)
			}
		}
		if err := g.Check(sql, allA, tenancy.ID{}); !errors.Is(err, tenancy.ErrNoTenant) {
			t.Fatalf("Check(%q) for the zero tenant = %v, want ErrNoTenant", sql, err)
		}
	})
}
