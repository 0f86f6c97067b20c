package audit

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Registry is the application's list of tenants: the column Column of
// the table Schema.Table holds one tenant key per row (duplicates and
// NULLs are ignored). It is a value, safe to copy and for concurrent use.
type Registry struct {
	Schema, Table, Column string
}

// ParseRegistry parses "schema.table.column", each part an unquoted
// PostgreSQL identifier of 1 to 63 bytes of [a-z0-9_] that does not start
// with a digit, such as "public.clinics.id". Anything else fails with an
// error wrapping [ErrInvalidRegistry].
func ParseRegistry(s string) (Registry, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return Registry{}, fmt.Errorf("%w: want schema.table.column, got %d parts", ErrInvalidRegistry, len(parts))
	}
	for _, p := range parts {
		if !validIdent(p) {
			return Registry{}, fmt.Errorf("%w: %q is not a lower-case identifier", ErrInvalidRegistry, truncate(p, 64))
		}
	}
	return Registry{Schema: parts[0], Table: parts[1], Column: parts[2]}, nil
}

// String returns "schema.table.column".
func (r Registry) String() string { return r.Schema + "." + r.Table + "." + r.Column }

// keysSQL selects the registry's distinct keys, as text.
func (r Registry) keysSQL() string {
	col := pgx.Identifier{r.Column}.Sanitize()
	return `SELECT DISTINCT ` + col + `::text AS k FROM ` + pgx.Identifier{r.Schema, r.Table}.Sanitize() +
		` WHERE ` + col + ` IS NOT NULL`
}

// registry returns cfg's registry, parsed; an empty TenantRegistry fails
// with [ErrInvalidRegistry].
func (cfg Config) registry() (Registry, error) {
	if cfg.TenantRegistry == "" {
		return Registry{}, fmt.Errorf("%w: Config.TenantRegistry is empty: name the tenants' table as schema.table.column", ErrInvalidRegistry)
	}
	return ParseRegistry(cfg.TenantRegistry)
}

func validIdent(s string) bool {
	if s == "" || len(s) > 63 || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
