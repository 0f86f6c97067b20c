package rls

import (
	"fmt"
	"strings"

	"github.com/mydentalpractice/tenancy"
)

// SQLStateNoTenant is the SQLSTATE of the error that the generated
// current_tenant_id() raises when the transaction carries no tenant (the
// setting tenancy.tenant_id is missing or empty). Class "TN" is in the range
// that the SQL standard leaves to implementations and that PostgreSQL does
// not use, so the code cannot collide with a server error. Match it with
// errors.As on a *pgconn.PgError and its Code field.
const SQLStateNoTenant = "TN001"

// Settings read by the generated helper functions. The tenant context is set
// per transaction, never per session, with set_config(name, value, true),
// in one statement:
//
//	select set_config('tenancy.tenant_id', $1, true), set_config('tenancy.principal', $2, true)
//
// A value that is missing or empty means "none". The principal is packed
// into one setting (see [EncodePrincipal]) because each transaction-local
// setting costs the server a GUC stack entry to push and pop: seven
// separate settings made a point read about 40 µs slower, two cost nothing
// measurable (docs/benchmarks.md).
const (
	SettingTenantID  = "tenancy.tenant_id" // the tenant's key, as text
	SettingPrincipal = "tenancy.principal" // the rest of the principal, from EncodePrincipal
)

// The fields of [SettingPrincipal], in order, separated by '|'. The request
// id comes last and may itself contain '|'.
const (
	fieldKind = 1 + iota
	fieldSubject
	fieldActor
	fieldGrant
	fieldRoles
	fieldRequestID
)

