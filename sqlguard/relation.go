package sqlguard

import (
	"strings"

	"github.com/mydentalpractice/tenancy/rls"
)

// classify says what the relation schema.name (schema "" when the
// statement does not qualify it) is, through the model: a tenant relation
// and its tenant column, a registry (tenant false, rule ""), or a refusal.
//
// A qualified name is the model's [rls.Model.Relation]. An unqualified one
// may resolve, through the search_path, to any relation of that name the
// model knows ([rls.Model.Named]): it is a tenant relation when any of
// them is (then all of them must agree on the tenant column), refused when
// one is private, and a registry only when all are. A name the model does
// not know is refused, so is a relation of PostgreSQL's own schemas, and
// so is any unqualified name that begins with pg_ (pg_catalog comes first
// on every search_path unless named later, and all of its relations are
// called pg_something), unless the model lists that relation of
// pg_catalog as a registry.
func (c *config) classify(schema, name string) (column string, tenant bool, rule Rule) {
	if schema != "" {
		r := c.model.Relation(schema, name)
		if systemSchema(schema) && (r.Class != rls.ClassRegistry || strings.HasPrefix(schema, "pg_t")) {
			// A registry the model names in pg_catalog or information_schema
			// is the model's choice; temporary and TOAST schemas never are.
			return "", false, RuleCatalogRelation
		}
		return classOf([]rls.Relation{r})
	}
	if strings.HasPrefix(name, "pg_") {
		// pg_catalog comes first: the name is pg_catalog's relation, which
		// the model may list as a registry (pg_timezone_names, say).
		if c.model.Relation("pg_catalog", name).Class == rls.ClassRegistry {
			return "", false, ""
		}
		return "", false, RuleCatalogRelation
	}
	return classOf(c.model.Named(name))
}

func classOf(rs []rls.Relation) (column string, tenant bool, rule Rule) {
	if len(rs) == 0 {
		return "", false, RuleUnknownRelation
	}
	private := false
	for _, r := range rs {
		switch r.Class {
		case rls.ClassTenant:
			if tenant && r.TenantColumn != column {
				return "", false, RuleAmbiguousRelation
			}
			tenant, column = true, r.TenantColumn
		case rls.ClassRegistry:
		case rls.ClassPrivate:
			private = true
		default:
			return "", false, RuleUnknownRelation
		}
	}
	if tenant {
		// A private candidate holds no privilege for the app role: a
		// reference that resolves to it fails, so the tenant rules are
		// the ones that matter.
		return column, true, ""
	}
	if private {
		return "", false, RulePrivateRelation
	}
	return "", false, ""
}
