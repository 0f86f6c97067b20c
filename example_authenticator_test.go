package tenancy_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/mydentalpractice/tenancy"
)

// An application's own authenticator (here, for API keys) stamps the
// principals it verifies; tenantdb lists its Source and accepts them. A
// principal built by hand with NewContext has no source and is refused.
func ExampleAuthenticator() {
	apiKeys := tenancy.NewAuthenticator("apikeys") // keep the pointer private
	accepted := []tenancy.Source{apiKeys.Source()} // what tenantdb.Config.Sources lists

	p := tenancy.Principal{
		Kind:    tenancy.Kind("staff"),
		Tenant:  tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f"),
		Subject: tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-000000000001"),
	}
	verified := apiKeys.NewContext(context.Background(), p)
	src, ok := tenancy.SourceFromContext(verified)
	fmt.Println(src, ok)
	got, src, err := tenancy.RequireFrom(verified, accepted)
	fmt.Println(got.Tenant, src, err)

	handMade := tenancy.NewContext(context.Background(), p)
	src, ok = tenancy.SourceFromContext(handMade)
	fmt.Println(src, ok)
	_, _, err = tenancy.RequireFrom(handMade, accepted)
	fmt.Println(errors.Is(err, tenancy.ErrUnverified))

	// Another authenticator of the same name is another source.
	_, _, err = tenancy.RequireFrom(tenancy.NewAuthenticator("apikeys").NewContext(context.Background(), p), accepted)
	fmt.Println(err)
	// Output:
	// apikeys true
	// 0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f apikeys <nil>
	// none false
	// true
	// tenancy: principal from no accepted authenticator: source apikeys is not accepted
}
