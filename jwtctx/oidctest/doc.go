// Package oidctest runs a real OpenID provider in a test process, for
// tests of services that accept its access tokens through jwtctx: zitadel's
// provider implementation (github.com/zitadel/oidc/v3/pkg/op) over TLS,
// with discovery, a key set endpoint, a token endpoint for the client
// credentials grant, and key rotation under the test's control.
//
// A test starts one with [Start], registers the clients whose tokens it
// needs ([Provider.AddClient]: each gets the subject and private claims the
// test gives it), points a [jwtctx.ProviderConfig] at [Provider.Issuer]
// with [Provider.HTTPClient], takes tokens from the token endpoint with
// [Provider.Token], and rotates the provider's key with [Provider.Rotate]
// and [Provider.Retire] while the service runs.
//
// It is a module of its own so that the provider's dependencies (chi,
// OpenTelemetry, go-jose and more) stay out of the SDK's go.mod and out of
// every application that imports the SDK; applications need it only in
// their tests. Its own tests are jwtctx's end-to-end tests against it.
package oidctest