// EncodePrincipal returns the value of [SettingPrincipal] for p: its kind,
// subject, actor ([tenancy.Principal.Actor]), impersonation grant, roles and
// request id, in the form the generated helpers read:
//
//	kind|subject|actor|grant|role,role|request id
//
// The tenant is not part of it; it goes in [SettingTenantID]. For tenant-less
// system work, pass a principal of kind [tenancy.KindSystem] whose subject is
// whoever asked for the work, if anyone. EncodePrincipal fails, wrapping
// [tenancy.ErrInvalidPrincipal], for a role name that is empty or contains
// one of , | { } " or \, which could not be carried unambiguously.
func EncodePrincipal(p tenancy.Principal) (string, error) {
	n := len(p.Kind.String()) + 3*36 + len(p.RequestID) + 5
	for _, r := range p.Roles {
		if r == "" || strings.ContainsAny(r, ",|{}\"\\") {
			return "", fmt.Errorf("%w: role names may not be empty or contain , | { } \" or \\", tenancy.ErrInvalidPrincipal)
		}
		n += len(r) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, p.Kind.String()...)
	b = appendID(append(b, '|'), p.Subject)
	b = appendID(append(b, '|'), p.Actor())
	b = append(b, '|')
	if p.Impersonation != nil {
		b = appendID(b, p.Impersonation.GrantID)
	}
	b = append(b, '|')
	for i, r := range p.Roles {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	b = append(b, '|')
	b = append(b, p.RequestID...)
	return string(b), nil
}

// appendID appends id's text, or nothing for the zero ID.
func appendID(b []byte, id tenancy.ID) []byte {
	if id.IsZero() {
		return b
	}
	b, _ = id.AppendText(b) // cannot fail for a non-zero ID
	return b
}

// helper is one generated function in the helper schema.
type helper struct {
	name    string // function name, without schema
	returns string // the result type, unless key is set
	// key, when set, gives the key type the function returns.
	key      func(Config) tenancy.KeyType
	language string
	// body returns the function's body for the configuration, quoted.
	body func(cfg Config) string
	// searchPath fixes the function's search_path. Only for functions that
	// are never inlined anyway: a SET clause keeps PostgreSQL from inlining
	// a SQL function and makes every call save and restore the setting.
	searchPath bool
}

// helpers are the STABLE, SECURITY INVOKER functions that policies call.
// current_tenant_id and principal_kind raise TN001 when their setting is
// missing or empty; the others return NULL, which policies treat as "no
// access".
//
// They are single-expression SQL functions with no SET clause, so the
// planner inlines them into the policies' sub-selects: a helper costs a
// setting lookup per statement, not a function call. Their bodies name
// every function, operator and type with its schema, so they mean the same
// on any caller's search_path.
var helpers = []helper{
	{name: "no_tenant", returns: "text", language: "plpgsql", searchPath: true, body: func(Config) string {
		return fmt.Sprintf(`
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = %[1]s,
        MESSAGE = 'tenancy: no tenant in this transaction (setting %[2]s is missing or empty)',
        HINT = 'Run tenant work in a transaction that sets it with set_config(name, value, true).';
END
`, quoteLiteral(SQLStateNoTenant), SettingTenantID)
	}},
	{name: "no_principal", returns: "text", language: "plpgsql", searchPath: true, body: func(Config) string {
		return fmt.Sprintf(`
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = %[1]s,
        MESSAGE = 'tenancy: no principal in this transaction (setting %[2]s is missing or empty)',
        HINT = 'Run tenant work in a transaction that sets it with set_config(name, value, true).';
END
`, quoteLiteral(SQLStateNoTenant), SettingPrincipal)
	}},
	{name: "current_tenant_id", key: tenantKey, language: "sql", body: func(cfg Config) string {
		v := setting(SettingTenantID)
		return fmt.Sprintf("\nSELECT CAST(COALESCE(CASE WHEN %[1]s OPERATOR(pg_catalog.<>) '' THEN %[1]s END, %[2]s.no_tenant()) AS %[3]s)\n",
			v, quoteIdent(cfg.Schema), sqlType(cfg.TenantKey))
	}},
	// principal_kind raises like current_tenant_id when the principal is
	// missing: a policy that reads only the kind (such as "staff read the
	// audit log") then fails closed with TN001 as the tenant check does,
	// whichever of the two the planner evaluates first.
	{name: "principal_kind", returns: "text", language: "sql", body: func(cfg Config) string {
		return fmt.Sprintf("\nSELECT COALESCE(%s, %s.no_principal())\n", nullIfEmpty(splitPart(fieldKind)), quoteIdent(cfg.Schema))
	}},
	// current_subject_id and current_roles raise like principal_kind when
	// the principal is missing, and return NULL (no access) for a
	// principal without a subject or roles: a policy that reads only them
	// (the read-roles policy, RESTRICTIVE, ANDed with the tenant policy)
	// then fails closed with TN001 whichever policy the planner evaluates
	// first, never with zero rows.
	{name: "current_subject_id", key: subjectKey, language: "sql", body: func(cfg Config) string {
		return "\nSELECT " + requirePrincipal(cfg, fieldExpr(fieldSubject, cfg.SubjectKey), sqlType(cfg.SubjectKey)) + "\n"
	}},
	{name: "current_actor_id", key: subjectKey, language: "sql", body: field(fieldActor, subjectKey)},
	{name: "current_grant_id", returns: "uuid", language: "sql", body: field(fieldGrant, func(Config) tenancy.KeyType { return tenancy.KeyUUID })},
	{name: "current_roles", returns: "text[]", language: "sql", body: func(cfg Config) string {
		return "\nSELECT " + requirePrincipal(cfg, "pg_catalog.string_to_array("+nullIfEmpty(splitPart(fieldRoles))+", ',')", "text[]") + "\n"
	}},
	{name: "current_request_id", returns: "text", language: "sql", body: func(Config) string {
		// Everything after the fifth '|': the request id may contain '|'.
		return "\nSELECT " + nullIfEmpty(requestIDRest()) + "\n"
	}},
}

// requirePrincipal is expr (of SQL type typ) when the transaction carries
// a principal, and raises TN001 (no_principal()) when it does not.
func requirePrincipal(cfg Config, expr, typ string) string {
	return fmt.Sprintf("CASE WHEN COALESCE(%[1]s, '') OPERATOR(pg_catalog.=) '' THEN CAST(%[2]s.no_principal() AS %[3]s) ELSE %[4]s END",
		setting(SettingPrincipal), quoteIdent(cfg.Schema), typ, expr)
}

// setting reads a setting, NULL when it is missing.
func setting(name string) string {
	return "pg_catalog.current_setting(" + quoteLiteral(name) + ", true)"
}

// splitPart is field n of the principal setting.
func splitPart(n int) string {
	return fmt.Sprintf("pg_catalog.split_part(%s, '|', %d)", setting(SettingPrincipal), n)
}

// nullIfEmpty is NULLIF(expr, ”) with a schema-qualified operator.
func nullIfEmpty(expr string) string {
	return fmt.Sprintf("CASE WHEN %[1]s OPERATOR(pg_catalog.<>) '' THEN %[1]s END", expr)
}

// field returns the body of a helper that reads field n of the principal
// setting, cast to the key type that key gives.
func field(n int, key func(Config) tenancy.KeyType) func(Config) string {
	return func(cfg Config) string {
		return "\nSELECT " + fieldExpr(n, key(cfg)) + "\n"
	}
}

func tenantKey(cfg Config) tenancy.KeyType  { return cfg.TenantKey }
func subjectKey(cfg Config) tenancy.KeyType { return cfg.SubjectKey }

// result returns the helper's result type for cfg.
func (h helper) result(cfg Config) string {
	if h.key != nil {
		return keyTypeName(h.key(cfg))
	}
	return h.returns
}

// KeySQLType returns the PostgreSQL type that holds keys of type t, as
// pg_catalog.format_type names it: "uuid", "bigint" or "text". The
// generated helpers return it, and tables of other packages (the audit
// log's) declare their key columns with it.
func KeySQLType(t tenancy.KeyType) string {
	if t == tenancy.KeyBigint {
		return "bigint"
	}
	return keyTypeName(t)
}

// sqlType is the schema-qualified PostgreSQL type of keys of type t.
func sqlType(t tenancy.KeyType) string { return "pg_catalog." + keyTypeName(t) }

// keyTypeName is PostgreSQL's name of the type of keys of type t, as
// pg_catalog.format_type gives it for uuid and text (bigint's is "bigint",
// its internal name "int8").
func keyTypeName(t tenancy.KeyType) string {
	switch t {
	case tenancy.KeyBigint:
		return "int8"
	case tenancy.KeyText:
		return "text"
	}
	return "uuid"
}

// ContextSQL holds SQL expressions that read the transaction's context
// ([SettingTenantID], [SettingPrincipal]) exactly as the generated helper
// functions do, each NULL when its value is missing or empty, and that
// call only pg_catalog's functions and operators. They are for objects
// that must not depend on the helper functions, which the owner role owns
// and could replace: package audit's trigger, owned by [Config.AuditRole],
// compares each new event with them. Build one with [Config.ContextSQL].
type ContextSQL struct {
	// Tenant is the tenant's key, of type [Config.TenantKey]
	// (current_tenant_id(), which raises instead of returning NULL).
	Tenant string
	// Kind is the principal's kind, text (principal_kind(), which raises
	// instead of returning NULL).
	Kind string
	// Actor is the actor's key, of type [Config.SubjectKey]
	// (current_actor_id()).
	Actor string
	// Grant is the impersonation grant's id, uuid (current_grant_id()).
	Grant string
	// RequestID is the request id, text (current_request_id()).
	RequestID string
}

// ContextSQL returns the [ContextSQL] of c, after defaults, or an error
// wrapping [ErrInvalidConfig] when c is malformed. It is safe for
// concurrent use.
func (c Config) ContextSQL() (ContextSQL, error) {
	cfg, err := c.withDefaults()
	if err != nil {
		return ContextSQL{}, err
	}
	return ContextSQL{
		Tenant:    "CAST(" + nullIfEmpty(setting(SettingTenantID)) + " AS " + sqlType(cfg.TenantKey) + ")",
		Kind:      nullIfEmpty(splitPart(fieldKind)),
		Actor:     fieldExpr(fieldActor, cfg.SubjectKey),
		Grant:     fieldExpr(fieldGrant, tenancy.KeyUUID),
		RequestID: nullIfEmpty(requestIDRest()),
	}, nil
}

// fieldExpr reads field n of the principal setting as a key of type t.
func fieldExpr(n int, t tenancy.KeyType) string {
	return "CAST(" + nullIfEmpty(splitPart(n)) + " AS " + sqlType(t) + ")"
}

// requestIDRest is everything after the fifth '|' of the principal
// setting: the request id, which may contain '|'.
func requestIDRest() string {
	return fmt.Sprintf("pg_catalog.substring(%s, '^(?:[^|]*[|]){%d}(.*)$')", setting(SettingPrincipal), fieldRequestID-1)
}
