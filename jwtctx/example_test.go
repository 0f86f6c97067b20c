package jwtctx_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// exampleAuthority returns an Authority with a fixed Ed25519 key and clock,
// so the examples' output is deterministic. Real code loads the key from a
// secret store and leaves Now nil.
func exampleAuthority(rev jwtctx.Revoker) *jwtctx.Authority {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	key, err := jwtctx.NewEd25519Key("2025-03", priv)
	if err != nil {
		panic(err)
	}
	auth, err := jwtctx.New(jwtctx.Config{
		Issuer:     "https://auth.tracker.example",
		Audience:   "tracker-api",
		SigningKey: key,
		// The kinds come from the isolation model (rls.Model.Principals).
		Principals: tenancy.Principals{Kinds: []tenancy.KindSpec{
			{Name: "member", Access: tenancy.AccessTenant},
			{Name: "guest", Access: tenancy.AccessSubject},
			{Name: "support", Access: tenancy.AccessOperator},
		}},
		Revoker: rev,
		Now:     func() time.Time { return time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	return auth
}

// Issue a session token for an organization's member and verify it: the principal comes
// back with its tenant, ready for tenancy.NewContext.
func Example() {
	auth := exampleAuthority(jwtctx.NoRevocation)

	member := tenancy.Principal{
		Kind:    tenancy.Kind("member"),
		Tenant:  tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f"),
		Subject: tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-000000000001"),
		Roles:   []string{"editor"},
	}
	token, err := auth.Issue(member, 15*time.Minute)
	if err != nil {
		panic(err)
	}

	tok, err := auth.Verify(context.Background(), token, jwtctx.SessionToken)
	fmt.Println(tok.Type, tok.KeyID, tok.Principal.Kind, tok.Principal.Tenant, tok.Principal.Roles, err)
	fmt.Println("expires", tok.ExpiresAt.Format(time.RFC3339))

	// The same token is refused where only impersonation tokens are meant.
	_, err = auth.Verify(context.Background(), token, jwtctx.ImpersonationToken)
	fmt.Println(errors.Is(err, jwtctx.ErrType))
	// Output:
	// session+jwt 2025-03 member 0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f [editor] <nil>
	// expires 2025-03-01T09:15:00Z
	// true
}

// A platform admin impersonating a clinic gets a short-lived token whose
// act claim names the admin; the principal records the grant.
func ExampleAuthority_Issue_impersonation() {
	auth := exampleAuthority(jwtctx.NoRevocation)
	admin := tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-0000000000ad")
	imp := tenancy.Principal{
		Kind:    tenancy.Kind("support"),
		Tenant:  tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f"),
		Subject: admin,
		Impersonation: &tenancy.Impersonation{
			GrantID: tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-000000000901"),
			Admin:   admin,
		},
	}
	token, err := auth.Issue(imp, 10*time.Minute)
	if err != nil {
		panic(err)
	}
	tok, err := auth.Verify(context.Background(), token, jwtctx.AnyToken)
	fmt.Println(tok.Type, tok.Principal.Tenant, tok.Principal.Actor(), tok.Principal.Impersonation.GrantID, err)

	// Impersonation tokens live at most MaxImpersonationLifetime.
	_, err = auth.Issue(imp, 2*time.Hour)
	fmt.Println(errors.Is(err, jwtctx.ErrIssue))
	// Output:
	// impersonation+jwt 0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f 0195f1c2-7b3a-7c4d-8e5f-0000000000ad 0195f1c2-7b3a-7c4d-8e5f-000000000901 <nil>
	// true
}

// Logout revokes the token by its id; ending a grant revokes the
// impersonation tokens issued under it.
func ExampleMemoryRevoker() {
	rev := &jwtctx.MemoryRevoker{}
	auth := exampleAuthority(rev)
	patient := tenancy.Principal{
		Kind:    tenancy.Kind("guest"),
		Tenant:  tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f"),
		Subject: tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-0000000000aa"),
	}
	token, _ := auth.Issue(patient, time.Hour)

	tok, err := auth.Verify(context.Background(), token, jwtctx.SessionToken)
	fmt.Println(err)

	rev.RevokeToken(tok.ID, tok.ExpiresAt) // the logout handler
	_, err = auth.Verify(context.Background(), token, jwtctx.SessionToken)
	fmt.Println(err)
	// Output:
	// <nil>
	// jwtctx: token revoked
}
