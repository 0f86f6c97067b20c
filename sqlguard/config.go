package sqlguard

import (
	"fmt"
	"strings"

	"github.com/mydentalpractice/tenancy/rls"
)

// Mode says what [Guard.Check] does with a refused statement. Modes are
// plain values, safe to share between goroutines.
type Mode int

const (
	// Enforce, the zero value and default, returns the refusal as an error.
	Enforce Mode = iota
	// Report calls [Config.OnReport] with the refusal and lets the
	// statement run. It is meant for rolling the guard out on existing
	// code; row-level security still applies.
	Report
)

// String returns "enforce", "report" or "Mode(n)". It is safe for
// concurrent use.
func (m Mode) String() string {
	switch m {
	case Enforce:
		return "enforce"
	case Report:
		return "report"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Defaults for the zero fields of a [Config].
const (
	DefaultTenantColumn = "clinic_id"
	DefaultTenantFunc   = "tenancy.current_tenant_id"
	DefaultCacheSize    = 4096
)

// Config configures a [Guard]. [New] copies what it needs, so a Config may
// be reused or changed after New returns; it is not otherwise safe for
// concurrent use while being changed. Names are given as PostgreSQL stores them:
// unquoted identifiers folded to lower case, so "patients", not
// "Patients", unless the table was created with a quoted mixed-case name.
type Config struct {
	// Model is the isolation model whose tenant relations the guard
	// protects, each by its own tenant column. When it is set,
	// TenantTables, TenantColumn and TenantFunc must be empty: the model
	// says them.
	Model *rls.Model

	// TenantTables lists the tables whose rows belong to tenants, as
	// "schema.table" or "table". Required, non-empty. An unqualified
	// reference in SQL matches an entry with the same table name in any
	// schema, and an unqualified entry matches the table name in any
	// schema, so a search_path can never hide a tenant table. List every
	// view over tenant tables and every partition or inheritance child
	// too: the guard cannot see what a view or a parent reads.
	TenantTables []string

	// TenantColumn is the tenant column of every tenant table; default
	// [DefaultTenantColumn].
	TenantColumn string

	// TenantFunc is the schema-qualified helper function that returns the
	// transaction's tenant; default [DefaultTenantFunc]. Only calls
	// qualified exactly so count: an unqualified call resolves through the
	// search_path.
	TenantFunc string

	// TenantColumnDefault says that the tenant column of every tenant table
	// defaults to the helper, so an INSERT may leave it out or set it to
	// DEFAULT. The guard cannot see column defaults; row-level security's
	// WITH CHECK refuses a wrong one. Default false: an INSERT must set the
	// tenant column.
	TenantColumnDefault bool

	// Mode is [Enforce] (the default) or [Report].
	Mode Mode

	// OnReport receives each refusal in [Report] mode; required there. It
	// may be called concurrently, and must not keep the error after it
	// returns if it changes it.
	OnReport func(*RefusalError)

	// CacheSize bounds the number of distinct SQL texts whose analysis is
	// kept; default [DefaultCacheSize]. The least recently used are
	// evicted (approximately).
	CacheSize int
}

// config is a validated Config in the form the analysis uses.
type config struct {
	tables    map[string][]tenantTable // relation name -> its schemas ("" = any schema) and tenant columns
	column    string                   // the tenant column of tables without their own (no Model)
	funcParts [2]string
	defaults  bool
	mode      Mode
	onReport  func(*RefusalError)
	cacheSize int
}

func (c Config) validate() (*config, error) {
	out := &config{
		tables:    make(map[string][]tenantTable),
		column:    c.TenantColumn,
		defaults:  c.TenantColumnDefault,
		mode:      c.Mode,
		onReport:  c.OnReport,
		cacheSize: c.CacheSize,
	}
	var columns []string // per entry of TenantTables; "" means out.column
	if c.Model != nil {
		if len(c.TenantTables) > 0 || c.TenantColumn != "" || c.TenantFunc != "" {
			return nil, fmt.Errorf("%w: with a Model, TenantTables, TenantColumn and TenantFunc come from the model", ErrInvalidConfig)
		}
		c.TenantFunc = c.Model.TenantFunc()
		// Each tenant relation has its own tenant column (the audit
		// tables' tenant_id beside the application's own).
		for _, r := range c.Model.TenantRelations() {
			c.TenantTables = append(c.TenantTables, r.Qualified())
			columns = append(columns, r.TenantColumn)
		}
	}
	if out.column == "" {
		out.column = DefaultTenantColumn
	}
	if !validNames([]string{out.column}) {
		return nil, fmt.Errorf("%w: TenantColumn %q is not a column name", ErrInvalidConfig, out.column)
	}
	if len(c.TenantTables) == 0 {
		return nil, fmt.Errorf("%w: TenantTables is empty", ErrInvalidConfig)
	}
	for i, t := range c.TenantTables {
		parts := strings.Split(t, ".")
		if len(parts) > 2 || !validNames(parts) {
			return nil, fmt.Errorf("%w: TenantTables entry %q is not \"schema.table\" or \"table\"", ErrInvalidConfig, t)
		}
		schema, rel := "", parts[len(parts)-1]
		if len(parts) == 2 {
			schema = parts[0]
		}
		column := out.column
		if i < len(columns) {
			column = columns[i]
			if !validNames([]string{column}) {
				return nil, fmt.Errorf("%w: the tenant column %q of %s is not a column name", ErrInvalidConfig, column, t)
			}
		}
		out.tables[rel] = append(out.tables[rel], tenantTable{schema: schema, column: column})
	}
	fn := c.TenantFunc
	if fn == "" {
		fn = DefaultTenantFunc
	}
	parts := strings.Split(fn, ".")
	if len(parts) != 2 || !validNames(parts) {
		return nil, fmt.Errorf("%w: TenantFunc %q is not \"schema.function\"", ErrInvalidConfig, fn)
	}
	out.funcParts = [2]string{parts[0], parts[1]}
	switch c.Mode {
	case Enforce:
	case Report:
		if c.OnReport == nil {
			return nil, fmt.Errorf("%w: Report mode needs OnReport", ErrInvalidConfig)
		}
	default:
		return nil, fmt.Errorf("%w: unknown Mode %d", ErrInvalidConfig, int(c.Mode))
	}
	if out.cacheSize < 0 {
		return nil, fmt.Errorf("%w: negative CacheSize", ErrInvalidConfig)
	}
	if out.cacheSize == 0 {
		out.cacheSize = DefaultCacheSize
	}
	return out, nil
}

// validNames reports whether each name is a non-empty identifier without
// characters that would need quoting in a way this package does not model
// (NUL, quotes, dots, white space).
func validNames(names []string) bool {
	for _, n := range names {
		if n == "" || len(n) > 63 || strings.ContainsAny(n, "\x00\"'. \t\r\n") {
			return false
		}
	}
	return true
}

// tenantTable is one entry of config.tables.
type tenantTable struct {
	schema string // "" = any schema
	column string // its tenant column
}

// isTenant reports whether a relation named schema.rel (schema "" when the
// SQL does not qualify it) may be a tenant table.
func (c *config) isTenant(schema, rel string) bool {
	_, ok := c.tenantColumn(schema, rel)
	return ok
}

// tenantColumn returns the tenant column of the relation named schema.rel
// (schema "" when the SQL does not qualify it) and whether it may be a
// tenant table. An unqualified name that may be tenant tables of
// different tenant columns (in different schemas, reached through the
// search_path) has no column the guard can trust: it returns "" and
// true, so that no column scopes it and every statement on it is
// refused.
func (c *config) tenantColumn(schema, rel string) (string, bool) {
	entries, ok := c.tables[rel]
	if !ok {
		return "", false
	}
	column, found := "", false
	for _, e := range entries {
		if schema != "" && e.schema != "" && e.schema != schema {
			continue
		}
		if found && e.column != column {
			return "", true
		}
		column, found = e.column, true
	}
	return column, found
}
