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
// tenants, as [Schema] passes them to [rls.Generate], each with its tenant
// column ([TenantColumn]): audit.events (the app role may INSERT and
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
		{Name: "audit.events", TenantColumn: TenantColumn, ReadRoles: readers, Privileges: []string{"SELECT", "INSERT"}},
		{Name: "audit.chain_heads", TenantColumn: TenantColumn, Privileges: []string{"SELECT", "INSERT", "UPDATE"}},
		{Name: "audit.impersonation_grants", TenantColumn: TenantColumn, ReadRoles: slices.Clone(readers), Privileges: []string{"SELECT"}},
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
// row-level security of [Tables] (through [rls.Generate], which also
// (re)creates the helper functions), and the platform and owner roles'
// narrow policies. The tables' tenant column is [TenantColumn] whatever
// rcfg.TenantColumn says: rcfg names the roles and the helper schema, and
// its TenantColumn is the application's own, which the audit tables do
// not use. Run it as the owner role (or a superuser), in one transaction,
// after the application's own rls migration; re-running it is harmless
// (and, with other reader roles, replaces the read policies).
//
// Who may do what:
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
//   - owner role: INSERT of platform-wide events (tenant_id NULL) in
//     system work, so a System pool connected as the owner role for
//     migrations can record its use.
//
// Schema fails with an error wrapping [rls.ErrInvalidConfig] for a
// malformed rcfg or reader role. It is safe for concurrent use.
func Schema(rcfg rls.Config, cfg Config) (string, error) {
	if err := rcfg.Validate(); err != nil {
		return "", err
	}
	policies, err := rls.Generate(rcfg, Tables(cfg)...)
	if err != nil {
		return "", err
	}
	q := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	owner := q(cmp.Or(rcfg.OwnerRole, rls.DefaultOwnerRole))
	app := q(cmp.Or(rcfg.AppRole, rls.DefaultAppRole))
	platform := q(cmp.Or(rcfg.PlatformRole, rls.DefaultPlatformRole))
	helper := q(cmp.Or(rcfg.Schema, rls.DefaultSchema))
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
		"{zero}", `'\x`+strings.Repeat("00", 32)+`'::bytea`,
		"{system}", "'"+tenancy.KindSystem.String()+"'",
		"{declared}", kind+" = ANY ("+kindArray(operators)+")",
		"{members}", kindArray(members),
		"{tenant_key}", keyType(rcfg.TenantKey), "{subject_key}", keyType(rcfg.SubjectKey),
	)
	var b strings.Builder
	b.WriteString(r.Replace(tablesSQL))
	b.WriteString("\n")
	b.WriteString(policies)
	b.WriteString(r.Replace(grantsSQL))
	return b.String(), nil
}

const tablesSQL = `-- Code generated by github.com/mydentalpractice/tenancy/audit. DO NOT EDIT.
--
-- The audit log: append-only, hash-chained events; chain heads; impersonation grants.
-- Run as the owner role (or a superuser), in one transaction. Re-running is harmless.

CREATE SCHEMA IF NOT EXISTS audit;
ALTER SCHEMA audit OWNER TO {owner};

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

-- Append-only: no UPDATE, DELETE or TRUNCATE of events, even by the owner role (statement
-- triggers fire even when row-level security hides every row).
CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog
    AS $function$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'TA001',
        MESSAGE = format('audit: %s on %I.%I refused: the audit log is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME);
END
$function$;
ALTER FUNCTION audit.refuse_change() OWNER TO {owner};
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
ALTER FUNCTION audit.advance_head() OWNER TO {owner};
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
ALTER FUNCTION audit.end_grant_only() OWNER TO {owner};
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

-- Audit: the platform head belongs to the platform role's and the owner's system work.
ALTER TABLE audit.platform_head OWNER TO {owner};
REVOKE ALL ON TABLE audit.platform_head FROM PUBLIC, {app}, {platform};
GRANT SELECT, UPDATE ON TABLE audit.platform_head TO {platform};

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

-- Audit: the owner role (a System pool for migrations) records its own use, platform-wide only.
DROP POLICY IF EXISTS audit_owner_system ON audit.events;
CREATE POLICY audit_owner_system ON audit.events AS PERMISSIVE FOR INSERT TO {owner}
    WITH CHECK (tenant_id IS NULL AND {kind} = {system});
`

// keyType is the PostgreSQL type of keys of type t.
func keyType(t tenancy.KeyType) string {
	switch t {
	case tenancy.KeyBigint:
		return "bigint"
	case tenancy.KeyText:
		return "text"
	}
	return "uuid"
}

// kindArray returns kinds as a SQL text[] literal, sorted.
func kindArray(kinds []tenancy.Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = "'" + k.String() + "'" // kind names are [a-z0-9_]: nothing to escape
	}
	slices.Sort(names)
	return "ARRAY[" + strings.Join(names, ", ") + "]::text[]"
}
