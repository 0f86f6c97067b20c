// Package tenantarchive exports one tenant's rows into a versioned
// archive, imports such an archive into another database with the same
// migrations, and erases a tenant with a proof: how a tenant gets a copy
// of its data, moves between PostgreSQL clusters, or leaves the platform.
//
// # Use
//
//	man, err := tenantarchive.Export(ctx, db, tenant, "/exports/clinic-42", tenantarchive.ExportConfig{
//		Reason:        "the clinic asked for its records (ticket 1234)",
//		SchemaVersion: "17", // goose's latest applied version, say
//		SigningKey:    key,  // optional: audit.LoadOrCreateKey
//		Progress:      func(p tenantarchive.Progress) { ... },
//	})
//	// elsewhere, on a database migrated the same way:
//	man, err = tenantarchive.Import(ctx, adminConn, model, "/exports/clinic-42", tenantarchive.ImportConfig{
//		SchemaVersion: "17", PublicKey: pub,
//	})
//
//	// a tenant that leaves the platform:
//	rec, err := tenantarchive.Erase(ctx, db, tenant, tenantarchive.EraseConfig{
//		Reason:     "the clinic closed its account (ticket 1240)",
//		Retention:  tenantarchive.RetainAuditChain,
//		SigningKey: key, // optional
//	})
//	doc, err := rec.Marshal() // keep it: the platform's proof of the erasure
//
// `tenancy tenant export`, `tenancy tenant import` and `tenancy tenant
// erase` run the same.
//
// # Erase
//
// [Erase] deletes the tenant's rows from every tenant relation of the
// model, children before parents (the catalog's foreign keys), in
// batches of [EraseConfig.BatchSize] rows, each its own transaction of
// the app role under the guard and row-level security with the tenant's
// context, each recording its count in the tenant's audit chain
// ([ActionEraseRows]) as it commits. Killed, it is run again: it continues
// where the deletes stopped and counts every run. Then a census in one
// snapshot must find none of the tenant's rows in any tenant relation
// ([ErrNotErased] otherwise), and one platform transaction appends the
// erasure's event ([ActionErased], carrying the record's digest) and
// removes the tenant's row of the registry of tenants. The record
// ([Erasure]) lists every tenant relation with its rows deleted and
// remaining, and the chain's head; it is returned (signed with
// [EraseConfig.SigningKey] when set) for the platform to keep, while the
// chain, which the retention rule [RetainAuditChain] keeps, holds its
// digest: [VerifyErasure] checks a record against the chain, and reports
// any event written for the tenant after it.
//
// # The archive
//
// A directory (format version [Version]):
//
//	manifest.json     the Manifest: format, version, tenant, key type, schema version,
//	                  export time, audit chain head, and per file its relation, class,
//	                  columns, rows, bytes and SHA-256; a digest over all of it; an
//	                  optional Ed25519 signature
//	data/0001.csv ... one file per relation: CSV as PostgreSQL's COPY writes it
//	                  (FORMAT csv, a header line, NULL as an empty unquoted field)
//
// The files are the registries first (the rows the tenant's rows
// reference), then every tenant relation of the model, each in name order.
// Export writes the manifest last, so a directory without one is not an
// archive.
//
// # What export reads, and as whom
//
// Export reads through tenantdb.Pool.ReadTenant: one snapshot, recorded
// first in the tenant's audit chain. The tenant relations are read by the
// app role, under the guard and row-level security, as a system principal
// of the tenant holding the model's read roles (COPY of a guarded query:
// COPY FROM is refused under row-level security, COPY of a query is not);
// the audit log, whose reads need a staff principal, by the platform role
// in the same snapshot. Before reading a row it runs rls.CheckExport and
// refuses ([ErrIncomplete]) when tenant data lies outside the model's
// tenant relations.
//
// # Security
//
// Erase fails closed: before any delete it refuses when rls.CheckExport
// finds tenant data outside the model's tenant relations
// ([ErrIncomplete]) or a tenant relation could not be emptied
// ([ErrUnerasable]), and it never deletes the audit log.
//
// The archive holds the tenant's data in clear text: keep it where the
// tenant's data may be, and remove it when done. Its files are created
// with mode 0600 in a directory of mode 0700.
//
// Import checks everything it can before it writes: the manifest's
// digest, every file's size, SHA-256, header and row count, no file
// missing or added, and the signature when a public key is given. Without
// a signature, someone who edits a file and recomputes its digest and the
// manifest's is caught only for the audit log (whose chain import
// re-verifies); sign the export to catch it for every table. Import then
// writes every row as the role the model gives it, so row-level
// security's WITH CHECK refuses a row of another tenant, in one
// transaction. Errors never quote rows.
package tenantarchive
