package rls

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mydentalpractice/tenancy"
)

// Defaults applied by [Generate] and [Check] to empty [Config] fields.
const (
	DefaultSchema       = "tenancy"
	DefaultTenantColumn = "tenant_id"
	DefaultOwnerRole    = "tenancy_owner"
	DefaultAppRole      = "tenancy_app"
	DefaultPlatformRole = "tenancy_platform"
	DefaultAuditRole    = "tenancy_audit"
)

// Config names the database objects that tenant isolation is built from.
// It is shared by [Generate] and [Check]; the zero Config is valid and
// means the documented defaults. A Config is a value and safe to share.
//
// Role names are cluster-global in PostgreSQL, so they are configurable:
// deployments (and tests) that share a server use their own names. Every
// name may be any PostgreSQL identifier; the generated SQL quotes it. Role
// names that PostgreSQL reserves ("public", "none", and names that begin
// with "pg_") are refused.
type Config struct {
	// Schema holds the helper functions such as current_tenant_id().
	// Default "tenancy".
	Schema string `json:"schema,omitempty"`

	// TenantColumn is the tenant column of tenant tables, unless a [Table]
	// names its own. Tenant tables are the ones the [Model] names, never
	// those that happen to have a column of this name. Default "tenant_id".
	TenantColumn string `json:"tenant_column,omitempty"`

	// TenantKey is the type of the tenant key, the type of every tenant
	// column: uuid (the default), bigint or text. current_tenant_id()
	// returns it, the guard compares bound values as keys of it, and
	// tokens and the pool refuse tenants of another shape.
	TenantKey tenancy.KeyType `json:"tenant_key,omitzero"`

	// SubjectKey is the type of subject keys, which current_subject_id()
	// and current_actor_id() return and subject columns
	// ([Table.SubjectColumn]) hold: uuid (the default), bigint or text.
	SubjectKey tenancy.KeyType `json:"subject_key,omitzero"`

	// Kinds declares the application's principal kinds and what each may
	// do ([tenancy.KindSpec]); [tenancy.KindSystem] is implicit. A
	// principal of any other kind is refused by the pool and by token
	// verification, and the generated policies give it neither the
	// tenant's rows of a table with a subject column nor any write to a
	// table with read-only kinds. [Model.Principals] hands the declaration
	// to jwtctx and tenantdb.
	Kinds []tenancy.KindSpec `json:"kinds,omitempty"`

	// OwnerRole owns the tables, the helper schema and its functions, and
	// runs the migrations. Default "tenancy_owner".
	OwnerRole string `json:"owner_role,omitempty"`

	// AppRole is the login role of the application. It must not be a
	// superuser, have BYPASSRLS or own anything; the generated policies
	// apply to it. Default "tenancy_app".
	AppRole string `json:"app_role,omitempty"`

	// PlatformRole is the role of the narrow cross-tenant operations: it
	// reads and writes registries and has no privileges on tenant tables.
	// Default "tenancy_platform".
	PlatformRole string `json:"platform_role,omitempty"`

	// AuditRole owns the audit log: the schema of the tables marked
	// [Table.Audit] (package audit's), those tables, their triggers and
	// trigger functions. It is a NOLOGIN role that none of the other three
	// is a member of, and that is a member of none of them, so that the
	// owner role (the migrations) cannot disable the append-only triggers,
	// alter, truncate or delete the audit tables, and the app role can
	// only append through the SDK. Only an administrator who can SET ROLE
	// to it (a superuser or a member of it) installs the audit schema.
	// [Model.RolesSQL] creates it; [Check] reports audit objects that
	// another role owns or can alter ([CodeAuditOwner]). Default
	// "tenancy_audit".
	AuditRole string `json:"audit_role,omitempty"`

	// AllowDefiner lists the SECURITY DEFINER functions that [Check]
	// accepts, as "schema.function" (no argument list). A definer function
	// must still have a fixed search_path.
	AllowDefiner []string `json:"allow_definer,omitempty"`

	// AllowCrossTenant lists the PERMISSIVE policies that [Check] accepts
	// although they admit rows of every tenant to a role that no
	// RESTRICTIVE tenant policy binds (finding [CodePolicyUnboundRole]),
	// as "schema.table.policy": the unquoted names, exactly as in the
	// catalog, so a name that contains a dot cannot be listed. It exempts
	// only the listed policy on the listed table, and only from that
	// finding; the policy's other findings, and every unlisted policy on
	// the same table, are still reported. The name vouches for what the
	// policy says, so review the list whenever a listed policy changes.
	// The audit package lists its own in
	// [github.com/mydentalpractice/tenancy/audit.CrossTenantPolicies].
	// [Generate] ignores it.
	AllowCrossTenant []string `json:"allow_cross_tenant,omitempty"`

	// Functions lists the functions, as "schema.function" (no argument
	// list), that tenant-scoped SQL may call besides the guard's own set of
	// functions known to be safe in tenant scope: the application's own
	// SECURITY INVOKER functions, for example. The guard (package sqlguard)
	// refuses every other function. A SECURITY INVOKER function runs with
	// the caller's rights, so row-level security still binds what it
	// reads; a SECURITY DEFINER one runs past it, so it must also be in
	// AllowDefiner (which [Check] requires) and be narrow: scoped by
	// current_tenant_id() itself, with a fixed search_path. List none that
	// runs SQL given as text.
	Functions []string `json:"functions,omitempty"`

	// PreAuth lists the SECURITY DEFINER functions, as "schema.function",
	// that run before any tenant is known (sign-in looks a user up by
	// e-mail): the only SQL that tenantdb's pre-auth handle sends. [Check]
	// accepts them as it accepts [Config.AllowDefiner], with the same
	// conditions (a fixed search_path).
	PreAuth []string `json:"pre_auth,omitempty"`

	// Citus declares that the database is, or will be, sharded with Citus.
	// [Generate] then appends the section of [Model.GenerateCitus]
	// (distribute tenant tables on their tenant column, co-located; make
	// registries reference tables; set citus.propagate_set_commands), and
	// [Check] adds the rules for what Citus would refuse or route badly
	// ([CodeCitusUniqueWithoutTenant] and its siblings, and Citus's reasons
	// in the messages of the rules it shares with plain PostgreSQL). When
	// false, neither says anything about Citus. See docs/scaling.md.
	Citus bool `json:"citus,omitempty"`
}

