package rls

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// CheckModel runs the rules of [Check] that tenant isolation cannot do
// without, and returns their findings, sorted: every relation of m is in
// the catalog ([CodeRelationMissing]); every tenant relation, and each of
// its partitions and inheritance children, has its tenant column
// ([CodeTenantColumnMissing]) and subject column
// ([CodeSubjectColumnMissing]), can hold row-level security
// ([CodeTenantRelationKind], [CodeForeignTable]), has it enabled
// ([CodeRLSDisabled]) and forced ([CodeRLSNotForced]), and has a
// RESTRICTIVE tenant policy (the one named [PolicyTenant] that the
// migration makes) binding the app role ([CodeNoPolicy],
// [CodeNoTenantPolicy]); and the helper current_tenant_id() exists
// ([CodeHelperMissing]) and returns, like current_subject_id(), the
// model's key type ([CodeHelperKeyType]); tenant and subject columns are
// of a type that holds the model's keys, with a deterministic collation
// ([CodeKeyColumn]). These are the rules of Check,
// not a copy:
// tenantdb.New runs them at start-up, as the app role.
//
// It reads only catalogs that every role may read. It is safe for
// concurrent use if db is, and returns the same errors as Check.
func CheckModel(ctx context.Context, db Querier, m *Model) ([]Finding, error) {
	c, err := newChecker(db, m, false)
	if err != nil {
		return nil, err
	}
	return c.run(ctx, []step{
		{"app role", c.appRole},
		{"model relations", c.loadRelations},
		{"model and catalog", c.classify},
		{"tenant tables", c.tenantTables},
		{"policies", c.policies},
		{"helpers", c.helpers},
		{"key columns", c.keyColumns},
	}, func(code Code) bool { return slices.Contains(modelCodes, code) })
}

// modelCodes are the codes that [CheckModel] keeps.
var modelCodes = []Code{
	CodeRelationMissing, CodeTenantColumnMissing, CodeSubjectColumnMissing, CodeTenantRelationKind,
	CodeForeignTable, CodeRLSDisabled, CodeRLSNotForced, CodeNoPolicy, CodeNoTenantPolicy,
	CodeAppRoleMissing, CodeHelperMissing, CodeHelperKeyType, CodeKeyColumn, CodeKindPolicy,
}

// relationKinds are the relkinds that hold or show rows.
const relationKinds = `('r', 'p', 'v', 'm', 'f')`

// loadRelations finds the model's relations in the catalog, with the
// partitions and inheritance children of each (at any depth), which take
// its class. It reports nothing; classify and tenantTables do.
func (c *checker) loadRelations(ctx context.Context) error {
	rels := c.m.Relations()
	var schemas, names, cols, subjects []string
	for _, r := range rels {
		schemas, names = append(schemas, r.Schema), append(names, r.Name)
		cols, subjects = append(cols, r.TenantColumn), append(subjects, r.SubjectColumn)
	}
	type row struct {
		Index     int64
		OID       uint32
		Depth     int32
		Name      string
		Kind      string
		RLS       bool
		Forced    bool
		Attnum    int16
		SubjectOK bool
		AppOwns   bool
		Owner     string
		Parent    *string
		Partition bool
	}
	rows, err := query[row](ctx, c, `
		WITH RECURSIVE spec AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS s(schema, name, col, subject, i)
		), tree(i, oid, depth) AS (
			SELECT s.i, c.oid, 0
			FROM spec s
			JOIN pg_catalog.pg_namespace n ON n.nspname = s.schema
			JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = s.name
			UNION
			SELECT t.i, h.inhrelid, t.depth + 1
			FROM tree t JOIN pg_catalog.pg_inherits h ON h.inhparent = t.oid
		)
		SELECT t.i, c.oid, t.depth, format('%I.%I', n.nspname, c.relname), c.relkind::text,
			c.relrowsecurity, c.relforcerowsecurity,
			coalesce((SELECT a.attnum FROM pg_catalog.pg_attribute a
				WHERE a.attrelid = c.oid AND a.attname = s.col AND a.attnum > 0 AND NOT a.attisdropped), 0)::int2,
			s.subject = '' OR EXISTS (SELECT FROM pg_catalog.pg_attribute a
				WHERE a.attrelid = c.oid AND a.attname = s.subject AND a.attnum > 0 AND NOT a.attisdropped),
			$5::oid <> 0 AND pg_catalog.pg_has_role($5::oid, c.relowner, 'MEMBER'),
			quote_ident(pg_catalog.pg_get_userbyid(c.relowner)),
			(SELECT format('%I.%I', pn.nspname, pc.relname) FROM pg_catalog.pg_inherits h
			 JOIN pg_catalog.pg_class pc ON pc.oid = h.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
			 WHERE h.inhrelid = c.oid ORDER BY h.inhseqno LIMIT 1),
			c.relispartition
		FROM tree t
		JOIN spec s ON s.i = t.i
		JOIN pg_catalog.pg_class c ON c.oid = t.oid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		ORDER BY t.depth, 4, t.i`, schemas, names, cols, subjects, c.appOID)
	if err != nil {
		return err
	}
	c.known = make(map[uint32]Class)
	c.byClass = make(map[Class][]uint32)
	c.byOID = make(map[uint32]*tenantTable)
	found := make([]bool, len(rels))
	for _, r := range rows {
		rel := rels[r.Index-1]
		if r.Depth == 0 {
			found[r.Index-1] = true
		}
		if _, ok := c.known[r.OID]; ok {
			continue // named by the model itself, or reached through two parents: the first wins
		}
		c.known[r.OID] = rel.Class
		c.byClass[rel.Class] = append(c.byClass[rel.Class], r.OID)
		if rel.Class != ClassTenant {
			continue
		}
		t := tenantTable{OID: r.OID, Name: r.Name, Kind: r.Kind, RLS: r.RLS, Forced: r.Forced, Attnum: r.Attnum,
			Column: quoteIdent(rel.TenantColumn), AppOwns: r.AppOwns, OwnerName: r.Owner, Partition: r.Partition,
			Relation: rel, SubjectOK: r.SubjectOK}
		if r.Depth > 0 {
			t.Parent = r.Parent
		}
		c.tables = append(c.tables, t)
	}
	slices.SortFunc(c.tables, func(a, b tenantTable) int { return strings.Compare(a.Name, b.Name) })
	for i := range c.tables {
		t := &c.tables[i]
		c.byOID[t.OID] = t
		switch t.Kind {
		case "r", "p":
			c.tableIDs = append(c.tableIDs, t.OID)
			c.allIDs = append(c.allIDs, t.OID)
		case "f":
			c.allIDs = append(c.allIDs, t.OID)
		}
	}
	for i, r := range rels {
		if !found[i] {
			c.missing = append(c.missing, r)
		}
	}
	return nil
}

