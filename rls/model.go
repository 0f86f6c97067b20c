package rls

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/mydentalpractice/tenancy"
)

// Class says how the app role may reach a relation, in a [Model]. The zero
// Class is [ClassUnknown]: a relation the model does not name is never treated
// as safe.
type Class uint8

const (
	// ClassUnknown is every relation the model does not name. The guard refuses
	// statements on it and [Check] reports it when the app role can reach
	// it.
	ClassUnknown Class = iota
	// ClassTenant relations hold one tenant's rows each, marked by their tenant
	// column ([Relation.TenantColumn]).
	ClassTenant
	// ClassRegistry relations hold shared rows: the app role reads them, and
	// they are not scoped by tenant.
	ClassRegistry
	// ClassPrivate relations are out of the app role's reach: it holds no
	// privilege on them (the sign-in secrets that a pre-auth function
	// reads, for example).
	ClassPrivate
)

var classNames = [...]string{ClassUnknown: "unknown", ClassTenant: "tenant", ClassRegistry: "registry", ClassPrivate: "private"}

// String returns "unknown", "tenant", "registry", "private", or
// "Class(n)".
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// Relation is one relation as a [Model] classifies it. It is a value and
// safe to share.
type Relation struct {
	// Schema and Name are the relation's unquoted names, as the catalog
	// stores them.
	Schema, Name string
	// Class is the relation's class; [ClassUnknown] when the model does not
	// name it.
	Class Class
	// TenantColumn is the tenant column of a [ClassTenant] relation, with the
	// model's default applied; empty otherwise.
	TenantColumn string
	// SubjectColumn is [Table.SubjectColumn] of a [ClassTenant] relation.
	SubjectColumn string
	// Table is the spec the relation came from (zero for [ClassUnknown]).
	Table Table
}

// Qualified returns "schema.name", unquoted.
func (r Relation) Qualified() string { return r.Schema + "." + r.Name }

// Model is the isolation model of one database: the [Config] (roles,
// helper schema, allow-lists) and every relation the app role may reach,
// each classified as [ClassTenant] (with its own tenant column), [ClassRegistry] or
// [ClassPrivate]; every other relation is [ClassUnknown]. It is the one source of
// truth that the generator ([Generate]), the checker ([Check]), the guard
// (package sqlguard), tenantdb's start-up check and the test harness
// (package tenancytest) read, so none of them finds tenant tables on its
// own by a column name.
//
// Build it with [NewModel] (Go specs) or [Spec.Model] (the JSON that the
// CLI reads with --spec). A Model is immutable and safe for concurrent use.
type Model struct {
	cfg       Config
	tables    []table             // in the order given, which Generate keeps
	qualified map[string]int      // "schema\x00name" -> index in tables
	named     map[string][]int    // name -> indexes, for unqualified references
	functions map[string]struct{} // Config.Functions, "schema.function"
	preAuth   map[string]struct{} // Config.PreAuth, "schema.function"
}

// NewModel validates cfg and tables, applies the defaults of [Config], and
// returns their model. A table may be listed once. It returns an error
// wrapping [ErrInvalidConfig] or [ErrInvalidTable] when the arguments are
// malformed. It is safe for concurrent use.
func NewModel(cfg Config, tables ...Table) (*Model, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Model{
		cfg:       cfg,
		qualified: make(map[string]int, len(tables)),
		named:     make(map[string][]int, len(tables)),
		functions: make(map[string]struct{}, len(cfg.Functions)),
		preAuth:   make(map[string]struct{}, len(cfg.PreAuth)),
	}
	for _, t := range tables {
		r, err := t.resolve(cfg)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(m.tables, func(o table) bool { return o.schema == r.schema && o.name == r.name }) {
			return nil, fmt.Errorf("%w: %s is listed twice", ErrInvalidTable, t.Name)
		}
		m.tables = append(m.tables, r)
	}
	if n := len(slices.DeleteFunc(slices.Clone(m.tables), func(t table) bool { return t.ListsTenants == "" })); n > 1 {
		return nil, fmt.Errorf("%w: %d tables list the tenants (ListsTenants), want at most one", ErrInvalidTable, n)
	}
	for i, t := range m.tables {
		m.qualified[t.schema+"\x00"+t.name] = i
		m.named[t.name] = append(m.named[t.name], i)
	}
	for _, f := range cfg.Functions {
		m.functions[f] = struct{}{}
	}
	for _, f := range cfg.PreAuth {
		m.preAuth[f] = struct{}{}
	}
	return m, nil
}

// Model returns the model of s: [NewModel](s.Config, s.Tables...).
func (s Spec) Model() (*Model, error) { return NewModel(s.Config, s.Tables...) }

// Config returns the model's Config, with the defaults applied.
func (m *Model) Config() Config {
	c := m.cfg
	c.AllowDefiner = slices.Clone(c.AllowDefiner)
	c.AllowCrossTenant = slices.Clone(c.AllowCrossTenant)
	c.Functions = slices.Clone(c.Functions)
	c.PreAuth = slices.Clone(c.PreAuth)
	c.Kinds = slices.Clone(c.Kinds)
	return c
}

