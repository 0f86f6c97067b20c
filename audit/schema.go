package audit

import (
	"cmp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// SQLStateAppendOnly is the SQLSTATE of the error raised by the triggers
// that keep the audit tables append-only (UPDATE, DELETE or TRUNCATE of
// audit.events, rewinding a chain head, changing an ended grant). The app
// role meets "permission denied" (42501) first, since it holds no such
// privilege; the trigger stops the owner role.
const SQLStateAppendOnly = "TA001"

// SQLStateContextMismatch is the SQLSTATE of the error raised by the
// trigger audit.check_context when an inserted event's facts differ from
// the transaction's context, which the SDK sets (package rls's settings,
// read as [rls.Config.ContextSQL] reads them): its tenant (when the
// transaction has one), actor kind (unless the transaction declares
// system work, which records whoever asked for it), actor, request id,
// and, in an impersonated transaction, its grant and admin. An event that
// names a grant outside an impersonated transaction must come from system
// or operator work. [Record] and [Append] set the facts from the same
// principal, so they never meet it; a forged event does.
//
// Separately, an event that names a grant must name an existing grant of
// its tenant and admin (the foreign key events_grant; SQLSTATE 23503).
const SQLStateContextMismatch = "TA002"

// TenantColumn is the tenant column of every audit table: audit.events,
// audit.chain_heads and audit.impersonation_grants name their tenant
// tenant_id, whatever the application calls its own tenant column
// ([rls.Config.TenantColumn]). Every statement of this package names it,
// and [Tables] declares it per table, so that the isolation model (and
// through it the generated policies, the guard, the checker and the test
// harness) reads the same column. The hash chain does not depend on the
// name: [Event.Encode] encodes the tenant's value, never a column name.
const TenantColumn = "tenant_id"

// Tables returns the [rls.Table] specs of the audit tables that belong to
// tenants, as [Schema] passes them to [rls.Model.GenerateTables], each with
// its tenant column ([TenantColumn]) and marked [rls.Table.Audit] (the
// audit owner, [rls.Config.AuditRole], owns them): audit.events (the app role may INSERT and
// SELECT; only principals holding one of cfg's reader roles read),
// audit.chain_heads (SELECT, INSERT, UPDATE, for the chain's lock) and
// audit.impersonation_grants (SELECT by readers; written only by the
// platform role). Build the application's isolation model with them
// ([rls.NewModel](rcfg, append(appTables, audit.Tables(cfg)...)...)), so
// that the guard and the checker know them, and pass the same cfg to
// [Schema]. Do not also list them in the application's own rls.Generate
// call that runs after Schema: its REVOKE would remove the platform
// role's grants. It returns a new slice on each call and is safe for
// concurrent use.
//
// The ReadRoles of audit.events are the one record of who reads the
// log: [Config.Readers] gives them, the generated policies enforce them,
// and package impersonation lets them end grants.
func Tables(cfg Config) []rls.Table {
	readers := cfg.Readers()
	return []rls.Table{
		{Name: "audit.events", TenantColumn: TenantColumn, ReadRoles: readers, Privileges: []string{"SELECT", "INSERT"}, Audit: true},
		{Name: "audit.chain_heads", TenantColumn: TenantColumn, Privileges: []string{"SELECT", "INSERT", "UPDATE"}, Audit: true},
		{Name: "audit.impersonation_grants", TenantColumn: TenantColumn, ReadRoles: slices.Clone(readers), Privileges: []string{"SELECT"}, Audit: true},
	}
}

// DefaultReaderRole is the reader role of a [Config] whose ReaderRoles
// is empty: the tenant's owner.
const DefaultReaderRole = "owner"

// Config holds the audit log's own settings, shared by [Tables],
// [Schema] and package impersonation. The zero Config is valid and uses
// the defaults. Pass one value to all three: it is the one source of
// truth for who reads a tenant's log.
type Config struct {
	// ReaderRoles are the application roles (in [tenancy.Principal.Roles])
	// whose staff principals read their tenant's audit events and
	// impersonation grants. No other principal reads them: other staff,
	// principals of other kinds holding such a role, and impersonating
	// admins read nothing. Empty means [DefaultReaderRole] alone. Each role
	// must be a valid rls role name; [Schema] reports one that is not.
	ReaderRoles []string

	// TenantRegistry names the application's list of tenants as
	// "schema.table.column": every row's column is a tenant's key. It is
	// read, through the platform role, by [ReadCheckpoint] and
	// [VerifyCheckpoint], so that a tenant whose whole chain was deleted
	// is still missed; [Schema] and [Tables] do not use it. See
	// [ParseRegistry].
	TenantRegistry string
}

// Readers returns cfg's reader roles, defaulted: a new slice holding
// ReaderRoles, or [DefaultReaderRole] when there are none. It is safe for
// concurrent use.
func (cfg Config) Readers() []string {
	if len(cfg.ReaderRoles) == 0 {
		return []string{DefaultReaderRole}
	}
	return slices.Clone(cfg.ReaderRoles)
}

// Schema returns the migration SQL of the audit tables, with rcfg's role
// and helper-schema names (defaults as in [rls.Config]) and cfg's reader
// roles: the schema "audit", the tables, the append-only triggers, the
// trigger that checks each event against the transaction's context
// ([SQLStateContextMismatch]), the row-level security of [Tables]
// (through [rls.Model.GenerateTables]; the helper functions must exist:
// run the application's own rls migration first), and the platform and
// owner roles' narrow policies. The tables' tenant column is
// [TenantColumn] whatever rcfg.TenantColumn says.
//
// # Who installs it
//
// The audit owner, [rls.Config.AuditRole], owns the schema and everything
// in it, so that the owner role that runs the application's migrations
// cannot disable the triggers or alter, truncate or delete the tables.
// Ownership can only be given by someone who can act as the new owner, so
// the SQL must run as an administrator who can SET ROLE to the audit
// owner: a superuser, or a member of the audit owner (the first install
// also grants the audit owner USAGE on the helper schema, which needs the
// right to grant it: a superuser, or the owner role). It checks that
// first and fails with SQLSTATE 42501 otherwise, and also when the owner,
// app or platform role could act as the audit owner; the audit owner must
// exist (42704; [rls.Model.RolesSQL] makes it). It then hands the audit
// schema's existing relations and functions to the audit owner (a
// database made by an earlier version, where the owner role owned them,
// is upgraded by running Schema again as such an administrator), and
// creates the rest as the audit owner (SET ROLE, RESET ROLE at the end).
// Run it in one transaction; re-running it is harmless (and, with other
// reader roles, replaces the read policies).
//
// # Who may do what
//
//   - app role: INSERT and SELECT on audit.events, only in the context's
//     tenant; only staff principals holding a reader role read, so other
//     staff, other kinds of principal and impersonating admins read
//     nothing. No UPDATE, DELETE or TRUNCATE. SELECT, INSERT, UPDATE of
//     the tenant's chain head. SELECT of the tenant's impersonation grants
//     for readers.
//   - platform role: SELECT and INSERT on audit.events of every tenant and
//     the platform chain, and the chain heads and grants of every tenant,
//     in transactions that declare a principal kind of "system" or one
//     of the operator kinds (tenancy.AccessOperator) of rcfg.Kinds
//     (tenantdb's System does; so does package impersonation). That condition keeps stray unscoped work out; it is no
//     boundary against the role itself.
//   - owner role: nothing. It owns no audit object and holds no
//     privilege on one (earlier versions let it insert platform-wide
//     events; a System pool must now connect as the platform role).
//   - every inserted event must match the transaction's context, and a
//     named grant must exist ([SQLStateContextMismatch]), whoever inserts
//     it; a superuser can still rewrite anything.
//
// Schema fails with an error wrapping [rls.ErrInvalidConfig] for a
// malformed rcfg or reader role. It is safe for concurrent use.
func Schema(rcfg rls.Config, cfg Config) (string, error) {
	if err := rcfg.Validate(); err != nil {
		return "", err
	}
	model, err := rls.NewModel(rcfg, Tables(cfg)...)
	if err != nil {
		return "", err
	}
	policies, err := model.GenerateTables()
	if err != nil {
		return "", err
	}
	ctxSQL, err := rcfg.ContextSQL()
	if err != nil {
		return "", err
	}
	q := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	lit := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	auditRole := cmp.Or(rcfg.AuditRole, rls.DefaultAuditRole)
	ownerRole := cmp.Or(rcfg.OwnerRole, rls.DefaultOwnerRole)
	appRole := cmp.Or(rcfg.AppRole, rls.DefaultAppRole)
	platformRole := cmp.Or(rcfg.PlatformRole, rls.DefaultPlatformRole)
	helperSchema := cmp.Or(rcfg.Schema, rls.DefaultSchema)
	owner, app, platform, auditor := q(ownerRole), q(appRole), q(platformRole), q(auditRole)
	helper := q(helperSchema)
	// The platform role's policies admit the operator kinds and system
	// work; staff reads admit the kinds with tenant access. Both come from
	// the application's declaration (rcfg.Kinds).
	operators := []tenancy.Kind{tenancy.KindSystem}
	var members []tenancy.Kind
	for _, k := range rcfg.Kinds {
		switch k.Access {
		case tenancy.AccessOperator:
			operators = append(operators, k.Name)
		case tenancy.AccessTenant:
			members = append(members, k.Name)
		}
	}
	kind := "(SELECT " + helper + ".principal_kind())"
	r := strings.NewReplacer(
		"{owner}", owner, "{app}", app, "{platform}", platform, "{kind}", kind,
		"{audit}", auditor, "{audit_lit}", lit(auditRole), "{owner_lit}", lit(ownerRole),
		"{app_lit}", lit(appRole), "{platform_lit}", lit(platformRole),
		"{helper}", helper, "{helper_lit}", lit(helperSchema),
		"{zero}", `'\x`+strings.Repeat("00", 32)+`'::bytea`,
		"{system}", "'"+tenancy.KindSystem.String()+"'",
		"{declared}", kind+" = ANY ("+kindArray(operators)+")",
		"{operators}", kindArray(operators),
		"{members}", kindArray(members),
		"{tenant_key}", rls.KeySQLType(rcfg.TenantKey), "{subject_key}", rls.KeySQLType(rcfg.SubjectKey),
		"{ctx_tenant}", ctxSQL.Tenant, "{ctx_kind}", ctxSQL.Kind, "{ctx_actor}", ctxSQL.Actor,
		"{ctx_grant}", ctxSQL.Grant, "{ctx_request}", ctxSQL.RequestID,
	)
	var b strings.Builder
	b.WriteString(r.Replace(adminSQL))
	b.WriteString(r.Replace(tablesSQL))
	b.WriteString("\n")
	b.WriteString(policies)
	b.WriteString(r.Replace(grantsSQL))
	return b.String(), nil
}

// adminSQL runs as the administrator: it checks who runs it, and gives the
// audit schema and everything already in it to the audit owner.
const adminSQL = `-- Code generated by github.com/mydentalpractice/tenancy/audit. DO NOT EDIT.
--
-- The audit log: append-only, hash-chained events; chain heads; impersonation grants.
-- The audit owner {audit} owns all of it. Run as an administrator who can SET ROLE to {audit}
-- (a superuser, or a member of it), in one transaction. Re-running is harmless, and upgrades a
-- database whose audit objects the owner role owned.

DO $audit$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {audit_lit}) THEN
        RAISE EXCEPTION 'audit: the audit owner role "%" does not exist; create it with the other roles (rls.Model.RolesSQL, tenancy rls roles)', {audit_lit}
            USING ERRCODE = '42704';
    END IF;
    IF NOT pg_catalog.pg_has_role(current_user, {audit_lit}, 'MEMBER') THEN
        RAISE EXCEPTION 'audit: the audit schema must be installed by an administrator who can SET ROLE to the audit owner "%" (a superuser or a member of it), not by "%"', {audit_lit}, current_user
            USING ERRCODE = '42501',
                  HINT = 'Run it on an admin connection (in the reference app: the embedded server''s superuser, or AUDIT_ADMIN_DATABASE_URL).';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles AS r
               WHERE r.rolname IN ({owner_lit}, {app_lit}, {platform_lit}) AND pg_catalog.pg_has_role(r.oid, {audit_lit}, 'MEMBER')) THEN
        RAISE EXCEPTION 'audit: the owner, app or platform role can act as the audit owner "%"; revoke that membership', {audit_lit}
            USING ERRCODE = '42501';
    END IF;
    IF NOT pg_catalog.has_schema_privilege({audit_lit}, {helper_lit}, 'USAGE') THEN
        -- The policies that the audit owner creates call the helper functions.
        EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %I', {helper_lit}, {audit_lit});
    END IF;
END
$audit$;

CREATE SCHEMA IF NOT EXISTS audit AUTHORIZATION {audit};
ALTER SCHEMA audit OWNER TO {audit};

-- Relations and functions an earlier version made in the audit schema belong to the owner role:
-- they become the audit owner's (indexes, and sequences of columns, follow their tables).
DO $audit$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT pg_catalog.format('ALTER %s %s OWNER TO %I',
                   CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                   c.oid::pg_catalog.regclass, {audit_lit}) AS stmt
        FROM pg_catalog.pg_class AS c
        WHERE c.relnamespace = 'audit'::pg_catalog.regnamespace
          AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')
          AND c.relowner <> {audit_lit}::pg_catalog.regrole
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                          WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
                            AND d.deptype IN ('a', 'i'))
        UNION ALL
        SELECT pg_catalog.format('ALTER ROUTINE %s OWNER TO %I', p.oid::pg_catalog.regprocedure, {audit_lit})
        FROM pg_catalog.pg_proc AS p
        WHERE p.pronamespace = 'audit'::pg_catalog.regnamespace AND p.proowner <> {audit_lit}::pg_catalog.regrole
    LOOP
        EXECUTE r.stmt;
    END LOOP;
END
$audit$;

-- Everything below runs as the audit owner, and so belongs to it.
SET ROLE {audit};
`

const tablesSQL = `
-- One row per event. tenant_id NULL is the platform-wide chain. seq numbers each chain from 1;
-- hash is SHA-256 of the canonical encoding (version 1) documented in package audit.
CREATE TABLE IF NOT EXISTS audit.events (
    tenant_id {tenant_key},
    seq bigint NOT NULL CHECK (seq > 0),
    id uuid NOT NULL,
    version smallint NOT NULL CHECK (version = 1),
    occurred_at timestamptz NOT NULL,
    actor_kind text NOT NULL CHECK (actor_kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    actor_id {subject_key},
    impersonation_grant_id uuid,
    impersonator_id {subject_key},
    action text NOT NULL CHECK (octet_length(action) BETWEEN 1 AND 100),
    resource_type text NOT NULL DEFAULT '' CHECK (octet_length(resource_type) <= 100),
    resource_id text NOT NULL DEFAULT '' CHECK (octet_length(resource_id) <= 200),
    outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    reason text NOT NULL DEFAULT '' CHECK (octet_length(reason) <= 500),
    request_id text NOT NULL DEFAULT '' CHECK (octet_length(request_id) <= 128),
    prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash bytea NOT NULL CHECK (octet_length(hash) = 32),
    CONSTRAINT events_impersonation CHECK ((impersonation_grant_id IS NULL) = (impersonator_id IS NULL)),
    CONSTRAINT events_chain UNIQUE NULLS NOT DISTINCT (tenant_id, seq)
);

-- The head (last seq and hash) of each tenant's chain. Writers lock it with SELECT ... FOR UPDATE:
-- writers of one tenant serialize, writers of different tenants do not meet.
CREATE TABLE IF NOT EXISTS audit.chain_heads (
    tenant_id {tenant_key} PRIMARY KEY,
    seq bigint NOT NULL CHECK (seq >= 0),
    hash bytea NOT NULL CHECK (octet_length(hash) = 32)
);

-- The head of the platform-wide chain (events with tenant_id NULL): one row.
CREATE TABLE IF NOT EXISTS audit.platform_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq bigint NOT NULL CHECK (seq >= 0),
    hash bytea NOT NULL CHECK (octet_length(hash) = 32)
);
INSERT INTO audit.platform_head (singleton, seq, hash) VALUES (true, 0, {zero}) ON CONFLICT DO NOTHING;

-- Impersonation grants: a platform admin may act inside one tenant, for a stated reason, for at
-- most one hour. ended_at and ended_by are set once when the grant is ended early.
CREATE TABLE IF NOT EXISTS audit.impersonation_grants (
    tenant_id {tenant_key} NOT NULL,
    id uuid NOT NULL,
    admin_id {subject_key} NOT NULL,
    reason text NOT NULL CHECK (octet_length(btrim(reason)) BETWEEN 1 AND 500),
    started_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ended_at timestamptz,
    ended_by {subject_key},
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT grants_expiry CHECK (expires_at > started_at AND expires_at <= started_at + interval '1 hour'),
    CONSTRAINT grants_ended CHECK ((ended_at IS NULL) = (ended_by IS NULL) AND (ended_at IS NULL OR ended_at >= started_at))
);

-- An event names a grant only if that grant exists, of the event's tenant and admin: the app role
-- cannot invent an admin acting on a grant. NOT VALID: events written before this key are not
-- re-checked (the chain already commits to them); every new event is.
DO $audit$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_constraint
                   WHERE conrelid = 'audit.impersonation_grants'::pg_catalog.regclass AND conname = 'grants_admin') THEN
        ALTER TABLE audit.impersonation_grants ADD CONSTRAINT grants_admin UNIQUE (tenant_id, id, admin_id);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_constraint
                   WHERE conrelid = 'audit.events'::pg_catalog.regclass AND conname = 'events_grant_tenant') THEN
        ALTER TABLE audit.events ADD CONSTRAINT events_grant_tenant
            CHECK (impersonation_grant_id IS NULL OR tenant_id IS NOT NULL) NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_constraint
                   WHERE conrelid = 'audit.events'::pg_catalog.regclass AND conname = 'events_grant') THEN
        ALTER TABLE audit.events ADD CONSTRAINT events_grant FOREIGN KEY (tenant_id, impersonation_grant_id, impersonator_id)
            REFERENCES audit.impersonation_grants (tenant_id, id, admin_id) NOT VALID;
    END IF;
END
$audit$;

-- The facts of an event are the transaction's context, which the SDK sets: an insert whose tenant,
-- actor kind, actor, request id or grant differ is refused (TA002). Refused, not overwritten: the
-- client hashed the fields it sent. The context is read with pg_catalog's functions only, not the
-- helper functions, which the owner role owns and could replace. Under system work (kind system)
-- the actor kind is whoever asked for the work; outside an impersonated transaction only system or
-- operator work names a grant (which events_grant checks).
CREATE OR REPLACE FUNCTION audit.check_context() RETURNS trigger
    LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog
    AS $function$
DECLARE
    ctx_tenant {tenant_key} := {ctx_tenant};
    ctx_kind text := {ctx_kind};
    ctx_actor {subject_key} := {ctx_actor};
    ctx_grant uuid := {ctx_grant};
    ctx_request text := COALESCE({ctx_request}, '');
    refused text;
BEGIN
    IF ctx_kind IS NULL THEN
        refused := 'the transaction declares no principal';
    ELSIF ctx_tenant IS NOT NULL AND NEW.tenant_id IS DISTINCT FROM ctx_tenant THEN
        refused := 'its tenant is not the transaction''s tenant';
    ELSIF NEW.actor_kind <> ctx_kind AND ctx_kind <> {system} THEN
        refused := format('its actor kind %L is not the transaction''s principal kind %L', NEW.actor_kind, ctx_kind);
    ELSIF NEW.actor_id IS DISTINCT FROM ctx_actor THEN
        refused := 'its actor is not the transaction''s actor';
    ELSIF NEW.request_id <> ctx_request THEN
        refused := 'its request id is not the transaction''s request id';
    ELSIF ctx_grant IS NOT NULL AND (NEW.impersonation_grant_id IS DISTINCT FROM ctx_grant OR NEW.impersonator_id IS DISTINCT FROM ctx_actor) THEN
        refused := 'an impersonated transaction''s events name its grant and its admin';
    ELSIF ctx_grant IS NULL AND NEW.impersonation_grant_id IS NOT NULL AND NOT (ctx_kind = ANY ({operators})) THEN
        refused := 'only system or operator work names a grant it does not act under';
    END IF;
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TA002',
            MESSAGE = 'audit: event refused: ' || refused,
            HINT = 'Record events with audit.Record, in a transaction whose context the SDK set.';
    END IF;
    RETURN NULL;
END
$function$;
ALTER FUNCTION audit.check_context() OWNER TO {audit};
REVOKE ALL ON FUNCTION audit.check_context() FROM PUBLIC;
DROP TRIGGER IF EXISTS check_context ON audit.events;
-- AFTER, so that row-level security's WITH CHECK refuses a row of another tenant first (42501), as
-- for every tenant table; raising here still aborts the insert.
CREATE TRIGGER check_context AFTER INSERT ON audit.events
    FOR EACH ROW EXECUTE FUNCTION audit.check_context();

-- Append-only: no UPDATE, DELETE or TRUNCATE of events, even by the audit owner (statement
-- triggers fire even when row-level security hides every row). The owner role owns nothing here:
-- it can neither disable nor drop these triggers.
CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog
    AS $function$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'TA001',
        MESSAGE = format('audit: %s on %I.%I refused: the audit log is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME);
END
$function$;
ALTER FUNCTION audit.refuse_change() OWNER TO {audit};
REVOKE ALL ON FUNCTION audit.refuse_change() FROM PUBLIC;

-- Chain heads only move forward by one, and start at zero.
CREATE OR REPLACE FUNCTION audit.advance_head() RETURNS trigger
    LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog
    AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.seq <> 0 OR NEW.hash <> {zero} THEN
            RAISE EXCEPTION USING ERRCODE = 'TA001', MESSAGE = 'audit: a chain head starts at seq 0 with the zero hash';
        END IF;
    ELSIF NEW.seq <> OLD.seq + 1 OR to_jsonb(NEW) - 'seq' - 'hash' <> to_jsonb(OLD) - 'seq' - 'hash' THEN
        RAISE EXCEPTION USING ERRCODE = 'TA001', MESSAGE = 'audit: a chain head only advances by one event';
    END IF;
    RETURN NEW;
END
$function$;
ALTER FUNCTION audit.advance_head() OWNER TO {audit};
REVOKE ALL ON FUNCTION audit.advance_head() FROM PUBLIC;

-- A grant changes once: when it is ended.
CREATE OR REPLACE FUNCTION audit.end_grant_only() RETURNS trigger
    LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog
    AS $function$
BEGIN
    IF OLD.ended_at IS NOT NULL OR NEW.ended_at IS NULL
       OR to_jsonb(NEW) - 'ended_at' - 'ended_by' <> to_jsonb(OLD) - 'ended_at' - 'ended_by' THEN
        RAISE EXCEPTION USING ERRCODE = 'TA001', MESSAGE = 'audit: an impersonation grant may only be ended, once';
    END IF;
    RETURN NEW;
END
$function$;
ALTER FUNCTION audit.end_grant_only() OWNER TO {audit};
REVOKE ALL ON FUNCTION audit.end_grant_only() FROM PUBLIC;

DROP TRIGGER IF EXISTS append_only ON audit.events;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit.events
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
DROP TRIGGER IF EXISTS append_only ON audit.chain_heads;
CREATE TRIGGER append_only BEFORE DELETE OR TRUNCATE ON audit.chain_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
DROP TRIGGER IF EXISTS advance_head ON audit.chain_heads;
CREATE TRIGGER advance_head BEFORE INSERT OR UPDATE ON audit.chain_heads
    FOR EACH ROW EXECUTE FUNCTION audit.advance_head();
DROP TRIGGER IF EXISTS append_only ON audit.platform_head;
CREATE TRIGGER append_only BEFORE DELETE OR TRUNCATE ON audit.platform_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
DROP TRIGGER IF EXISTS advance_head ON audit.platform_head;
CREATE TRIGGER advance_head BEFORE UPDATE ON audit.platform_head
    FOR EACH ROW EXECUTE FUNCTION audit.advance_head();
DROP TRIGGER IF EXISTS append_only ON audit.impersonation_grants;
CREATE TRIGGER append_only BEFORE DELETE OR TRUNCATE ON audit.impersonation_grants
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
DROP TRIGGER IF EXISTS end_grant_only ON audit.impersonation_grants;
CREATE TRIGGER end_grant_only BEFORE UPDATE ON audit.impersonation_grants
    FOR EACH ROW EXECUTE FUNCTION audit.end_grant_only();
`

const grantsSQL = `
-- Audit: only staff (holding a reader role, above) read a tenant's events and grants; an
-- impersonating admin, or a principal of another kind holding a reader role, reads nothing.
DROP POLICY IF EXISTS audit_staff_reads ON audit.events;
CREATE POLICY audit_staff_reads ON audit.events AS RESTRICTIVE FOR SELECT TO {app}
    USING ({kind} = ANY ({members}));
DROP POLICY IF EXISTS audit_staff_reads ON audit.impersonation_grants;
CREATE POLICY audit_staff_reads ON audit.impersonation_grants AS RESTRICTIVE FOR SELECT TO {app}
    USING ({kind} = ANY ({members}));

-- Audit: the platform head belongs to the platform role's system work.
ALTER TABLE audit.platform_head OWNER TO {audit};
REVOKE ALL ON TABLE audit.platform_head FROM PUBLIC, {app}, {platform}, {owner};
GRANT SELECT, UPDATE ON TABLE audit.platform_head TO {platform};

-- Audit: the owner role (the migrations) owns nothing here and holds no privilege: it neither
-- writes nor reads the log. (Earlier versions let it insert platform-wide events.)
REVOKE ALL ON SCHEMA audit FROM {owner};
REVOKE ALL ON TABLE audit.events, audit.chain_heads, audit.impersonation_grants, audit.platform_head FROM {owner};

-- Audit: the platform role reads every chain, and writes impersonation grants and their events
-- into any tenant's chain, in declared platform or system work.
GRANT SELECT, INSERT ON TABLE audit.events TO {platform};
GRANT SELECT, INSERT, UPDATE ON TABLE audit.chain_heads TO {platform};
GRANT SELECT, INSERT, UPDATE ON TABLE audit.impersonation_grants TO {platform};
DROP POLICY IF EXISTS audit_platform ON audit.events;
CREATE POLICY audit_platform ON audit.events AS PERMISSIVE FOR ALL TO {platform}
    USING ({declared})
    WITH CHECK ({declared});
DROP POLICY IF EXISTS audit_platform ON audit.chain_heads;
CREATE POLICY audit_platform ON audit.chain_heads AS PERMISSIVE FOR ALL TO {platform}
    USING ({declared})
    WITH CHECK ({declared});
DROP POLICY IF EXISTS audit_platform ON audit.impersonation_grants;
CREATE POLICY audit_platform ON audit.impersonation_grants AS PERMISSIVE FOR ALL TO {platform}
    USING ({declared})
    WITH CHECK ({declared});
DROP POLICY IF EXISTS audit_owner_system ON audit.events;

RESET ROLE;
`

// kindArray returns kinds as a SQL text[] literal, sorted.
func kindArray(kinds []tenancy.Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = "'" + k.String() + "'" // kind names are [a-z0-9_]: nothing to escape
	}
	slices.Sort(names)
	return "ARRAY[" + strings.Join(names, ", ") + "]::text[]"
}