// classify reports where the model and the catalog disagree.
func (c *checker) classify(context.Context) error {
	for _, r := range c.missing {
		obj := quoteIdent(r.Schema) + "." + quoteIdent(r.Name)
		c.add(CodeRelationMissing, SeverityError, ObjectTable, obj,
			fmt.Sprintf("Run the migration that creates %s, or take it out of the model (its table specs).", obj),
			"the model names %s relation %s, but the database has no such relation, so the model describes another schema", r.Class, obj)
	}
	for _, t := range c.tables {
		if t.Attnum == 0 && t.Kind != "v" && t.Kind != "m" && t.Kind != "S" {
			c.add(CodeTenantColumnMissing, SeverityError, ObjectTable, t.Name,
				fmt.Sprintf("Add the column (ALTER TABLE %s ADD COLUMN %s ...), or give the table's spec its real tenant column (Table.TenantColumn).", t.Name, t.Column),
				"%s has no column %s, its tenant column in the model, so no tenant policy can scope its rows", t.describe(), t.Column)
		}
		if !t.SubjectOK {
			col := quoteIdent(t.Relation.SubjectColumn)
			c.add(CodeSubjectColumnMissing, SeverityError, ObjectTable, t.Name,
				fmt.Sprintf("Add the column, or correct the table's spec (Table.SubjectColumn %s).", col),
				"%s has no column %s, its subject column in the model, so the subject policy cannot hold", t.describe(), col)
		}
		switch t.Kind {
		case "r", "p", "f": // foreign tables are reported by tenantTables
		default:
			c.add(CodeTenantRelationKind, SeverityError, ObjectTable, t.Name,
				"Make the tenant relation a table with row-level security; a view over tenant tables is a view WITH (security_invoker = true), not a tenant relation of the model.",
				"the model calls %s a tenant relation, but it is a %s, on which row-level security cannot be enabled", t.Name, relkindName(t.Kind))
		}
	}
	return nil
}

