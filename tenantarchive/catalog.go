package tenantarchive

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/rls"
)

// querier runs a catalog query: tenantdb.TenantReader's system
// transaction (through systemQuerier) or the import's transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// qualified quotes schema.name of r for SQL.
func qualified(schema, name string) string { return pgx.Identifier{schema, name}.Sanitize() }

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

// splitName splits "schema.name".
func splitName(n string) (schema, name string) {
	schema, name, _ = strings.Cut(n, ".")
	return schema, name
}

// columnsOf returns the columns of each relation (by "schema.name") that
// rows are written to: in attnum order, without dropped and generated
// columns. A relation the catalog lacks has no entry.
func columnsOf(ctx context.Context, q querier, names []string) (map[string][]string, error) {
	var schemas, rels []string
	for _, n := range names {
		s, r := splitName(n)
		schemas, rels = append(schemas, s), append(rels, r)
	}
	rows, err := q.Query(ctx, `
		SELECT s.schema || '.' || s.name, a.attname::text
		FROM unnest($1::text[], $2::text[]) AS s(schema, name)
		JOIN pg_catalog.pg_namespace n ON n.nspname = s.schema
		JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = s.name
		JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
		WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		ORDER BY 1, a.attnum`, schemas, rels)
	if err != nil {
		return nil, fmt.Errorf("tenantarchive: reading columns: %w", err)
	}
	out := map[string][]string{}
	var rel, col string
	_, err = pgx.ForEachRow(rows, []any{&rel, &col}, func() error {
		out[rel] = append(out[rel], col)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tenantarchive: reading columns: %w", err)
	}
	return out, nil
}

// foreignKey is a foreign key from one relation to another, by name.
type foreignKey struct {
	From, To          string // "schema.name"
	Name              string
	FromCols, ToCols  []string
	Deferrable, Valid bool
}

// foreignKeys returns the foreign keys whose referencing relation is one
// of names (partitions' inherited keys once, on their parent).
func foreignKeys(ctx context.Context, q querier, names []string) ([]foreignKey, error) {
	var schemas, rels []string
	for _, n := range names {
		s, r := splitName(n)
		schemas, rels = append(schemas, s), append(rels, r)
	}
	rows, err := q.Query(ctx, `
		SELECT n.nspname || '.' || c.relname, rn.nspname || '.' || rc.relname, con.conname::text,
			ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
				JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.i),
			ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, i)
				JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.i),
			con.condeferrable, con.convalidated
		FROM unnest($1::text[], $2::text[]) AS s(schema, name)
		JOIN pg_catalog.pg_namespace n ON n.nspname = s.schema
		JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = s.name
		JOIN pg_catalog.pg_constraint con ON con.conrelid = c.oid AND con.contype = 'f' AND con.conparentid = 0
		JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
		JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
		ORDER BY 1, 3`, schemas, rels)
	if err != nil {
		return nil, fmt.Errorf("tenantarchive: reading foreign keys: %w", err)
	}
	fks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[foreignKey])
	if err != nil {
		return nil, fmt.Errorf("tenantarchive: reading foreign keys: %w", err)
	}
	return fks, nil
}

// primaryKey returns the columns of the primary key of relation name, or
// nil when it has none.
func primaryKey(ctx context.Context, q querier, name string) ([]string, error) {
	s, r := splitName(name)
	rows, err := q.Query(ctx, `
		SELECT a.attname::text
		FROM pg_catalog.pg_namespace n
		JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = $2
		JOIN pg_catalog.pg_constraint con ON con.conrelid = c.oid AND con.contype = 'p'
		JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, i) ON true
		JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
		WHERE n.nspname = $1
		ORDER BY k.i`, s, r)
	if err != nil {
		return nil, fmt.Errorf("tenantarchive: reading the primary key of %s: %w", name, err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("tenantarchive: reading the primary key of %s: %w", name, err)
	}
	return cols, nil
}

// loadOrder sorts tables so that every table comes after the tables its
// foreign keys reference (a key to itself does not count: one INSERT
// checks it at its end). It fails with [ErrSchema] on a cycle.
func loadOrder(tables []string, fks []foreignKey) ([]string, error) {
	deps := map[string][]string{}
	for _, fk := range fks {
		if fk.From != fk.To && slices.Contains(tables, fk.To) {
			deps[fk.From] = append(deps[fk.From], fk.To)
		}
	}
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t string) error
	visit = func(t string) error {
		switch state[t] {
		case 1:
			return fmt.Errorf("%w: the foreign keys of %s form a cycle, which import does not order", ErrSchema, t)
		case 2:
			return nil
		}
		state[t] = 1
		for _, d := range deps[t] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[t] = 2
		out = append(out, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// helperCall is the SQL of the model's current_tenant_id(), in a
// sub-select so that it is evaluated once.
func helperCall(m *rls.Model) string {
	schema, fn, _ := strings.Cut(m.TenantFunc(), ".")
	return "(SELECT " + ident(schema) + "." + ident(fn) + "())"
}

func columnList(alias string, cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = ident(c)
		if alias != "" {
			q[i] = alias + "." + q[i]
		}
	}
	return strings.Join(q, ", ")
}
