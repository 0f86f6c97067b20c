// Package oidctest holds the end-to-end tests of jwtctx against a real
// OpenID provider, zitadel/oidc's op package, started in the test process
// over TLS: discovery, the key set endpoint, access tokens issued by the
// client credentials grant, and key rotation at the provider while the
// test runs.
//
// It is a module of its own so that the provider's dependencies (chi,
// OpenTelemetry, go-jose and more) stay out of the SDK's go.mod and out of
// every application that imports the SDK. It has no code but its tests.
package oidctest
