package sqlguard_test

import (
	"errors"
	"fmt"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

func ExampleGuard_Check() {
	// The model says which relations hold tenants' rows, and by which
	// column: usually the one the migration is generated from.
	model, err := rls.NewModel(rls.Config{TenantColumn: "clinic_id"},
		rls.Table{Name: "public.patients"},
		rls.Table{Name: "public.appointments"},
		rls.Table{Name: "public.clinics", TenantColumn: "id"},
	)
	if err != nil {
		panic(err)
	}
	g, err := sqlguard.New(sqlguard.Config{Model: model})
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
		{"select name from clinics where id = $1", []any{clinic}},
		{"select * from patients where clinic_id = $1", []any{other}},
		{"select * from patients where clinic_id = $1 or name = $2", []any{clinic, "Ann"}},
		{"update patients set clinic_id = id where clinic_id = tenancy.current_tenant_id()", nil},
		{"select * from invoices", nil},
		{"select pg_sleep(1)", nil},
		{"select 1; select 2", nil},
	} {
		err := g.Check(c.sql, c.args, clinic)
		var re *sqlguard.RefusalError
		if errors.As(err, &re) {
			fmt.Printf("refused: rule %s, table %q, function %q, byte %d\n", re.Rule, re.Table, re.Func, re.Pos)
		} else {
			fmt.Println("allowed:", err)
		}
	}
	// Output:
	// allowed: <nil>
	// allowed: <nil>
	// refused: rule param-tenant, table "patients", function "", byte 41
	// refused: rule or-branch, table "patients", function "", byte 14
	// refused: rule assign-tenant, table "patients", function "", byte 20
	// refused: rule unknown-relation, table "invoices", function "", byte 14
	// refused: rule function, table "", function "pg_sleep", byte 7
	// refused: rule multiple-statements, table "", function "", byte 9
}

func ExampleMode_report() {
	model, err := rls.NewModel(rls.Config{TenantColumn: "clinic_id"}, rls.Table{Name: "public.patients"})
	if err != nil {
		panic(err)
	}
	var reported []string
	g, err := sqlguard.New(sqlguard.Config{
		Model:    model,
		Mode:     sqlguard.Report,
		OnReport: func(e *sqlguard.RefusalError) { reported = append(reported, e.Error()) },
	})
	if err != nil {
		panic(err)
	}
	clinic := tenancy.MustParseID("0190a8c0-0000-7000-8000-00000000000a")
	fmt.Println(g.Check("select count(*) from patients", nil, clinic))
	fmt.Println(g.Check("select pg_catalog.pg_read_file('/etc/passwd')", nil, clinic))
	fmt.Println(reported)
	// Output:
	// <nil>
	// <nil>
	// [sqlguard: statement refused (unscoped): table patients at byte 21 sqlguard: statement refused (function): function pg_catalog.pg_read_file at byte 7]
}
