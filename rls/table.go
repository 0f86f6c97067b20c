package rls

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mydentalpractice/tenancy"
)

// TableKind says how a table relates to tenants. The zero TableKind is
// [TenantOwned], so a table whose kind is forgotten is isolated, not shared.
type TableKind uint8

const (
	// TenantOwned tables hold one tenant's rows each, marked by the tenant
	// column. The app role reads and writes only the current tenant's rows.
	TenantOwned TableKind = iota
	// Registry tables are global (the tenant registry, reference data):
	// the app role may read them and not write them; the platform role may
	// write them. They have no tenant column and no policies.
	Registry
	// Private tables are out of the app role's reach: [Generate] revokes
	// every privilege on them from the app and platform roles and PUBLIC,
	// and [Check] reports any privilege the app role still holds. Code
	// that must read them before a tenant exists (sign-in) calls a
	// pre-auth function ([Config.PreAuth]).
	Private
)

var tableKindNames = [...]string{TenantOwned: "tenant", Registry: "registry", Private: "private"}

// String returns "tenant", "registry", "private", or "TableKind(n)" for an
// invalid kind.
func (k TableKind) String() string {
	if int(k) < len(tableKindNames) {
		return tableKindNames[k]
	}
	return fmt.Sprintf("TableKind(%d)", uint8(k))
}

