// Package tenancytest proves, in an application's own tests, that one
// tenant cannot reach another's data. It is meant to be imported from
// _test.go files, and so imports package testing.
//
// This version has the SQL prober, [ProbeSQL]. Probers of other layers (an
// HTTP route matrix, a model-based test of random actors) are to join it
// here, each with its own Config and Probe function.
//
// # Probing the database
//
// ProbeSQL connects as the application's database role, the one the
// app runs as, sets tenant A's context exactly as package tenantdb does
// ([tenantdb.ContextSQL]), and tries to read and write tenant B's rows in
// every tenant table. It needs a second, privileged connection (a
// superuser, or the owner role with BYPASSRLS) to prove that B's rows
// exist, to learn their keys, and to check afterwards that they did not
// change:
//
//	func TestNoSQLLeaks(t *testing.T) {
//		app, _ := pgxpool.New(ctx, appURL)    // the application's role
//		admin, _ := pgx.Connect(ctx, adminURL) // sees every tenant's rows
//		tenancytest.ProbeSQL(t, tenancytest.SQLConfig{
//			App:        app,
//			Privileged: admin,
//			Tables:     tenancytest.SQLTables(myapp.Tables()...), // the specs given to rls.Generate
//			TenantA:    clinicA,
//			TenantB:    clinicB,
//		})
//	}
//
// The fixture must give B rows in every table (and A rows too, where it
// can): a table where B has none fails with [CheckVacuous], unless its
// [SQLTable.AllowEmpty] says why. For each table, in transactions that are
// rolled back, ProbeSQL checks that:
//
//   - without a tenant context, a SELECT fails with SQLSTATE
//     [rls.SQLStateNoTenant], as the policies of package rls make it
//     ([CheckNoContext]); a table that answers no rows instead does not
//     fail closed;
//   - as a staff member of A holding the tables' read roles, A's own rows
//     are visible ([CheckOwnRows]: the control that makes the next checks
//     mean something), while no row of B is, by tenant or by key, nor any
//     row of a tenant other than A ([CheckSelect]);
//   - UPDATE (setting the tenant column to itself) and DELETE of B's rows,
//     by tenant and by key, affect no row ([CheckUpdate], [CheckDelete]);
//   - an INSERT of a copy of one of B's rows (or, when B has none, of
//     A's), claiming B, with fresh uuids in its key, fails with SQLSTATE
//     42501 ([CheckInsert]); so does
//     INSERT ... ON CONFLICT DO UPDATE aimed at B's key, and, when the key
//     lacks the tenant column, one of A's rows colliding with B's key
//     ([CheckUpsert]);
//   - each of those writes with RETURNING * returns no row ([CheckReturning]);
//   - afterwards, B's rows hash exactly as before ([CheckUnchanged]).
//
// Tables with a subject column are probed a second time as a patient of A
// whose subject is that of one of B's rows. A write refused with
// "permission denied" (SQLSTATE 42501) passes: an append-only table, whose
// role may not UPDATE or DELETE, cannot reach B that way either. A write
// refused for another reason (a trigger, a constraint) fails, since it
// does not show what row-level security would have done; set
// [SQLTable.Values] so that the row passes them.
//
// Every hole is reported with t.Errorf naming the table, the check and the
// principal, and the probe goes on, so one run lists them all. Tables
// without a hole are summarised with t.Logf.
//
// # Security
//
// A passing ProbeSQL proves, for the tables listed and the two tenants
// given, that the database itself (row-level security, grants, the role's
// attributes) stops the app role in A's context from reading B's rows,
// from changing or deleting them, from writing rows that claim B, and from
// learning them through RETURNING; and that a missing context fails closed.
// It refuses to run through an app role that could bypass row-level
// security ([tenantdb.CheckRole]), and to pass a table where B has no rows.
//
// It does not prove:
//   - anything about tables that are not listed: list every tenant table
//     (rls.Check finds tables with the tenant column that lack policies);
//   - anything about the application's code: statements here are sent
//     straight to the database, past package sqlguard and the handlers,
//     to test the last line of defence on its own;
//   - isolation from principals other than those probed: a staff member of
//     A with the given roles and, on tables with a subject column, a
//     patient of A; nor isolation of patients from each other inside A;
//   - the absence of side channels: unique-violation or foreign-key errors,
//     timing, counts through views or functions that run with their
//     owner's rights (rls.Check reports those it can see);
//   - anything about B's rows beyond the first 100 keys checked by key
//     (the checks by tenant cover every row).
//
// The probe only reads through the privileged connection and rolls back
// every transaction on the app connection, so it can run against a shared
// test database; CheckUnchanged then fails if other tests write B's rows
// at the same time, so do not run it in parallel with them.
package tenancytest
