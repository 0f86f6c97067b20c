package tenancy_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/mydentalpractice/tenancy"
)

// A handler puts the verified principal in the context; code that touches
// tenant data calls Require, which refuses a context without a tenant.
func Example() {
	clinic := tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f")
	dentist := tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-000000000001")

	ctx := tenancy.NewContext(context.Background(), tenancy.Principal{
		Kind:    tenancy.Kind("staff"),
		Tenant:  clinic,
		Subject: dentist,
		Roles:   []string{"dentist"},
	})

	p, err := tenancy.Require(ctx)
	fmt.Println(p.Tenant, p.Kind, p.HasRole("dentist"), err)

	_, err = tenancy.Require(context.Background())
	fmt.Println(errors.Is(err, tenancy.ErrNoTenant))
	// Output:
	// 0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f staff true <nil>
	// true
}

// Only the canonical 36-character form parses; the zero UUID never does.
func ExampleParseID() {
	for _, s := range []string{
		"0195F1C2-7B3A-7C4D-8E5F-6A7B8C9D0E1F",
		"{0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f}",
		"00000000-0000-0000-0000-000000000000",
	} {
		id, err := tenancy.ParseID(s)
		fmt.Printf("%q %v\n", id, err)
	}
	// Output:
	// "0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f" <nil>
	// "" tenancy: invalid id: want 36 characters, got 38
	// "" tenancy: invalid id: the zero UUID is not an identifier
}

// A platform admin has no tenant, so Require refuses them until they
// impersonate a clinic under a grant.
func ExampleRequire_platformAdmin() {
	admin := tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-0000000000ad")
	ctx := tenancy.NewContext(context.Background(), tenancy.Principal{
		Kind:    tenancy.Kind("platform_admin"),
		Subject: admin,
	})
	_, err := tenancy.Require(ctx)
	fmt.Println(err)

	clinic := tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f")
	grant := tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-000000000901")
	ctx = tenancy.NewContext(context.Background(), tenancy.Principal{
		Kind:          tenancy.Kind("platform_admin"),
		Tenant:        clinic,
		Subject:       admin,
		Impersonation: &tenancy.Impersonation{GrantID: grant, Admin: admin},
	})
	p, err := tenancy.Require(ctx)
	fmt.Println(p.Tenant, p.Actor(), err)
	// Output:
	// tenancy: no tenant in context: platform_admin principal has none
	// 0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f 0195f1c2-7b3a-7c4d-8e5f-0000000000ad <nil>
}

// A deployment whose tenants are keyed by bigint (or text) declares it in
// its isolation model; its keys are parsed by that type and refused in any
// other shape.
func ExampleKeyType_Parse() {
	for _, s := range []string{"42", "042", "-7", "0", "acme"} {
		id, err := tenancy.KeyBigint.Parse(s)
		fmt.Printf("%q %v\n", id, err != nil)
	}
	n, ok := tenancy.IntID(42).Int64()
	fmt.Println(n, ok)
	// Output:
	// "42" false
	// "" true
	// "-7" false
	// "" true
	// "" true
	// 42 true
}