// MarshalText implements [encoding.TextMarshaler]; invalid kinds fail.
func (k TableKind) MarshalText() ([]byte, error) {
	if int(k) >= len(tableKindNames) {
		return nil, fmt.Errorf("%w: kind %d", ErrInvalidTable, uint8(k))
	}
	return []byte(tableKindNames[k]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]: "tenant",
// "registry" or "private". Other text fails with an error wrapping
// [ErrInvalidTable].
func (k *TableKind) UnmarshalText(b []byte) error {
	i := slices.Index(tableKindNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("%w: kind %q is not \"tenant\", \"registry\" or \"private\"", ErrInvalidTable, b)
	}
	*k = TableKind(i)
	return nil
}

// The privileges a [Table] may grant the app role. TRUNCATE, REFERENCES and
// TRIGGER are never granted: TRUNCATE ignores row-level security, and the
// others let the app role attach objects that see every tenant's rows.
var dmlPrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE"}

// Table describes one table for [Generate]. Tables must exist when the
// generated migration runs; Generate adds isolation to them and never
// creates or alters columns. A Table is a value and safe to share.
type Table struct {
	// Name is the schema-qualified table name, "schema.table", unquoted
	// (the generated SQL quotes it); neither part may contain a dot.
	// Required.
	Name string `json:"name"`

	// Kind is [TenantOwned] (the default), [Registry] or [Private]. In
	// PostgreSQL's own schemas (pg_catalog, information_schema) only a
	// registry may be listed: a catalog relation that the app's SQL reads,
	// such as pg_catalog.pg_timezone_names, which the guard otherwise
	// refuses and [Generate] leaves as PostgreSQL grants it.
	Kind TableKind `json:"kind,omitzero"`

	// TenantColumn overrides [Config.TenantColumn] for this table (for
	// example "id" for a table of tenants that is itself tenant-owned).
	TenantColumn string `json:"tenant_column,omitempty"`

	// SubjectColumn, when set, limits principals of the
	// [tenancy.AccessSubject] kinds to the rows whose SubjectColumn equals
	// the context's subject (current_subject_id()); its type is
	// [Config.SubjectKey]. The other declared kinds (and
	// [tenancy.KindSystem]) see all of the tenant's rows; a kind that is
	// not declared sees only its subject's rows too.
	SubjectColumn string `json:"subject_column,omitempty"`

	// ReadRoles, when set, lets only principals holding at least one of
	// these application roles (such as "owner") read the table; writes
	// are not limited by it. Used for the audit log. The roles come from
	// the principal's setting ([SettingPrincipal], current_roles()); an
	// INSERT ... RETURNING needs a read role too, since RETURNING reads.
	ReadRoles []string `json:"read_roles,omitempty"`

	// ReadOnly lists principal kinds, declared in [Config.Kinds], that may
	// read but not insert, update or delete rows (a portal's customers, an
	// auditor). Their INSERT fails with a policy violation (SQLSTATE
	// 42501); their UPDATE and DELETE find no rows to change. The write
	// policies list the kinds that may write, so an undeclared kind
	// cannot write either.
	ReadOnly []tenancy.Kind `json:"read_only,omitempty"`

	// Privileges are the privileges granted to the app role on a tenant
	// table, among SELECT, INSERT, UPDATE and DELETE (in any case).
	// Default all four; an append-only table lists SELECT and INSERT. On a
	// registry the app role gets SELECT only and Privileges must be empty.
	Privileges []string `json:"privileges,omitempty"`

	// UpdateColumns, when set, grants the app role UPDATE on these columns
	// of a tenant table only, not on the table: for a table whose rows
	// the application only inserts, but whose insert statement another
	// library writes with ON CONFLICT DO UPDATE SET col = ... (River's
	// river_job), which PostgreSQL checks for UPDATE on the columns set
	// even when no row conflicts. Privileges must then not list UPDATE.
	// The tenant policy binds these updates as any other.
	UpdateColumns []string `json:"update_columns,omitempty"`

	// AllowUnique names the unique indexes and unique or primary key
	// constraints of a tenant table (unquoted, as in the catalog) that
	// [Check] accepts without the tenant column ([CodeUniqueWithoutTenant]):
	// keys that another library defines and that tell no tenant what
	// another stored, such as River's job id, which the SDK draws at
	// random. Every name listed vouches for that; review the list when the
	// library changes its schema.
	AllowUnique []string `json:"allow_unique,omitempty"`

	// Audit marks a table of the audit log (package audit's [Tables]): it
	// belongs to [Config.AuditRole], not to the owner role. [Generate]
	// makes the audit role its owner, and [Check] reports its schema, and
	// the relations and functions in that schema, when another role owns
	// them or the app, owner or platform role can act as their owner
	// ([CodeAuditOwner]).
	//
	// [Tables]: https://pkg.go.dev/github.com/mydentalpractice/tenancy/audit#Tables
	Audit bool `json:"audit,omitempty"`

	// ListsTenants, on a [Registry], names the column that holds each
	// tenant's key: the table lists the model's tenants, one row each
	// (the registry of organizations, clinics, accounts). tenantdb's
	// Pool.Tenants and Pool.EveryTenant enumerate them from it, through
	// the platform role. At most one table of a model sets it.
	ListsTenants string `json:"lists_tenants,omitempty"`
}

// table is a validated Table with defaults applied.
type table struct {
	Table
	schema, name string
	tenantColumn string
	privileges   []string // canonical order, upper case
}

func (t table) qualified() string { return quoteIdent(t.schema) + "." + quoteIdent(t.name) }

// resolve validates t against cfg (already defaulted) and applies defaults.
func (t Table) resolve(cfg Config) (table, error) {
	bad := func(format string, args ...any) (table, error) {
		return table{}, fmt.Errorf("%w: %s: %s", ErrInvalidTable, t.Name, fmt.Sprintf(format, args...))
	}
	schema, name, ok := strings.Cut(t.Name, ".")
	if !ok || strings.Contains(name, ".") {
		return bad("name must be \"schema.table\"")
	}
	if err := checkIdent(schema); err != nil {
		return bad("schema: %v", err)
	}
	if err := checkIdent(name); err != nil {
		return bad("table: %v", err)
	}
	r := table{Table: t, schema: schema, name: name}
	if systemSchema(schema) && t.Kind != Registry {
		return bad("only a registry may be in PostgreSQL's own schema %s", schema)
	}
	switch t.Kind {
	case TenantOwned:
		if t.ListsTenants != "" {
			return bad("only a registry lists the tenants")
		}
	case Registry, Private:
		if t.ListsTenants != "" {
			if t.Kind != Registry || systemSchema(schema) {
				return bad("only a registry outside PostgreSQL's own schemas lists the tenants")
			}
			if err := checkIdent(t.ListsTenants); err != nil {
				return bad("ListsTenants: %v", err)
			}
		}
		if t.TenantColumn != "" || t.SubjectColumn != "" || len(t.ReadRoles) > 0 || len(t.ReadOnly) > 0 || len(t.Privileges) > 0 ||
			len(t.UpdateColumns) > 0 || len(t.AllowUnique) > 0 {
			return bad("a %s table takes no tenant column, subject column, read roles, read-only kinds, privileges, update columns or allowed unique keys", t.Kind)
		}
		if t.Kind == Registry {
			r.privileges = []string{"SELECT"}
		}
		return r, nil
	default:
		return bad("unknown kind %d", uint8(t.Kind))
	}
	r.tenantColumn = cmp.Or(t.TenantColumn, cfg.TenantColumn)
	if err := checkIdent(r.tenantColumn); err != nil {
		return bad("tenant column: %v", err)
	}
	if t.SubjectColumn != "" {
		if err := checkIdent(t.SubjectColumn); err != nil {
			return bad("subject column: %v", err)
		}
		if t.SubjectColumn == r.tenantColumn {
			return bad("the subject column cannot be the tenant column")
		}
	}
	for _, role := range t.ReadRoles {
		// Roles travel in tenancy.principal as a comma-separated list.
		if role == "" || strings.ContainsAny(role, ",|{}\"\\\x00") || !utf8.ValidString(role) {
			return bad("read role %q must be non-empty text without , | { } \" or \\", role)
		}
	}
	for _, k := range t.ReadOnly {
		if !slices.ContainsFunc(cfg.Kinds, func(d tenancy.KindSpec) bool { return d.Name == k }) {
			return bad("read-only kind %q is not declared in Config.Kinds", k)
		}
	}
	if len(t.Privileges) == 0 {
		r.privileges = dmlPrivileges
	} else {
		for _, p := range t.Privileges {
			if !slices.Contains(dmlPrivileges, strings.ToUpper(p)) {
				return bad("privilege %q is not one of %s", p, strings.Join(dmlPrivileges, ", "))
			}
		}
		for _, p := range dmlPrivileges {
			if slices.ContainsFunc(t.Privileges, func(q string) bool { return strings.EqualFold(p, q) }) {
				r.privileges = append(r.privileges, p)
			}
		}
	}
	for _, col := range t.UpdateColumns {
		if err := checkIdent(col); err != nil {
			return bad("update column: %v", err)
		}
		if col == r.tenantColumn {
			return bad("the tenant column cannot be an update column")
		}
	}
	if len(t.UpdateColumns) > 0 && slices.Contains(r.privileges, "UPDATE") {
		return bad("UpdateColumns limits UPDATE to columns: Privileges may not also grant UPDATE on the table")
	}
	for _, name := range t.AllowUnique {
		if err := checkIdent(name); err != nil {
			return bad("allowed unique key: %v", err)
		}
	}
	return r, nil
}

// systemSchema reports whether schema is one of PostgreSQL's own:
// pg_catalog, information_schema, and the pg_toast and pg_temp schemas. A
// model may list a relation there only as a registry (one the app's SQL
// reads, such as pg_catalog.pg_timezone_names), which [Generate] leaves as
// PostgreSQL made it.
func systemSchema(schema string) bool {
	return schema == "pg_catalog" || schema == "information_schema" ||
		strings.HasPrefix(schema, "pg_toast") || strings.HasPrefix(schema, "pg_temp")
}
