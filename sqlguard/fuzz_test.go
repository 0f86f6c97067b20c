package sqlguard_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// FuzzGuard feeds arbitrary text to Check, and statements that hide
// text (often SQL) inside a string or dollar-quoted argument of a
// function the guard allows. The properties: it never panics; it returns
// nil or a *RefusalError wrapping ErrRefused; the answer does not change
// when the analysis comes from the cache; a statement accepted with the
// tenant as every parameter is refused when some parameter it checks
// holds another tenant; checked for another tenant with that tenant as
// every parameter, it is accepted or refused only for a literal (of the
// first tenant) that it uses as the tenant; and the text inside a string
// argument never changes the answer (it is data, not SQL).
func FuzzGuard(f *testing.F) {
	add := func(s string) { f.Add(s, uint16(0), "", false) }
	for _, s := range seeds(f) {
		add(s)
	}
	for i, s := range sqlInText {
		f.Add("", uint16(3*i*17+1), s, i%2 == 0)
		f.Add("", uint16(3*i+2), s, i%2 == 1)
	}
	add("")
	add(";;")
	add("select $0")
	add("select $2147483647")
	add("select 'é' from patients where clinic_id = $1 and name = 'ü'")
	// Literals as uptrace/bun writes them, and their edge cases.
	add(`SELECT "p"."id" FROM "patients" AS "p" WHERE (p.clinic_id = '` + litA + `')`)
	add(`INSERT INTO "patients" AS "p" ("clinic_id", "id", "name") VALUES ('` + litA + `', '` + litB + `', 'x'), ('` + litA + `', $3, 'y')`)
	add(`UPDATE "patients" AS "p" SET "name" = 'x' WHERE (clinic_id = '` + litA + `'::uuid)`)
	add(`DELETE FROM "patients" AS "p" WHERE (p.clinic_id = '` + litB + `')`)
	add("select * from patients where clinic_id = E'" + litA[:35] + `\x61'`)
	add("select * from patients where clinic_id = $$" + litA + "$$")
	add("select * from patients where clinic_id = U&'" + litA[:35] + `\0061'`)
	add("select * from patients where clinic_id = '" + litA[:20] + "'\n'" + litA[20:] + "'")
	add("select * from patients where clinic_id = '00000000-0000-0000-0000-000000000000'")
	g := newGuard(f, sqlguard.Config{})
	fresh := newGuard(f, sqlguard.Config{CacheSize: 1})
	safe := sqlguard.SafeFunctions()
	f.Fuzz(func(t *testing.T, sql string, pick uint16, text string, dollar bool) {
		if pick%3 != 0 {
			q, ok := quoteText(text, dollar)
			if !ok {
				return
			}
			form := "select pg_catalog.%s(%s)"
			if pick%3 == 2 {
				form = "select * from patients where clinic_id = $1 and %s(name) = %s"
			}
			fn := safe[int(pick/3)%len(safe)]
			sql = fmt.Sprintf(form, fn, q)
			plain := fmt.Sprintf(form, fn, "'x'")
			err, plainErr := g.Check(sql, []any{tenantA}, tenantA), g.Check(plain, []any{tenantA}, tenantA)
			if (err == nil) != (plainErr == nil) || (err != nil && !sameRule(err, plainErr)) {
				t.Fatalf("the text of a string changes the answer:\n%q: %v\n%q: %v", sql, err, plain, plainErr)
			}
		}
		allA := []any{tenantA, tenantA.String(), &tenantA, []tenancy.ID{tenantA}}
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
		allB := []any{tenantB, tenantB.String(), &tenantB, []tenancy.ID{tenantB}}
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

// sameRule reports whether two refusals name the same rule.
func sameRule(a, b error) bool {
	var ra, rb *sqlguard.RefusalError
	return errors.As(a, &ra) && errors.As(b, &rb) && ra.Rule == rb.Rule
}