// Tables returns the model's table specs, in the order given.
func (m *Model) Tables() []Table {
	out := make([]Table, len(m.tables))
	for i, t := range m.tables {
		out[i] = t.Table
	}
	return out
}

// TenantList returns the quoted, schema-qualified name of the registry
// that lists the tenants ([Table.ListsTenants]) and the quoted name of its
// key column, ready to stand in SQL; ok is false when no table lists them.
func (m *Model) TenantList() (table, column string, ok bool) {
	for _, t := range m.tables {
		if t.ListsTenants != "" {
			return t.qualified(), quoteIdent(t.ListsTenants), true
		}
	}
	return "", "", false
}

// Spec returns the model as a [Spec], the JSON form that [ParseSpec] reads.
func (m *Model) Spec() Spec { return Spec{Config: m.Config(), Tables: m.Tables()} }

// Relations returns every relation the model names, sorted by schema and
// name.
func (m *Model) Relations() []Relation {
	out := make([]Relation, len(m.tables))
	for i, t := range m.tables {
		out[i] = t.relation()
	}
	sortRelations(out)
	return out
}

// TenantRelations returns the model's [ClassTenant] relations, sorted by
// schema and name.
func (m *Model) TenantRelations() []Relation {
	var out []Relation
	for _, t := range m.tables {
		if t.Kind == TenantOwned {
			out = append(out, t.relation())
		}
	}
	sortRelations(out)
	return out
}

func sortRelations(rs []Relation) {
	slices.SortFunc(rs, func(a, b Relation) int {
		return cmp.Or(strings.Compare(a.Schema, b.Schema), strings.Compare(a.Name, b.Name))
	})
}

// Relation returns the relation schema.name as the model classifies it:
// [ClassUnknown] (with Schema and Name set) when the model does not name it.
// Names are compared exactly, as the catalog stores them.
func (m *Model) Relation(schema, name string) Relation {
	if i, ok := m.qualified[schema+"\x00"+name]; ok {
		return m.tables[i].relation()
	}
	return Relation{Schema: schema, Name: name}
}

// Named returns every relation of the model called name, in any schema,
// sorted by schema: what an unqualified reference may resolve to through
// a search_path. It returns nil when the model names none; a reference
// to such a name is [ClassUnknown].
func (m *Model) Named(name string) []Relation {
	idx := m.named[name]
	if len(idx) == 0 {
		return nil
	}
	out := make([]Relation, len(idx))
	for i, j := range idx {
		out[i] = m.tables[j].relation()
	}
	sortRelations(out)
	return out
}

// spec returns the table spec of schema.name, if the model lists it.
func (m *Model) spec(schema, name string) (table, bool) {
	i, ok := m.qualified[schema+"\x00"+name]
	if !ok {
		return table{}, false
	}
	return m.tables[i], true
}

// Principals returns the model's declaration of principals: the tenant
// and subject key types and the kinds of [Config]. jwtctx verifies tokens
// against it and tenantdb refuses principals that it does not accept
// ([tenancy.Principals.Check]). The Kinds slice is a copy.
func (m *Model) Principals() tenancy.Principals {
	return tenancy.Principals{TenantKey: m.cfg.TenantKey, SubjectKey: m.cfg.SubjectKey, Kinds: slices.Clone(m.cfg.Kinds)}
}

// TenantKey returns the type of the model's tenant keys ([Config.TenantKey]).
func (m *Model) TenantKey() tenancy.KeyType { return m.cfg.TenantKey }

// TenantFunc returns the schema-qualified name of the helper that returns
// the transaction's tenant, "schema.current_tenant_id", unquoted.
func (m *Model) TenantFunc() string { return m.cfg.Schema + ".current_tenant_id" }

// IsHelper reports whether schema.name is one of the helper functions
// that [Generate] writes into the model's helper schema ([Config.Schema]):
// current_tenant_id() and its siblings. A function someone else adds to
// that schema is not one.
func (m *Model) IsHelper(schema, name string) bool {
	if schema != m.cfg.Schema {
		return false
	}
	for _, h := range helpers {
		if h.name == name {
			return true
		}
	}
	return false
}

// AllowsFunction reports whether the model declares schema.name in
// [Config.Functions], the functions that tenant-scoped SQL may call
// beyond the guard's own safe set.
func (m *Model) AllowsFunction(schema, name string) bool {
	_, ok := m.functions[schema+"."+name]
	return ok
}

// PreAuth reports whether schema.name is one of the model's pre-auth
// functions ([Config.PreAuth]).
func (m *Model) PreAuth(schema, name string) bool {
	_, ok := m.preAuth[schema+"."+name]
	return ok
}

func (t table) relation() Relation {
	r := Relation{Schema: t.schema, Name: t.name, Table: t.Table}
	switch t.Kind {
	case TenantOwned:
		r.Class, r.TenantColumn, r.SubjectColumn = ClassTenant, t.tenantColumn, t.SubjectColumn
	case Registry:
		r.Class = ClassRegistry
	case Private:
		r.Class = ClassPrivate
	}
	return r
}
