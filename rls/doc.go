// Package rls makes PostgreSQL row-level security the last line of tenant
// isolation: [Generate] writes the migration SQL that isolates tenant
// tables, and [Check] reads a live database's catalog against the
// isolation [Model] and reports every way rows could still cross tenants.
//
// # Tables
//
// A [Table] describes one existing table. A [TenantOwned] table carries its
// tenant column ([Table.TenantColumn], or [Config.TenantColumn] for the
// tables that do not name their own); the app role reads and writes only
// the rows of the transaction's tenant. A [Registry] is global: the app
// role reads it, the platform role writes it. A [Private] table is out of
// the app role's reach. Finer rules narrow a tenant table further:
// [Table.SubjectColumn] limits the principals of subject-scoped kinds
// ([tenancy.AccessSubject]) to their own rows, [Table.ReadRoles] limits
// reads to holders of an application role (the audit log's reader), and
// [Table.ReadOnly] makes it read-only for some principal kinds. For a
// table another library defines (River's job table, through package
// tenantriver), [Table.UpdateColumns] grants UPDATE on named columns only
// and [Table.AllowUnique] names the unique keys without the tenant column
// that the model vouches for. The kinds
// themselves, and the types of tenant and subject keys, are declared in
// the Config ([Config.Kinds], [Config.TenantKey], [Config.SubjectKey]). A JSON [Spec] holds a Config and its tables for the
// `tenancy rls generate` and `tenancy rls check` commands.
//
// # The isolation model
//
// [NewModel] (or [Spec.Model]) turns a Config and its tables into a
// [Model]: every relation the app role may reach is classified as
// [ClassTenant], [ClassRegistry] or [ClassPrivate], and everything else is
// [ClassUnknown]. The model is the one source of truth of the SDK: the
// generator ([Model.Generate]), the checker ([Check]), the SQL guard
// (package sqlguard), tenantdb's start-up check ([CheckModel]) and the
// leak harness (package tenancytest) all read it, and none of them finds
// tenant tables by a column name on its own.
//
// # Generated SQL
//
// [Generate] emits, in order: a guard that stops the migration when a role
// is missing or when the app or platform role is a superuser or has
// BYPASSRLS; the helper schema (tenancy by default) with STABLE functions
// current_tenant_id(), reading [SettingTenantID], and current_subject_id(),
// current_actor_id(), principal_kind(), current_roles(),
// current_request_id() and current_grant_id(), reading the fields of
// [SettingPrincipal] (written by [EncodePrincipal]); grants; and, per
// tenant table,
// ENABLE and FORCE ROW LEVEL SECURITY and the policies named by
// [PolicyTenant] and its siblings. Every partition and inheritance child of
// a tenant table, at any depth, gets the same ENABLE, FORCE and policies,
// the owner role and no grants: a query that names a child directly is
// bound by the child's policies only, never by its parent's, and
// PostgreSQL copies neither to a new partition. Children made after the
// migration need it run again (Check reports them until then); the
// partitioned parent's own grants and policies govern every query through
// it. Registries get grants only. With
// [Config.Citus] it appends the Citus section of [Model.GenerateCitus]
// (citus.propagate_set_commands, create_reference_table for registries,
// create_distributed_table on the tenant column, co-located, for tenant
// tables); that section is tested as text only, since Citus cannot be
// installed in this project's test environment. The SDK's context is set
// with set_config, which Citus does not send to the workers that evaluate
// policies, so on Citus they fail closed until a context mode that sends
// SET LOCAL exists (docs/scaling.md).
//
// Generate creates no roles and no tables. Roles are global to a
// PostgreSQL cluster and creating them needs CREATEROLE, which the owner
// role that runs migrations should not have; so the roles are made once
// per cluster by its administrator, and the migration only checks them and
// grants to them. Tables are made by the application's own migrations,
// before this one. Every statement is idempotent (CREATE ... IF NOT
// EXISTS, CREATE OR REPLACE, REVOKE then GRANT, DROP POLICY IF EXISTS
// then CREATE POLICY), so re-running the migration converges on the spec.
//
// # Checking a live database
//
// [Check] reads the catalog against a [Model]: the tenant relations, each
// with its own tenant column (a table of tenants keyed by id included),
// and their partitions and inheritance children; the registries; the
// private relations; and the allow-lists of its [Config]. It never finds
// tenant tables by a column name. Every relation the app role can reach
// that the model does not name is reported, and so is every part of the
// model the catalog lacks. Each [Finding] names the object and says how to
// fix it. The `tenancy rls check --spec FILE` command prints them and
// exits with status 1 when one is an error.
//
// The same rules, not copies, are exported in parts: [CheckRole] and
// [CheckCurrentRole] run the role rules (on the model's app role, or on
// the role a connection runs as: tenantdb.CheckRole), and [CheckModel]
// runs the rules that tenantdb.New requires at start-up.
//
// # Findings
//
// Codes are stable. Errors unless marked as warnings; the fix is in each
// finding's Fix.
//
// The model and the catalog:
//   - model-relation-missing: the model names a relation the database lacks.
//     Fix: run the migration that creates it, or correct the specs.
//   - tenant-column-missing: a tenant relation (or a partition or child of
//     one) has no column of its tenant column's name. Fix: add it, or set
//     [Table.TenantColumn].
//   - subject-column-missing: a tenant relation lacks its
//     [Table.SubjectColumn]. Fix: add it, or correct the spec.
//   - tenant-relation-kind: the model calls a view, sequence or other
//     relation that cannot hold row-level security a tenant relation.
//     Fix: make it a table; a view over tenant tables needs
//     security_invoker and no place in the model as a tenant relation.
//   - unknown-relation: the app role holds a privilege (directly, through
//     PUBLIC or any role it is a member of) on a relation the model does
//     not name, such as a table of tenant rows whose column has another
//     name. The guard refuses it; the database does not. Fix: classify it
//     in the model and re-run the migration, or revoke the privileges.
//     Sequences are not relations of the model and are not reported.
//   - private-reachable: the app role holds a privilege on a relation the
//     model makes private. Fix: revoke it; read it through a pre-auth
//     function ([Config.PreAuth]).
//   - registry-tenant-column (warning): a registry has a column named like
//     a tenant column, so it may hold tenant rows that every tenant reads.
//     Fix: make it a tenant table, or rename the column.
//
// Tenant data that export, import and erase would miss ([CheckExport]
// runs these alone; package tenantarchive refuses to export while they
// find anything):
//   - tenant-reference-outside-model: a relation the model does not
//     classify as tenant-owned (a registry, a private table, or one it does
//     not name, whether the app role reaches it or not) has a foreign key
//     to a tenant relation, so its rows belong to tenants but sit outside
//     every relation an export reads. Fix: give it the tenant column, lead
//     the key with it, and make it a tenant table of the model.
//   - tenant-list-reference-outside-model: such a relation has a foreign
//     key to the registry that lists the tenants ([Table.ListsTenants]),
//     so each row is one tenant's. Fix: make it a tenant table with that
//     column as its tenant column, or drop the key.
//
// Tenant relations and their policies:
//   - rls-disabled, rls-not-forced: row-level security is not enabled, or
//     not forced (so the table's owner bypasses it). Fix: ALTER TABLE ...
//     ENABLE / FORCE ROW LEVEL SECURITY.
//   - no-policy: no policy applies to the app role. no-tenant-policy: no
//     RESTRICTIVE FOR ALL policy compares the tenant column with
//     current_tenant_id() in USING and WITH CHECK ([PolicyTenant] is the
//     one the migration makes). Fix: run the migration of [Model.Generate].
//   - foreign-table: a tenant relation is a foreign table, which cannot
//     hold row-level security.
//   - policy-no-with-check, policy-always-true, policy-null-escape,
//     policy-unwrapped-call (warning), policy-unbound-role: a write
//     policy without WITH CHECK; a policy true for every row; an "IS NULL
//     OR" escape; a helper called per row; a PERMISSIVE policy for a role
//     no RESTRICTIVE tenant policy binds.
//   - helper-missing, helper-volatility: the helper schema lacks
//     current_tenant_id(); a helper or policy function is IMMUTABLE (error)
//     or VOLATILE (warning). helper-key-type: current_tenant_id() or
//     current_subject_id() returns another type than the model's
//     [Config.TenantKey] or [Config.SubjectKey] (current_actor_id() too).
//     key-column: a tenant or subject column of a type that does not hold
//     the model's keys (a domain such as citext included) or with a
//     nondeterministic collation, under which 'acme' = 'ACME'.
//     kind-policy: a table's subject or read-only policies are missing or
//     list other kinds than the model's [Config.Kinds] would (a migration
//     generated before a kind's access changed).
//     policy-definer: a policy calls a SECURITY DEFINER function.
//
// The app role (the role rules, shared with tenantdb):
//   - app-role-missing: the app role does not exist.
//   - app-role-superuser, app-role-bypassrls: it is, or is a member of, a
//     superuser or a role with BYPASSRLS, which row-level security never
//     binds. Fix: ALTER ROLE ... NOSUPERUSER NOBYPASSRLS, or revoke the
//     membership.
//   - app-role-createrole: it has, or is a member of a role with,
//     CREATEROLE: it can create roles and grant itself membership in them
//     (before PostgreSQL 16 in any role but a superuser, the owner
//     included). Fix: NOCREATEROLE, or revoke the membership.
//   - app-role-replication: it has, or is a member of a role with,
//     REPLICATION: a replication connection streams every tenant's rows.
//     Fix: NOREPLICATION.
//   - app-role-predefined-role: it is a member, directly or through other
//     roles, of a predefined role; the object is the predefined role.
//     Errors: pg_execute_server_program (runs programs on the server),
//     pg_read_server_files and pg_write_server_files (server files),
//     pg_read_all_data and pg_write_all_data (every table, the private
//     and unknown ones included, and every row of a table without RLS),
//     pg_read_all_stats and pg_monitor (every session's statement text,
//     with other tenants' literals), pg_create_subscription (connections
//     out of the server, rows written in). Warnings, for they read no
//     tenant's rows: pg_signal_backend (cancels other tenants' queries),
//     pg_read_all_settings (superuser-only settings), pg_stat_scan_tables
//     (locks any table, counts every tenant's rows), pg_checkpoint,
//     pg_maintain, pg_signal_autovacuum_worker, and any predefined role
//     this check does not know. Not reported: pg_database_owner (held by
//     the database's owner, never granted) and pg_use_reserved_connections.
//     Fix: revoke the membership.
//   - app-role-owner: it owns, or can act as the owner of, a tenant
//     relation, and so can disable its row-level security.
//   - app-role-privilege, bypass-role-access, public-access: the app role
//     has TRUNCATE, REFERENCES or TRIGGER on a tenant table; another
//     superuser or BYPASSRLS role, or PUBLIC, holds privileges on one.
//   - app-role-owns-object, app-role-create, default-privileges: the app
//     role owns objects, may create them in a schema or the database, or
//     default privileges open new tables.
//
// Keys and constraints:
//   - unique-without-tenant, exclusion-without-tenant: a unique index or
//     constraint without the tenant column, or an exclusion constraint
//     that does not compare it with =: a conflict tells one tenant what
//     another stored. Fix: lead with the tenant column (WITH = in an
//     exclusion constraint).
//   - foreign-key-without-tenant: a foreign key between tenant tables
//     that does not match tenant to tenant.
//   - no-tenant-index, sequence-default (warnings): no index leads with
//     the tenant column; a shared counter that the app role can use (an
//     identity, or a sequence default on which it holds USAGE, UPDATE or
//     SELECT) shows other tenants' volume.
//
// Objects that run with other rights:
//   - security-definer, definer-search-path: a SECURITY DEFINER function
//     that is not allowed ([Config.AllowDefiner], [Config.PreAuth]), or has
//     no fixed search_path.
//   - view-not-security-invoker, materialized-view: a view that reads
//     tenant tables with its owner's rights; a materialized view of them.
//   - rewrite-rule: a rewrite rule (other than a view's _RETURN rule)
//     whose actions name another relation. Its actions run with the rights
//     of the owner of its table, past row-level security when that owner
//     bypasses it, whatever the caller may do. Fix: drop it; use a
//     SECURITY INVOKER trigger.
//   - trigger-definer, trigger-untrusted: a trigger, on any relation,
//     whose function is SECURITY DEFINER, or in an untrusted language (C,
//     plpython3u). Such a function runs on every write with its owner's
//     rights, or past every check; PL/pgSQL bodies are not in pg_depend, so
//     what it touches cannot be known and every one is reported. A SECURITY
//     INVOKER function in a trusted language runs with the rights of the
//     role whose write fired the trigger, so whoever owns it (a BYPASSRLS
//     owner included) it is not reported. Fix: SECURITY INVOKER, in SQL or
//     PL/pgSQL.
//
// Grants and large objects:
//   - public-grant: PUBLIC holds privileges on a relation other than a
//     tenant table (a warning for SELECT on a registry), so every role,
//     present and future, does. Grants an extension made at creation
//     (pg_init_privs) are not reported here. Fix: REVOKE ... FROM PUBLIC.
//   - public-definer: PUBLIC may run a SECURITY DEFINER function, allowed
//     ones included (PostgreSQL grants EXECUTE to PUBLIC on every new
//     function). Fix: REVOKE ALL ON FUNCTION ... FROM PUBLIC, and grant it
//     to the app role.
//   - function-grant: the app role may run a built-in or extension
//     function through a grant PostgreSQL does not make (pg_init_privs),
//     such as EXECUTE on pg_read_file or lo_export. Fix: revoke it. (A
//     user-defined SECURITY INVOKER function that PUBLIC may run, the
//     default, runs with the caller's rights, and is not reported.)
//   - large-object-readable: the app role can read or write large
//     objects, which have no tenant column and no row-level security.
//     Fix: keep tenant files in tenant tables; revoke or unlink them.
//   - lo-compat-privileges: lo_compat_privileges is on (for the server,
//     the database or the app role), so every role reads every large
//     object. Fix: reset it.
//
// The audit log ([Table.Audit] tables, package audit's):
//   - audit-owner: the schema of an audit table, or a relation or function
//     in it, is owned by another role than [Config.AuditRole], or the app,
//     owner or platform role is a superuser or a member of its owner, and
//     so could disable its append-only triggers, or alter, truncate or
//     delete the log; or the audit role is missing. The owner is the
//     object. Fix: re-run the audit schema (package audit's Schema) as an
//     administrator who can SET ROLE to the audit role, and revoke the
//     membership.
//
// Citus, only when the model declares it ([Config.Citus], or rls check
// --citus): what Citus would refuse when [Model.GenerateCitus] distributes
// the tables, read from PostgreSQL's own catalog, so before Citus is
// installed. The rules plain PostgreSQL shares with Citus keep their codes
// (unique-without-tenant, exclusion-without-tenant,
// foreign-key-without-tenant, tenant-reference-outside-model, whose source
// is a reference or local table in Citus) and add Citus's reason to the
// message; no-tenant-index is what keeps a tenant's rows on one shard
// quick to find. The rules of Citus alone:
//   - citus-unique-without-tenant: a unique key without the tenant column
//     that [Table.AllowUnique] exempts from unique-without-tenant. Citus
//     refuses it on a distributed table all the same. Fix: include the
//     tenant column, or keep the table out of Citus.
//   - citus-foreign-key-to-local: a foreign key from a tenant table to a
//     private or unknown relation, which GenerateCitus leaves local. Citus
//     keeps referencing and referenced rows on one node, so it refuses it.
//     Fix: make the relation a registry (a reference table) or a tenant
//     table.
//   - citus-inheritance: a tenant table that inherits (INHERITS, not
//     PARTITION OF). Citus distributes neither side of a bare inheritance
//     tree. Fix: declarative partitioning.
//   - citus-tenant-column-nullable (warning): a tenant column that allows
//     NULL. Citus routes each row by it and refuses a row without one (the
//     tenant policy already refuses it to the app role). Fix: NOT NULL.
//
// Schemas are covered by app-role-create (CREATE for PUBLIC or the app
// role) and app-role-owns-object; USAGE alone grants nothing inside.
//
// Two allow-lists in [Config] accept deliberate exceptions, each by name
// and each narrow: [Config.AllowDefiner] the SECURITY DEFINER sign-in
// lookup, and [Config.AllowCrossTenant] PERMISSIVE policies that are meant
// to cross tenants, such as the audit package's platform-role reads
// ([github.com/mydentalpractice/tenancy/audit.CrossTenantPolicies]). A
// listed policy is exempt from [CodePolicyUnboundRole] only; every other
// finding about it, and every unlisted policy, is still reported.
//
// # Security
//
// Row-level security binds only roles that are neither superusers nor
// BYPASSRLS, and by default not a table's owner. So the app role must be
// neither (the migration refuses to run otherwise, and Check reports it),
// must own nothing, and every tenant table is FORCEd, so that even its
// owner is bound. The owner role has no policy of its own, so under FORCE
// it sees no tenant rows at all: data migrations set a tenant context and
// run as the app role, or run as a deliberate maintenance superuser.
//
// Policies combine in two ways: PERMISSIVE policies are OR-ed, and at least
// one must pass, or no row is visible; RESTRICTIVE policies are AND-ed onto
// that result. The tenant rule is a RESTRICTIVE policy FOR ALL with both
// USING and WITH CHECK, so no permissive policy added later (by anyone)
// can widen access beyond the tenant, and no row can be inserted into, or
// updated into, another tenant. One PERMISSIVE policy admits the tenant's
// rows. The finer rules (subjects' own rows, read roles, read-only kinds)
// are RESTRICTIVE too, for the same reason. The tenant policy binds the app
// role only, so a PERMISSIVE policy for any other role (or PUBLIC) would
// admit every tenant's rows to that role; Check reports one unless a
// RESTRICTIVE tenant policy binds the same roles, or it is listed in
// [Config.AllowCrossTenant]. An entry there names one policy on one table
// and vouches for what it says today: the check cannot tell a narrow
// cross-tenant policy from a broad one of the same name, so review the list
// whenever a listed policy changes.
//
// Policies call the helpers inside a sub-select, as in
// tenant_id = (SELECT tenancy.current_tenant_id()), which PostgreSQL plans
// as an InitPlan: evaluated once per statement, then compared like a
// parameter, so an index on (tenant_id, ...) is used. The helpers are
// STABLE: never IMMUTABLE, which would let the planner fold one tenant's id
// into a cached plan that another tenant then reuses, and not VOLATILE,
// which would force evaluation per row.
//
// A missing context fails closed. current_tenant_id() raises an error with
// SQLSTATE [SQLStateNoTenant] when tenancy.tenant_id is missing or empty,
// so a statement without a tenant is refused rather than answered with
// nothing or everything. The other helpers return NULL when their setting
// is missing, and every policy is written so that NULL denies (NULL
// comparisons are not true); none has an "IS NULL OR" escape. The context
// is set per transaction with set_config(name, value, true), so it cannot
// leak to the next user of a pooled connection.
//
// Row-level security does not cover unique constraints and foreign keys:
// a unique violation, or a foreign key check (which ignores policies),
// tells one tenant whether another tenant's value exists. So the tenant
// column leads every primary key, is part of every unique constraint, and
// is matched tenant-to-tenant by every foreign key between tenant tables,
// as in FOREIGN KEY (tenant_id, project_id) REFERENCES projects
// (tenant_id, id). Check reports keys that do not follow this.
//
// TRUNCATE ignores row-level security, and REFERENCES and TRIGGER let the
// grantee attach objects that see every row, so the app role gets none of
// them. A view reads its tables with its owner's rights unless it has
// security_invoker, and a materialized view stores every tenant's rows
// with no policy at all; Check reports both. A SECURITY DEFINER function
// runs past the caller's policies; the one that signing in needs (before
// any tenant is known) must be narrow, have a fixed search_path and be
// allow-listed with [Config.AllowDefiner].
package rls
