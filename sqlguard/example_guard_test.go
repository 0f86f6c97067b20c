package sqlguard_test

import (
	"errors"
	"fmt"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

func ExampleGuard_Check() {
	g, err := sqlguard.New(sqlguard.Config{
		TenantTables: []string{"public.patients", "public.appointments"},
	})
	if err != nil {
		panic(err)
	}
	clinic := tenancy.MustParseID("0190a8c0-0000-7000-8000-00000000000a")
	other := tenancy.MustParseID("0190a8c0-0000-7000-8000-00000000000b")

	for _, c := range []struct {
		sql  string
		args []any
	}{
		{"select * from patients p join appointments a on a.clinic_id = p.clinic_id where p.clinic_id = $1", []any{clinic}},
		{"select * from patients where clinic_id = $1", []any{other}},
		{"select * from patients where clinic_id = $1 or name = $2", []any{clinic, "Ann"}},
		{"update patients set clinic_id = $1 where clinic_id = tenancy.current_tenant_id()", []any{clinic}},
		{"select 1; select 2", nil},
	} {
		err := g.Check(c.sql, c.args, clinic)
		var re *sqlguard.RefusalError
		if errors.As(err, &re) {
			fmt.Printf("refused: rule %s, table %q, byte %d\n", re.Rule, re.Table, re.Pos)
		} else {
			fmt.Println("allowed:", err)
		}
	}
	// Output:
	// allowed: <nil>
	// refused: rule param-tenant, table "patients", byte 41
	// refused: rule or-branch, table "patients", byte 14
	// refused: rule assign-tenant, table "patients", byte 20
	// refused: rule multiple-statements, table "", byte 9
}

func ExampleMode_report() {
	var reported []string
	g, err := sqlguard.New(sqlguard.Config{
		TenantTables: []string{"patients"},
		Mode:         sqlguard.Report,
		OnReport:     func(e *sqlguard.RefusalError) { reported = append(reported, e.Error()) },
	})
	if err != nil {
		panic(err)
	}
	clinic := tenancy.MustParseID("0190a8c0-0000-7000-8000-00000000000a")
	fmt.Println(g.Check("select count(*) from patients", nil, clinic))
	fmt.Println(reported)
	// Output:
	// <nil>
	// [sqlguard: statement refused (unscoped): table patients at byte 21]
}
