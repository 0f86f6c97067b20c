// Command tenancy is the command-line tool of the tenancy SDK.
//
// Usage:
//
//	tenancy rls generate --spec FILE
//	tenancy rls roles --spec FILE --database NAME
//	tenancy rls check --spec FILE --dsn DSN [--app-role NAME] [--schema NAME] [--tenant-column NAME]
//	                  [--format text|json] [--allow-definer SCHEMA.FUNCTION]...
//	                  [--allow-cross-tenant SCHEMA.TABLE.POLICY]...
//	tenancy audit verify|checkpoint|keygen ...
//	tenancy tenant export --spec FILE --tenant ID --reason TEXT --out DIR [--sign KEYFILE]
//	tenancy tenant import --spec FILE --in DIR [--verify PUBKEY]
//	tenancy tenant erase --spec FILE --tenant ID --reason TEXT --retention keep-audit-chain [--batch N] [--sign KEYFILE] [--out FILE]
//	tenancy tenant verify --record FILE [--public-key FILE]
//
// "rls generate" prints the migration SQL of a JSON spec (see rls.Spec).
// "rls roles" prints the SQL that makes the spec's four roles (owner, app,
// platform and the audit log's owner) with the attributes isolation needs, for a cluster administrator to run once (see
// rls.Model.RolesSQL).
// "rls check" reads a live database's catalog and reports, against the
// isolation model of the same spec (rls.Spec.Model), every way it could
// leak rows across tenants (see rls.Check).
// "tenant export", "tenant import" and "tenant erase" run package
// tenantarchive's Export, Import and Erase on the isolation model of the
// same spec: tenant rows through the app role's DSN (--dsn or
// $DATABASE_URL), the audit log and the registry through the platform
// role's (--platform-dsn or $PLATFORM_DATABASE_URL); import through an
// administrator's DSN that can SET ROLE to both.
//
// Exit status: 0 on success (check: no error-level finding), 1 when check
// finds an error-level finding or a command fails, 2 on bad usage.
//
// Each subcommand is a [command] in the tree built by [commands]; adding one
// means adding a command value there, in a file of its own.
package main
