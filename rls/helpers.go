package rls

import "fmt"

// SQLStateNoTenant is the SQLSTATE of the error that the generated
// current_tenant_id() raises when the transaction carries no tenant (the
// setting tenancy.tenant_id is missing or empty). Class "TN" is in the range
// that the SQL standard leaves to implementations and that PostgreSQL does
// not use, so the code cannot collide with a server error. Match it with
// errors.As on a *pgconn.PgError and its Code field.
const SQLStateNoTenant = "TN001"

// Settings read by the generated helper functions. The tenant context is set
// per transaction, never per session, with
// set_config(name, value, true); a value that is missing or empty means
// "none".
const (
	SettingTenantID      = "tenancy.tenant_id"      // uuid of the tenant
	SettingSubjectID     = "tenancy.subject_id"     // uuid of the principal
	SettingActorID       = "tenancy.actor_id"       // uuid of who really acts (the impersonating admin)
	SettingPrincipalKind = "tenancy.principal_kind" // text form of a tenancy.Kind, such as "patient"
	SettingRoles         = "tenancy.roles"          // comma-separated application roles, such as "owner,dentist"
	SettingRequestID     = "tenancy.request_id"     // text
	SettingGrantID       = "tenancy.grant_id"       // uuid of an impersonation grant
)

// helper is one generated function in the helper schema.
type helper struct {
	name     string // function name, without schema
	returns  string
	language string
	body     string
}

// helpers are the STABLE, SECURITY INVOKER functions that policies call. All
// but current_tenant_id return NULL when their setting is missing or empty,
// which policies treat as "no access".
var helpers = []helper{
	{"current_tenant_id", "uuid", "plpgsql", fmt.Sprintf(`
DECLARE
    v text := pg_catalog.current_setting(%[1]s, true);
BEGIN
    IF v IS NULL OR v = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = %[2]s,
            MESSAGE = 'tenancy: no tenant in this transaction (setting %[3]s is missing or empty)',
            HINT = 'Run tenant work in a transaction that sets it with set_config(name, value, true).';
    END IF;
    RETURN v::uuid;
END
`, quoteLiteral(SettingTenantID), quoteLiteral(SQLStateNoTenant), SettingTenantID)},
	{"current_subject_id", "uuid", "sql", settingBody(SettingSubjectID, "::uuid")},
	{"current_actor_id", "uuid", "sql", settingBody(SettingActorID, "::uuid")},
	{"principal_kind", "text", "sql", settingBody(SettingPrincipalKind, "")},
	{"current_roles", "text[]", "sql", fmt.Sprintf(`
SELECT pg_catalog.string_to_array(NULLIF(pg_catalog.current_setting(%s, true), ''), ',')
`, quoteLiteral(SettingRoles))},
	{"current_request_id", "text", "sql", settingBody(SettingRequestID, "")},
	{"current_grant_id", "uuid", "sql", settingBody(SettingGrantID, "::uuid")},
}

func settingBody(setting, cast string) string {
	return fmt.Sprintf(`
SELECT NULLIF(pg_catalog.current_setting(%s, true), '')%s
`, quoteLiteral(setting), cast)
}