// reach reports the relations the app role can reach that the model does
// not name, or makes private, and registries with a tenant column.
func (c *checker) reach(ctx context.Context) error {
	columns := []string{c.cfg.TenantColumn}
	for _, r := range c.m.TenantRelations() {
		if !slices.Contains(columns, r.TenantColumn) {
			columns = append(columns, r.TenantColumn)
		}
	}
	if err := c.registries(ctx, columns); err != nil {
		return err
	}
	if c.appOID == 0 || c.appSuper {
		return nil // nothing to compare privileges with; a superuser is reported by the role rules
	}
	var known []uint32
	for oid := range c.known {
		known = append(known, oid)
	}
	type reach struct {
		OID        uint32
		Name       string
		Kind       string
		Privileges string
		Columns    *string // tenant-like columns
	}
	reached, err := query[reach](ctx, c, `
		SELECT c.oid, format('%I.%I', n.nspname, c.relname), c.relkind::text,
			coalesce((SELECT string_agg(p, ', ' ORDER BY o) FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) WITH ORDINALITY AS x(p, o)
			 WHERE EXISTS (SELECT FROM unnest($1::oid[]) r
				WHERE pg_catalog.has_table_privilege(r, c.oid, p)
				   OR (p IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES') AND pg_catalog.has_any_column_privilege(r, c.oid, p)))), ''),
			(SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
			 WHERE a.attrelid = c.oid AND a.attname = ANY($3) AND a.attnum > 0 AND NOT a.attisdropped)
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN `+relationKinds+` AND `+userSchemas+`
		  AND (NOT c.oid = ANY($2) OR c.oid = ANY($4))
		ORDER BY 2`, c.up, known, columns, c.byClass[ClassPrivate])
	if err != nil {
		return err
	}
	for _, r := range reached {
		if r.Privileges == "" {
			continue
		}
		kind := relationObjectKind(r.Kind)
		if c.known[r.OID] == ClassPrivate {
			c.add(CodePrivateReachable, SeverityError, kind, r.Name,
				fmt.Sprintf("REVOKE ALL ON TABLE %s FROM PUBLIC, %s; (and from every role %[2]s is a member of); read it through a pre-auth function (Config.PreAuth).", r.Name, c.appName),
				"the model makes %s private, but the app role %s holds %s on it", r.Name, c.appName, r.Privileges)
			continue
		}
		why := ""
		if r.Columns != nil {
			why = fmt.Sprintf("; it has column %s, like the model's tenant relations, so it may hold tenant rows that no policy scopes", *r.Columns)
		}
		c.add(CodeUnknownRelation, SeverityError, kind, r.Name,
			fmt.Sprintf("Classify it in the model (a tenant table with its tenant column, a registry or a private table) and re-run the migration of rls.Generate; or REVOKE ALL ON TABLE %s FROM PUBLIC, %s;", r.Name, c.appName),
			"the app role %s holds %s on %s %s, which the model does not name%s", c.appName, r.Privileges, relkindName(r.Kind), r.Name, why)
	}
	return nil
}

// registries warns about a registry with a tenant column: a registry's
// rows are read by every tenant.
func (c *checker) registries(ctx context.Context, columns []string) error {
	type reg struct {
		Name    string
		Columns string
	}
	regs, err := query[reg](ctx, c, `
		SELECT format('%I.%I', n.nspname, c.relname), string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = ANY($2) AND a.attnum > 0 AND NOT a.attisdropped
		WHERE c.oid = ANY($1)
		GROUP BY 1 ORDER BY 1`, c.byClass[ClassRegistry], columns)
	if err != nil {
		return err
	}
	for _, r := range regs {
		c.add(CodeRegistryTenantColumn, SeverityWarning, ObjectTable, r.Name,
			"If each row belongs to one tenant, make it a tenant table in the model (its spec without Kind: Registry) and re-run the migration; if it is shared, rename the column.",
			"registry %s, whose rows every tenant reads, has column %s, like the model's tenant relations", r.Name, r.Columns)
	}
	return nil
}

// tenantTables reports tenant relations without row-level security.
func (c *checker) tenantTables(context.Context) error {
	for i := range c.tables {
		t := &c.tables[i]
		switch t.Kind {
		case "f":
			c.add(CodeForeignTable, SeverityError, ObjectTable, t.Name,
				"Keep tenant data in local tables with row-level security, or restrict the foreign table to the owner role.",
				"foreign table %s is a tenant relation, but row-level security cannot be enabled on a foreign table", t.Name)
			continue
		case "r", "p":
		default:
			continue // reported by classify
		}
		if !t.RLS {
			c.add(CodeRLSDisabled, SeverityError, ObjectTable, t.Name,
				"ALTER TABLE "+t.Name+" ENABLE ROW LEVEL SECURITY;",
				"%s does not have row-level security enabled, so every role with a grant sees every tenant's rows", t.describe())
		}
		if !t.Forced {
			c.add(CodeRLSNotForced, SeverityError, ObjectTable, t.Name,
				"ALTER TABLE "+t.Name+" FORCE ROW LEVEL SECURITY;",
				"%s does not force row-level security, so its owner %s (and whoever runs as it) bypasses the policies", t.describe(), t.OwnerName)
		}
	}
	return nil
}

func relkindName(k string) string {
	switch k {
	case "r":
		return "table"
	case "p":
		return "partitioned table"
	case "v":
		return "view"
	case "m":
		return "materialized view"
	case "f":
		return "foreign table"
	case "S":
		return "sequence"
	case "c":
		return "composite type"
	case "i", "I":
		return "index"
	}
	return "relation of kind " + k
}

func relationObjectKind(k string) ObjectKind {
	switch k {
	case "v", "m":
		return ObjectView
	case "S":
		return ObjectSequence
	}
	return ObjectTable
}
