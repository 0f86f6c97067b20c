package jwtctx_test

import (
	"fmt"

	"github.com/mydentalpractice/tenancy/jwtctx"
)

// Publish the public keys for other services; they load them into a
// verify-only Authority with ParseJWKS. Private keys and HS256 secrets are
// never exported.
func ExampleAuthority_JWKS() {
	auth := exampleAuthority(jwtctx.NoRevocation)
	data, err := auth.JWKS()
	if err != nil {
		panic(err)
	}
	fmt.Println(string(data))

	keys, err := jwtctx.ParseJWKS(data)
	fmt.Println(keys[0].ID(), keys[0].Algorithm(), keys[0].CanSign(), err)
	// Output:
	// {"keys":[{"kty":"OKP","crv":"Ed25519","x":"6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw","kid":"2025-03","alg":"EdDSA","use":"sig"}]}
	// 2025-03 EdDSA false <nil>
}
