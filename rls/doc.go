// Package rls makes PostgreSQL row-level security the last line of tenant
// isolation: [Generate] writes the migration SQL that isolates tenant
// tables, and [Check] reads a live database's catalog and reports every
// way rows could still cross tenants.
//
// # Tables
//
// A [Table] describes one existing table. A [TenantOwned] table carries the
// tenant column (clinic_id by default, [Config.TenantColumn]); the app role
// reads and writes only the rows of the transaction's tenant. A [Registry]
// is global: the app role reads it, the platform role writes it. Finer
// rules narrow a tenant table further: [Table.SubjectColumn] limits
// patients to their own rows, [Table.ReadRoles] limits reads to holders of
// an application role (the audit log's owner), and [Table.ReadOnly] makes
// it read-only for some principal kinds. A JSON [Spec] holds a Config and
// its tables for the `tenancy rls generate` command.
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
// [Config.Citus] it appends create_reference_table and
// create_distributed_table calls; that section is tested as text only,
// since Citus cannot be installed in this project's test environment.
// Before relying on it, verify on your Citus version that the tenant context,
// which is set with set_config, reaches the workers that evaluate policies.
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
// [Check] treats every table with the tenant column as a tenant table and
// returns [Finding] values: missing ENABLE or FORCE (on partitions and
// inheritance children too), missing or weak policies, PERMISSIVE policies
// for roles that no RESTRICTIVE tenant policy binds, helpers and functions
// called by policies with the wrong volatility or SECURITY DEFINER, roles
// that bypass row-level security, an app role that owns objects or may
// create them in a schema or the database, default privileges that give
// new tables to PUBLIC (or TRUNCATE, REFERENCES or TRIGGER to the app
// role), keys and indexes without the tenant column, shared sequences,
// SECURITY DEFINER functions, and views that read tenant tables with their
// owner's rights. Each finding names the object and says how to fix it.
// The `tenancy rls check` command prints them and exits with status 1 when
// one is an error.
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
// rows. The finer rules (patients' own rows, read roles, read-only kinds)
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
// clinic_id = (SELECT tenancy.current_tenant_id()), which PostgreSQL plans
// as an InitPlan: evaluated once per statement, then compared like a
// parameter, so an index on (clinic_id, ...) is used. The helpers are
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
// as in FOREIGN KEY (clinic_id, patient_id) REFERENCES patients
// (clinic_id, id). Check reports keys that do not follow this.
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
