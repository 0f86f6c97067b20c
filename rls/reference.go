package rls

import (
	"context"
	"fmt"
	"slices"
)

// CheckExport runs the rules of [Check] that say whether a tenant's data is
// all in the model's tenant relations, and returns their findings, sorted:
// a relation the model does not classify as tenant-owned with a foreign key
// to a tenant relation ([CodeTenantReferenceOutsideModel]) or to the
// registry that lists the tenants ([CodeTenantListReferenceOutsideModel]).
// Such a relation holds rows that belong to one tenant, yet an export,
// an import or an erasure, which read the model's tenant relations only,
// would miss them. Package tenantarchive refuses to export while it finds
// any. These are the rules of Check, not a copy.
//
// It reads only catalogs that every role may read. It is safe for
// concurrent use if db is, and returns the same errors as Check.
func CheckExport(ctx context.Context, db Querier, m *Model) ([]Finding, error) {
	c, err := newChecker(db, m, false)
	if err != nil {
		return nil, err
	}
	return c.run(ctx, []step{
		{"model relations", c.loadRelations},
		{"references to tenant rows", c.tenantReferences},
	}, func(code Code) bool { return slices.Contains(exportCodes, code) })
}

// exportCodes are the codes that [CheckExport] keeps.
var exportCodes = []Code{CodeTenantReferenceOutsideModel, CodeTenantListReferenceOutsideModel}

// tenantReferences reports the relations outside the model's tenant
// relations whose foreign keys point at tenant rows: at a tenant relation
// (or a partition or child of one), or at the registry that lists the
// tenants. Whatever the app role may reach of them, their rows are
// tenant data that export, import and erase cannot see.
func (c *checker) tenantReferences(ctx context.Context) error {
	list := ""
	if table, _, ok := c.m.TenantList(); ok {
		list = table
	}
	type ref struct {
		From    uint32
		Name    string // quoted, schema-qualified
		Kind    string
		Key     string // the constraint, quoted
		To      uint32
		ToName  string
		ToList  bool
		Columns string
	}
	refs, err := query[ref](ctx, c, `
		SELECT con.conrelid, format('%I.%I', n.nspname, c.relname), c.relkind::text, quote_ident(con.conname),
			con.confrelid, format('%I.%I', rn.nspname, rc.relname),
			$2 <> '' AND con.confrelid = pg_catalog.to_regclass($2),
			(SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.i) FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
			 JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum)
		FROM pg_catalog.pg_constraint con
		JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
		JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
		WHERE con.contype = 'f' AND con.conparentid = 0
		  AND (con.confrelid = ANY ($1) OR ($2 <> '' AND con.confrelid = pg_catalog.to_regclass($2)))
		ORDER BY 2, 4`, c.allIDs, list)
	if err != nil {
		return err
	}
	for _, r := range refs {
		class := c.known[r.From]
		if class == ClassTenant {
			continue // a tenant relation's own keys are the keys rules' business
		}
		what := "which the model does not name"
		if class != ClassUnknown {
			what = "which the model classifies as " + class.String()
		}
		obj := r.Key + " on " + r.Name
		if r.ToList {
			c.add(CodeTenantListReferenceOutsideModel, SeverityError, ObjectConstraint, obj,
				fmt.Sprintf("Make %s a tenant table of the model, with (%s) as its tenant column (Table.TenantColumn), and re-run the migration of rls.Generate; or drop the key if its rows are not one tenant's.", r.Name, r.Columns),
				"%s %s, %s, references the registry of tenants %s by (%s): each of its rows belongs to a tenant, but export, import and erase read only the model's tenant relations and would miss them",
				relkindName(r.Kind), r.Name, what, r.ToName, r.Columns)
			continue
		}
		c.add(CodeTenantReferenceOutsideModel, SeverityError, ObjectConstraint, obj,
			fmt.Sprintf("Give %s the tenant column of %s, lead the key with it, and make it a tenant table of the model; then re-run the migration of rls.Generate.", r.Name, r.ToName),
			"%s %s, %s, references tenant table %s by (%s): its rows belong to that table's tenants, but export, import and erase read only the model's tenant relations and would miss them%s",
			relkindName(r.Kind), r.Name, what, r.ToName, r.Columns,
			c.citusReason("Citus also refuses a foreign key from a reference or local table to a distributed table"))
	}
	return nil
}