// Validate reports whether c's names are usable, after defaults: it
// returns nil or an error wrapping [ErrInvalidConfig]. [Generate] and
// [Check] call it themselves; Generate also needs the owner, app,
// platform and audit roles to be four different roles.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults returns c with empty fields set to their defaults, or an
// error wrapping [ErrInvalidConfig].
func (c Config) withDefaults() (Config, error) {
	for _, f := range []struct {
		field *string
		def   string
		name  string
	}{
		{&c.Schema, DefaultSchema, "Schema"},
		{&c.TenantColumn, DefaultTenantColumn, "TenantColumn"},
		{&c.OwnerRole, DefaultOwnerRole, "OwnerRole"},
		{&c.AppRole, DefaultAppRole, "AppRole"},
		{&c.PlatformRole, DefaultPlatformRole, "PlatformRole"},
		{&c.AuditRole, DefaultAuditRole, "AuditRole"},
	} {
		if *f.field == "" {
			*f.field = f.def
		}
		if err := checkIdent(*f.field); err != nil {
			return Config{}, fmt.Errorf("%w: %s: %v", ErrInvalidConfig, f.name, err)
		}
		if strings.HasSuffix(f.name, "Role") {
			if err := checkRoleName(*f.field); err != nil {
				return Config{}, fmt.Errorf("%w: %s: %v", ErrInvalidConfig, f.name, err)
			}
		}
	}
	if err := (tenancy.Principals{TenantKey: c.TenantKey, SubjectKey: c.SubjectKey, Kinds: c.Kinds}).Validate(); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	c.Kinds = slices.Clone(c.Kinds)
	for _, list := range []struct {
		name  string
		funcs []string
	}{{"AllowDefiner", c.AllowDefiner}, {"Functions", c.Functions}, {"PreAuth", c.PreAuth}} {
		for _, name := range list.funcs {
			schema, fn, ok := strings.Cut(name, ".")
			if !ok || checkIdent(schema) != nil || checkIdent(fn) != nil || strings.ContainsAny(fn, "(.") {
				return Config{}, fmt.Errorf("%w: %s: %q is not \"schema.function\"", ErrInvalidConfig, list.name, name)
			}
		}
	}
	for _, name := range c.AllowCrossTenant {
		parts := strings.Split(name, ".")
		if len(parts) != 3 || slices.ContainsFunc(parts, func(p string) bool { return checkIdent(p) != nil }) {
			return Config{}, fmt.Errorf("%w: AllowCrossTenant: %q is not \"schema.table.policy\"", ErrInvalidConfig, name)
		}
	}
	return c, nil
}

// checkRoleName refuses the role names that PostgreSQL reserves: "public"
// names the PUBLIC pseudo-role even when quoted, so a GRANT to it would
// grant to every role; "none" is refused by the parser; "pg_" names the
// predefined roles, which no migration should grant to or rely on.
func checkRoleName(s string) error {
	if s == "public" || s == "none" || strings.HasPrefix(s, "pg_") {
		return fmt.Errorf("role name %q is reserved by PostgreSQL", s)
	}
	return nil
}

// distinctRoles reports an error wrapping [ErrInvalidConfig] unless the
// owner, app, platform and audit roles are four roles. [Generate] and
// [Model.RolesSQL] need that.
func (c Config) distinctRoles() error {
	roles := []string{c.OwnerRole, c.AppRole, c.PlatformRole, c.AuditRole}
	for i, r := range roles {
		if slices.Contains(roles[i+1:], r) {
			return fmt.Errorf("%w: the owner, app, platform and audit roles must be four different roles", ErrInvalidConfig)
		}
	}
	return nil
}
