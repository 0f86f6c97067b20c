// Package pgparse parses SQL with PostgreSQL's own parser, libpg_query,
// into the protobuf parse tree of github.com/pganalyze/pg_query_go/v6,
// with or without cgo.
//
// With cgo (the default where a C compiler is found), libpg_query is
// linked in by pg_query_go. Without cgo (CGO_ENABLED=0: scratch or
// distroless images, cross-compiles), the same C code compiled to
// WebAssembly by github.com/wasilibs/go-pgquery runs inside the pure Go
// runtime github.com/tetratelabs/wazero, as sqlc does. Both return
// pg_query_go's tree types, so the packages that read the tree (sqlguard,
// rls) do not know which parser ran; only this package's three entry
// points are chosen by the cgo build constraint.
//
// # Cost
//
// Without cgo, the first parse in a process compiles the WebAssembly
// module (about two seconds), go-pgquery compiles it again for each
// instance its pool lacks (a parse that starts while every instance is
// busy), and each parse costs 3 to 5 times what it costs with cgo;
// docs/benchmarks.md has the figures. At most GOMAXPROCS parses run at
// once, so there are at most that many instances. Callers that parse the
// same text again (sqlguard's plan cache) pay a parse once per text.
//
// # Security
//
// Both parsers are libpg_query of PostgreSQL 17.7. The WebAssembly build
// is libpg_query 17-6.2.2, the cgo one 17-6.2.5: they differ in
// Normalize and Deparse, which this package does not offer, and in four
// location fields that 6.2.5 added (DefElem.ArgLocation,
// NotifyStmt.PayloadLocation, and the ConninfoLocation of
// CreateSubscriptionStmt and AlterSubscriptionStmt), which are zero
// without cgo. Nothing in this module reads them. TestAgreement holds
// both parsers to the same trees for the guard's and the checker's test
// SQL.
//
// The WebAssembly parser runs in wazero's sandbox, so a memory bug in
// libpg_query cannot reach the process, but its call stack is smaller
// than a native thread's: a tree about 4,000 additions deep, which the
// cgo build parses, traps it. A trapped instance misreads the texts
// after it (a valid SELECT reads as a syntax error), and go-pgquery puts
// it back in its pool, so from the first trap on every call fails with
// [ErrFault]: callers refuse what they cannot parse, so the build fails
// closed, but a process whose SQL text an attacker writes can be made to
// refuse every new text. Use the cgo build there.
package pgparse
