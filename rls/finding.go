package rls

import (
	"fmt"
	"slices"
	"strings"
)

// Severity grades a [Finding]. The zero Severity is invalid.
type Severity uint8

const (
	// SeverityWarning marks a weakness that leaks no rows by itself: a
	// performance problem under the policies, or a side channel about
	// volumes.
	SeverityWarning Severity = iota + 1
	// SeverityError marks a way rows of one tenant can be read or written
	// by another, or a policy that does not hold; with [Config.Citus],
	// also a schema that Citus refuses to distribute. `tenancy rls check`
	// exits with status 1 when it finds one.
	SeverityError
)

// String returns "warning", "error", or "Severity(n)" for an invalid value.
func (s Severity) String() string {
	switch s {
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// MarshalText implements [encoding.TextMarshaler] with the String form.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ObjectKind names the sort of database object a [Finding] is about.
type ObjectKind string

// The kinds of objects that findings name.
const (
	ObjectTable      ObjectKind = "table"
	ObjectColumn     ObjectKind = "column"
	ObjectIndex      ObjectKind = "index"
	ObjectConstraint ObjectKind = "constraint"
	ObjectPolicy     ObjectKind = "policy"
	ObjectFunction   ObjectKind = "function"
	ObjectView       ObjectKind = "view"
	ObjectRole       ObjectKind = "role"
	ObjectSchema     ObjectKind = "schema"
	ObjectDatabase   ObjectKind = "database"
	ObjectSequence   ObjectKind = "sequence"
	ObjectRule       ObjectKind = "rule"    // "rule on schema.table"
	ObjectTrigger    ObjectKind = "trigger" // "trigger on schema.table"
	ObjectSetting    ObjectKind = "setting" // a server setting's name
	// ObjectDefaultPrivileges names the default privileges (ALTER DEFAULT
	// PRIVILEGES) of a role, as "role" or "role in schema s".
	ObjectDefaultPrivileges ObjectKind = "default-privileges"
)

// Code identifies what a [Finding] found. Codes are stable: tools may
// match on them.
type Code string

// The findings of [Check]. Each is explained, with its fix, in the
// package documentation.
const (
	// The model and the catalog.
	CodeRelationMissing      Code = "model-relation-missing" // the model names a relation the database lacks
	CodeTenantColumnMissing  Code = "tenant-column-missing"  // a tenant relation (or its partition or child) lacks its tenant column
	CodeSubjectColumnMissing Code = "subject-column-missing" // a tenant relation lacks its subject column
	CodeTenantRelationKind   Code = "tenant-relation-kind"   // a tenant relation is a view, sequence or other relation that cannot hold row-level security
	CodeUnknownRelation      Code = "unknown-relation"       // the app role can reach a relation the model does not name
	CodePrivateReachable     Code = "private-reachable"      // the app role holds a privilege on a relation the model makes private
	CodeRegistryTenantColumn Code = "registry-tenant-column" // (warning) a registry has a column named like a tenant column

	// Tenant data that export, import and erase would miss.
	CodeTenantReferenceOutsideModel     Code = "tenant-reference-outside-model"      // a relation outside the model's tenant relations has a foreign key to a tenant relation
	CodeTenantListReferenceOutsideModel Code = "tenant-list-reference-outside-model" // a relation outside the model's tenant relations has a foreign key to the registry that lists the tenants

	// Tenant tables.
	CodeRLSDisabled    Code = "rls-disabled"     // row-level security is not enabled
	CodeRLSNotForced   Code = "rls-not-forced"   // enabled but not forced, so the table owner bypasses it
	CodeNoPolicy       Code = "no-policy"        // no policy applies to the app role
	CodeNoTenantPolicy Code = "no-tenant-policy" // no RESTRICTIVE FOR ALL policy compares the tenant column with current_tenant_id()

	// Policies.
	CodePolicyNoWithCheck Code = "policy-no-with-check"  // a FOR ALL, INSERT or UPDATE policy without WITH CHECK
	CodePolicyAlwaysTrue  Code = "policy-always-true"    // USING or WITH CHECK is true for every row: true, 1 = 1, true OR ...
	CodePolicyNullEscape  Code = "policy-null-escape"    // an "IS NULL OR" escape that opens the table when a value is missing
	CodePolicyUnwrapped   Code = "policy-unwrapped-call" // current_setting or a helper called per row, not in a sub-select
	CodePolicyUnboundRole Code = "policy-unbound-role"   // a PERMISSIVE policy for a role (or PUBLIC) that no RESTRICTIVE tenant policy binds

	// Helper functions.
	CodeHelperMissing    Code = "helper-missing"    // the helper schema has no current_tenant_id()
	CodeHelperVolatility Code = "helper-volatility" // a helper is IMMUTABLE (error) or VOLATILE (warning)
	CodeHelperKeyType    Code = "helper-key-type"   // current_tenant_id(), current_subject_id() or current_actor_id() returns another type than the model's key
	CodeKeyColumn        Code = "key-column"        // a tenant or subject column whose type or collation does not compare keys byte for byte
	CodeKindPolicy       Code = "kind-policy"       // a subject or read-only policy missing, or listing other kinds than the model declares

	// Roles.
	CodeAppRoleMissing     Code = "app-role-missing"         // the app role does not exist
	CodeAppRoleSuperuser   Code = "app-role-superuser"       // the app role is, or can become, a superuser
	CodeAppRoleBypassRLS   Code = "app-role-bypassrls"       // the app role has, or can become a role with, BYPASSRLS
	CodeAppRoleOwner       Code = "app-role-owner"           // the app role owns (or can act as the owner of) a tenant table
	CodeAppRoleCreateRole  Code = "app-role-createrole"      // the app role has, or can become a role with, CREATEROLE
	CodeAppRoleReplication Code = "app-role-replication"     // the app role has, or can become a role with, REPLICATION
	CodeAppRolePredefined  Code = "app-role-predefined-role" // the app role is a member of a predefined role that reaches outside the database or across tenants
	CodeAppRolePrivilege   Code = "app-role-privilege"       // the app role has TRUNCATE, REFERENCES or TRIGGER on a tenant table
	CodeBypassRoleAccess   Code = "bypass-role-access"       // another superuser or BYPASSRLS role holds privileges on a tenant table
	CodePublicAccess       Code = "public-access"            // PUBLIC holds privileges on a tenant table
	CodeAppRoleOwnsObject  Code = "app-role-owns-object"     // the app role owns a schema, function, view or other relation, or can act as the owner of the helper schema or of a function a policy calls
	CodeAppRoleCreate      Code = "app-role-create"          // the app role may create objects in a schema or schemas in the database
	CodeDefaultPrivileges  Code = "default-privileges"       // default privileges give new tables to PUBLIC, or TRUNCATE, REFERENCES or TRIGGER to the app role

	// Keys and indexes.
	CodeUniqueWithoutTenant     Code = "unique-without-tenant"      // a unique index or constraint without the tenant column
	CodeExclusionWithoutTenant  Code = "exclusion-without-tenant"   // an exclusion constraint that does not compare the tenant column with =
	CodeForeignKeyWithoutTenant Code = "foreign-key-without-tenant" // a foreign key between tenant tables not matching tenant to tenant
	CodeNoTenantIndex           Code = "no-tenant-index"            // no index leads with the tenant column
	CodeSequenceDefault         Code = "sequence-default"           // a sequence or identity default, a shared counter

	// Objects around the tables.
	CodeSecurityDefiner        Code = "security-definer"          // a SECURITY DEFINER function not on the allow-list
	CodeDefinerSearchPath      Code = "definer-search-path"       // a SECURITY DEFINER function without a fixed search_path
	CodePolicyDefiner          Code = "policy-definer"            // a policy on a tenant table calls a SECURITY DEFINER function
	CodeViewNotSecurityInvoker Code = "view-not-security-invoker" // a view over a tenant table without security_invoker
	CodeMaterializedView       Code = "materialized-view"         // a materialized view over a tenant table
	CodeForeignTable           Code = "foreign-table"             // a tenant relation that is a foreign table
	CodeRewriteRule            Code = "rewrite-rule"              // a rewrite rule whose actions name other relations, with its table owner's rights
	CodeTriggerDefiner         Code = "trigger-definer"           // a trigger whose function is SECURITY DEFINER
	CodeTriggerUntrusted       Code = "trigger-untrusted"         // a trigger whose function is in an untrusted language

	// Grants and large objects.
	CodePublicGrant       Code = "public-grant"          // PUBLIC holds privileges on a relation that is not a tenant table
	CodePublicDefiner     Code = "public-definer"        // PUBLIC may run a SECURITY DEFINER function
	CodeFunctionGrant     Code = "function-grant"        // the app role may run a built-in or extension function beyond PostgreSQL's default grants
	CodeLargeObject       Code = "large-object-readable" // the app role can read or write large objects
	CodeLargeObjectCompat Code = "lo-compat-privileges"  // lo_compat_privileges is on: every role reads every large object

	// Citus: reported only when the model declares Citus (Config.Citus),
	// errors where Citus would refuse to distribute the tables. Keys and
	// foreign keys that plain PostgreSQL already needs with the tenant
	// column keep their own codes above (unique-without-tenant,
	// exclusion-without-tenant, foreign-key-without-tenant,
	// tenant-reference-outside-model), whose messages then give Citus's
	// reason too.
	CodeCitusUniqueWithoutTenant  Code = "citus-unique-without-tenant"  // a unique key without the tenant column that Table.AllowUnique exempts from unique-without-tenant, which Citus refuses all the same
	CodeCitusForeignKeyToLocal    Code = "citus-foreign-key-to-local"   // a foreign key from a tenant table to a private or unknown relation, which stays local
	CodeCitusInheritance          Code = "citus-inheritance"            // a tenant table in a bare inheritance tree (INHERITS, not PARTITION OF), which Citus cannot distribute
	CodeCitusTenantColumnNullable Code = "citus-tenant-column-nullable" // (warning) a tenant column that allows NULL, which Citus cannot route

	// The audit log's owner.
	CodeAuditOwner Code = "audit-owner" // an audit object is owned by another role than Config.AuditRole, or the app, owner or platform role can act as its owner
)

// Finding is one problem that [Check] found. It is a plain value, safe to
// copy and compare; its JSON form uses the lower-case field names.
type Finding struct {
	// Code says what was found.
	Code Code `json:"code"`
	// Severity is [SeverityError] for a possible cross-tenant leak.
	Severity Severity `json:"severity"`
	// ObjectKind and Object name the object the finding is about, quoted
	// as PostgreSQL's quote_ident does: "schema.table" for tables, views
	// and indexes, "schema.table.column" for columns, "name on
	// schema.table" for policies and constraints, "schema.function(args)"
	// for functions, and the bare name for roles, schemas and databases.
	ObjectKind ObjectKind `json:"object_kind"`
	Object     string     `json:"object"`
	// Message says what is wrong, in one sentence.
	Message string `json:"message"`
	// Fix says how to repair it, often as SQL.
	Fix string `json:"fix"`
}

// String formats f on one line as "severity code kind object: message".
func (f Finding) String() string {
	return fmt.Sprintf("%s %s %s %s: %s", f.Severity, f.Code, f.ObjectKind, f.Object, f.Message)
}

// HasErrors reports whether any of findings has [SeverityError].
func HasErrors(findings []Finding) bool {
	return slices.ContainsFunc(findings, func(f Finding) bool { return f.Severity == SeverityError })
}

// sortFindings orders errors first, then by object and code.
func sortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		if a.Severity != b.Severity {
			return int(b.Severity) - int(a.Severity)
		}
		if c := strings.Compare(a.Object, b.Object); c != 0 {
			return c
		}
		if c := strings.Compare(string(a.ObjectKind), string(b.ObjectKind)); c != 0 {
			return c
		}
		if c := strings.Compare(string(a.Code), string(b.Code)); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
}
