// Package tenancytest proves, in an application's own tests, that one
// tenant cannot reach another's data. It is meant to be imported from
// _test.go files, and so imports package testing.
//
// It has two probers, each with its own Config: [ProbeHTTP] replays every
// route of an API as every actor against every object that actor does not
// own, and every write with another tenant's ids in its body; [ProbeSQL]
// probes every tenant relation of the isolation model ([rls.Model]) as the
// application's database role, to test row-level security on its own.
// Neither finds tables by a column name: the model says which relations
// are tenant relations and what each one's tenant column is.
//
// # Probing the HTTP API
//
// ProbeHTTP needs the route inventory, read from the router so that a new
// route cannot slip past ([HTTPConfig.Inventory]; with gorilla/mux, from
// mux.Walk and each route's GetPathTemplate and GetMethods), a [RouteSpec]
// per route (the object kind in its path, a valid body, who may call it),
// actors (a credential and its principal, per tenant and role, principals
// of subject-scoped kinds and operators too), the model's declaration of
// kinds ([HTTPConfig.Principals]), fixtures (object ids per tenant, of every kind, at two
// tenants or more) and a privileged Snapshot of one object:
//
//	tenancytest.ProbeHTTP(t, tenancytest.HTTPConfig{
//		BaseURL:     srv.URL,
//		Principals:  model.Principals(), // the kinds the app declares
//		Inventory:   routesFromRouter(router),
//		Routes:      specs,    // one per route, or Skip with the reason
//		Actors:      actors,   // tokens of members of every role at two tenants, guests, operators
//		Fixtures:    fixtures, // ids of each kind at each tenant
//		TenantField: "org_id", // the field that names an object's tenant in answers
//		Snapshot:    snapshot, // a superuser's read of one object
//	})
//
// For every route, method and actor it checks that another tenant's (or, for
// a subject-scoped actor, another subject's) object answers exactly as a missing one
// ([CheckForeign]), that no successful answer names a foreign object
// ([CheckForeignID]) or carries another tenant in the tenant field
// ([CheckTenantField]), that a write aimed at a foreign object changes
// nothing ([CheckUnchanged]), that allowed actors succeed and others get
// 403 ([CheckAccess]) and, optionally, that the SQL guard refused nothing
// ([CheckGuard]).
//
// It also tries another tenant's ids inside request bodies, as the OWASP
// authorization testing cheat sheet describes for insecure direct object
// references ([CheckBodyID]): in every JSON body that an allowed actor
// sends to a write route (a route with [RouteSpec.Call], or a route with
// a parameter aimed at one of the actor's own objects), each string that
// is a fixture's id is replaced, one field at a time, by the id of each
// fixture of the same kind that is foreign to the actor, and each string
// that is the actor's tenant by each other tenant. The answer must be the
// one a missing id in that field gets, must not succeed with the foreign
// object or tenant in it, and the foreign object's snapshot must not
// change. Give the bodies the actor's own ids (a patient_id of its own
// tenant), so that the prober has something to replace.
//
// It refuses to pass vacuously: an inventory route without a spec, a
// route no allowed actor reached with a foreign object, and a fixture
// that no owner saw in a successful answer fail ([CheckCoverage],
// [CheckVacuous]), and so does a TenantField that no successful JSON
// answer carried ([CheckTenantField], on route "* *"). A check that has
// nothing to run on says so in the log: TenantField unset ("the
// tenant-field check did not run"), or no write body holding an id the
// prober knows ("the body-id check did not run"); each route's log line
// counts the requests it made with another tenant's id in the body. Each
// hole is reported as an [HTTPFailure] naming the route, method, actor and
// check.
//
// A passing ProbeHTTP does not prove anything about routes skipped with a
// reason, objects that are not fixtures (give one of every kind at each
// tenant), actors that are not listed, writes on the actor's own objects
// (a write route without a parameter is called only with [RouteSpec.Call]),
// ids in bodies that are not fixtures' (or in bodies of routes it does not
// call as an allowed actor, or in query strings and headers), or side
// channels such as timing; nor, for a write, changes outside what Snapshot
// reads.
//
// # Probing the database
//
// ProbeSQL connects as the application's database role, the one the
// app runs as, sets tenant A's context exactly as package tenantdb does
// ([tenantdb.ContextSQL]), and tries to read and write tenant B's rows in
// every tenant relation of the model, each by its own tenant column
// ([rls.Relation.TenantColumn]), subject column and read roles. It needs a
// second, privileged connection (a
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
//			Model:      myapp.Model(), // the model given to tenantdb and the guard
//			Tables: []tenancytest.SQLTable{ // options, by name, where a table needs any
//				{Name: "public.invites", AllowEmpty: "the fixture invites no one at B"},
//			},
//			TenantA: orgA,
//			TenantB: orgB,
//		})
//	}
//
// Options ([SQLTable]: a key, values for constrained columns, a reason
// for B to have no rows) are given by name; a name that is not a tenant
// relation of the model stops the probe with [ErrInvalidConfig], so an
// option never silently applies to nothing. The fixture must give B rows
// in every tenant relation (and A rows too, where it can): a table where
// B has none fails with [CheckVacuous], unless its [SQLTable.AllowEmpty]
// says why. For each table, in transactions that are rolled back, ProbeSQL
// checks that:
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
// Tables with a subject column are probed a second time as a principal of
// A of the model's first subject-scoped kind ([tenancy.AccessSubject]),
// whose subject is that of one of B's rows. The first probe runs as a
// principal of its first [tenancy.AccessTenant] kind; a model that
// declares none is refused. A write refused with
// "permission denied" (SQLSTATE 42501) passes: an append-only table, whose
// role may not UPDATE or DELETE, cannot reach B that way either. A write
// refused for another reason (a trigger, a constraint) fails, since it
// does not show what row-level security would have done; set
// [SQLTable.Values] so that the row passes them. The audit tables of
// package audit need one: a new chain head must start at zero, so give
// audit.chain_heads Values{"seq": "0", "hash": "decode(repeat('00', 32), 'hex')"}.
//
// Every hole is reported with t.Errorf naming the table, the check and the
// principal, and the probe goes on, so one run lists them all. Tables
// without a hole are summarised with t.Logf.
//
// # Security
//
// A passing ProbeSQL proves, for the tenant relations of the model and the
// two tenants given, that the database itself (row-level security, grants, the role's
// attributes) stops the app role in A's context from reading B's rows,
// from changing or deleting them, from writing rows that claim B, and from
// learning them through RETURNING; and that a missing context fails closed.
// It refuses to run through an app role that could bypass row-level
// security ([tenantdb.CheckRole]), and to pass a table where B has no rows.
//
// It does not prove:
//   - anything about relations the model does not classify as tenant
//     relations: a tenant table left out of the model is not probed.
//     rls.Check reports relations the app role can reach that the model
//     does not classify; an application's own test can also compare the
//     relations the app role holds a privilege on with the model, as the
//     reference app's TestLeakSQL does;
//   - anything about the application's code: statements here are sent
//     straight to the database, past package sqlguard and the handlers,
//     to test the last line of defence on its own;
//   - isolation from principals other than those probed: a member of A
//     with the given roles and, on tables with a subject column, a
//     subject-scoped principal of A; nor isolation of subjects from each
//     other inside A;
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
