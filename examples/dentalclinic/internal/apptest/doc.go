// Package apptest runs the reference app for tests: migrated and seeded
// with the demo data (package seed) on a fresh PostgreSQL database, served
// on a loopback port, with helpers to sign in as any actor and to make
// requests.
//
// # Starting the app
//
// [Start] runs an app for one test, on a database of the test's own (or
// a private cluster the test may restart, [Options].Cluster); it stops
// when the test ends. [Shared] runs one app per name for the whole test
// binary, for tests that need no settings of their own: starting an app
// costs seconds. Call [pgtest.Main] from the package's TestMain so that
// the PostgreSQL server stops with the binary.
//
// # Signing in
//
// Every actor signs in through the API, as a client would: staff with
// [App.SignIn] or, with an account made for the test with exactly the
// roles it needs, [App.NewStaff]; patients in the portal with
// [App.SignInPortal] (and [App.NewPortalAccount]); the demo platform admin
// with [App.SignInAdmin]; an admin impersonating a clinic with
// [App.Impersonate]. The app the harness starts allows
// [TestSignInAttempts] sign-ins per address and email a minute, so tests
// sign in as often as they need; [Options].DefaultSignInLimit runs the
// app's own limit instead, for the test that proves it holds.
//
// # Requests
//
// [App.Do] sends JSON and returns a [Response] (status, header, body);
// [Response.JSON] decodes it and [Response.Problem] decodes an RFC 9457
// problem. [App.SuperConn], [App.SuperExec], [App.SuperStrings] and
// [App.SuperCount] read and write the database as its superuser, to prove
// that the data a test must not see exists, or to make fixtures.
//
// # Security
//
// The app runs as in production: the API connects as the app role,
// without BYPASSRLS; only migrations and the seed run as the owner. The
// superuser helpers are for fixtures and proofs, never for the claims
// under test.
package apptest
