// Command tenancy is the command-line tool of the tenancy SDK.
//
// Usage:
//
//	tenancy rls generate --spec FILE
//	tenancy rls roles --spec FILE --database NAME
//	tenancy rls check --spec FILE --dsn DSN [--app-role NAME] [--schema NAME] [--tenant-column NAME]
//	                  [--format text|json] [--allow-definer SCHEMA.FUNCTION]...
//	                  [--allow-cross-tenant SCHEMA.TABLE.POLICY]...
//
// "rls generate" prints the migration SQL of a JSON spec (see rls.Spec).
// "rls roles" prints the SQL that makes the spec's four roles (owner, app,
// platform and the audit log's owner) with the attributes isolation needs, for a cluster administrator to run once (see
// rls.Model.RolesSQL).
// "rls check" reads a live database's catalog and reports, against the
// isolation model of the same spec (rls.Spec.Model), every way it could
// leak rows across tenants (see rls.Check).
//
// Exit status: 0 on success (check: no error-level finding), 1 when check
// finds an error-level finding or a command fails, 2 on bad usage.
//
// Each subcommand is a [command] in the tree built by [commands]; adding one
// means adding a command value there, in a file of its own.
package main
