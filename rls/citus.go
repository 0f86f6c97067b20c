package rls

import (
	"context"
	"fmt"
)

// citusReason returns "; " and reason when the model declares Citus
// ([Config.Citus]), for the messages of rules that plain PostgreSQL and
// Citus share: the finding is the same, and Citus is one more reason to
// fix it. Without Citus it returns "", so the messages are unchanged.
func (c *checker) citusReason(reason string) string {
	if !c.cfg.Citus {
		return ""
	}
	return "; " + reason
}

// citusRefusesKey is the reason Citus gives for refusing a unique,
// primary key or exclusion constraint of a distributed table.
const citusRefusesKey = "Citus also refuses it on a distributed table, whose unique, primary key and exclusion constraints must include the distribution column (with = in an exclusion constraint)"

// citus reports, when the model declares Citus ([Config.Citus]), what
// Citus would refuse when [Model.GenerateCitus] distributes the tenant
// tables, or would route badly, as far as PostgreSQL's own catalog shows
// it: tenant tables in a bare inheritance tree, foreign keys from a
// tenant table to a table that stays local, and tenant columns that allow
// NULL. Keys without the tenant column are reported by keys, with
// [CodeCitusUniqueWithoutTenant] for those that [Table.AllowUnique]
// exempts from [CodeUniqueWithoutTenant].
func (c *checker) citus(ctx context.Context) error {
	if !c.cfg.Citus {
		return nil
	}
	for _, t := range c.tables {
		if t.Parent != nil && !t.Partition {
			c.add(CodeCitusInheritance, SeverityError, ObjectTable, t.Name,
				fmt.Sprintf("Make %s a partition of %s (PARTITION OF), or a table of its own in the model.", t.Name, *t.Parent),
				"tenant table %s inherits from %s (INHERITS, not a partition), and Citus distributes neither a parent nor a child of a bare inheritance tree", t.Name, *t.Parent)
		}
	}

	type column struct {
		Table   uint32
		NotNull bool
	}
	var top []uint32
	for _, t := range c.tables {
		if t.Parent == nil && t.Attnum != 0 && (t.Kind == "r" || t.Kind == "p") {
			top = append(top, t.OID)
		}
	}
	cols, err := query[column](ctx, c, `
		SELECT c.oid, a.attnotnull
		FROM unnest($1::oid[], $2::int2[]) AS c(oid, attnum)
		JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = c.attnum
		ORDER BY 1`, top, c.attnums(top))
	if err != nil {
		return err
	}
	for _, cl := range cols {
		if cl.NotNull {
			continue
		}
		t := c.byOID[cl.Table]
		c.add(CodeCitusTenantColumnNullable, SeverityWarning, ObjectColumn, t.Name+"."+t.Column,
			fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;", t.Name, t.Column),
			"tenant column %s of %s allows NULL, and Citus, which routes each row by it, refuses a row without one", t.Column, t.Name)
	}

	type fk struct {
		Table uint32
		Name  string
		Ref   uint32
		To    string
	}
	fks, err := query[fk](ctx, c, `
		SELECT con.conrelid, quote_ident(con.conname), con.confrelid, format('%I.%I', n.nspname, rc.relname)
		FROM pg_catalog.pg_constraint con
		JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = rc.relnamespace
		WHERE con.contype = 'f' AND con.conparentid = 0 AND con.conrelid = ANY($1)
		ORDER BY 1, 2`, c.tableIDs)
	if err != nil {
		return err
	}
	for _, f := range fks {
		class := c.known[f.Ref]
		if class == ClassTenant || class == ClassRegistry {
			continue // distributed and co-located, or a reference table
		}
		t := c.byOID[f.Table]
		what := "which the model does not name"
		if class != ClassUnknown {
			what = "which the model classifies as " + class.String()
		}
		c.add(CodeCitusForeignKeyToLocal, SeverityError, ObjectConstraint, f.Name+" on "+t.Name,
			fmt.Sprintf("Make %s a registry (a reference table) or a tenant table of the model, or drop the key.", f.To),
			"foreign key %s of tenant table %s references %s, %s, which stays a local table, and Citus refuses a foreign key from a distributed table to a local one", f.Name, t.Name, f.To, what)
	}
	return nil
}

// attnums returns the tenant column's attnum of each table in oids.
func (c *checker) attnums(oids []uint32) []int16 {
	out := make([]int16, len(oids))
	for i, oid := range oids {
		out[i] = c.byOID[oid].Attnum
	}
	return out
}
