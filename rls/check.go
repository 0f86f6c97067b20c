package rls

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/mydentalpractice/tenancy"
)

// Querier runs a query. *pgx.Conn, *pgxpool.Pool and pgx.Tx satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Check reads the live catalog of the database behind db and returns every
// way it found that rows could cross tenants, or that the isolation would
// be slow, sorted errors first. The tenant relations, each with its own
// tenant column, the registries, the private relations and the allow-lists
// come from the model m (and its [Model.Config]); partitions and
// inheritance children of a model relation have its class. Every other
// relation the app role can reach is unknown, and reported. The findings
// and their codes are listed with [Code]; a database set up by the SQL of
// [Model.Generate], with keys and indexes that follow the package's
// conventions, yields none. With [Config.Citus] it also reports what Citus
// would refuse or route badly once [Model.GenerateCitus] distributes the
// tables (the citus-* codes); without it, nothing about Citus.
//
// Check only reads the catalog, so any role may run it (the app role
// included), with any search_path. It needs no tenant context. It is safe
// for concurrent use if db is. It returns an error wrapping
// [ErrInvalidConfig] for a nil m, or the database's error if a catalog
// query fails; it never returns partial findings with an error.
func Check(ctx context.Context, db Querier, m *Model) ([]Finding, error) {
	c, err := newChecker(db, m, false)
	if err != nil {
		return nil, err
	}
	return c.run(ctx, []step{
		{"app role", c.appRole},
		{"model relations", c.loadRelations},
		{"role", c.roleRules},
		{"model and catalog", c.classify},
		{"relations the app role reaches", c.reach},
		{"tenant tables", c.tenantTables},
		{"policies", c.policies},
		{"helpers", c.helpers},
		{"key columns", c.keyColumns},
		{"table privileges", c.privileges},
		{"keys and indexes", c.keys},
		{"Citus", c.citus},
		{"references to tenant rows", c.tenantReferences},
		{"column defaults", c.sequences},
		{"definer functions", c.definers},
		{"views", c.views},
		{"rewrite rules", c.rules},
		{"triggers", c.triggers},
		{"policy functions", c.policyFunctions},
		{"app role's reach", c.appReach},
		{"grants to PUBLIC", c.publicGrants},
		{"function grants", c.functionGrants},
		{"large objects", c.largeObjects},
		{"default privileges", c.defaultPrivileges},
		{"audit owner", c.auditOwner},
	}, nil)
}

type step struct {
	name string
	fn   func(context.Context) error
}

// newChecker returns a checker of m's database; current makes it check
// the role that db is connected as (current_user) instead of m's app
// role.
func newChecker(db Querier, m *Model, current bool) (*checker, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: no model", ErrInvalidConfig)
	}
	return &checker{db: db, m: m, cfg: m.Config(), current: current}, nil
}

// run runs steps in order and returns the findings whose codes keep
// accepts (every finding when keep is nil), sorted.
func (c *checker) run(ctx context.Context, steps []step, keep func(Code) bool) ([]Finding, error) {
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return nil, fmt.Errorf("rls: check %s: %w", s.name, err)
		}
	}
	out := c.findings
	if keep != nil {
		out = nil
		for _, f := range c.findings {
			if keep(f.Code) {
				out = append(out, f)
			}
		}
	}
	sortFindings(out)
	return out, nil
}

type checker struct {
	db       Querier
	m        *Model
	cfg      Config
	current  bool // check current_user rather than cfg.AppRole
	findings []Finding

	appOID   uint32   // 0 when the app role does not exist
	appSuper bool     // the app role itself is a superuser: every privilege check would be true
	appName  string   // quoted
	up       []uint32 // the app role and every role it is a member of, at any depth
	tables   []tenantTable
	byOID    map[uint32]*tenantTable
	tableIDs []uint32         // of tables with relkind r or p
	allIDs   []uint32         // of every tenant table, foreign tables included
	known    map[uint32]Class // every relation the model classifies, partitions and children included
	fnIDs    []uint32         // of the user-defined functions that policies on tenant tables call
	missing  []Relation       // model relations the catalog lacks
	byClass  map[Class][]uint32
}

type tenantTable struct {
	OID         uint32
	Name        string // quoted, schema-qualified
	Kind        string // pg_class.relkind
	RLS, Forced bool
	Attnum      int16  // of the tenant column; 0 when it is missing
	Column      string // the tenant column, quoted
	AppOwns     bool
	OwnerName   string
	Parent      *string // quoted, schema-qualified, for a partition or inheritance child
	Partition   bool
	Relation    Relation // the model relation it is, or descends from
	SubjectOK   bool     // the subject column, if the model names one, exists
}

// describe names t for messages: "tenant table x", or, for a child, also
// its parent, whose policies do not bind queries that name t directly.
func (t *tenantTable) describe() string {
	if t.Parent == nil {
		return "tenant table " + t.Name
	}
	what := "an inheritance child"
	if t.Partition {
		what = "a partition"
	}
	return fmt.Sprintf("tenant table %s (%s of %s, whose policies do not bind queries that name %s directly)", t.Name, what, *t.Parent, t.Name)
}

func (c *checker) add(code Code, sev Severity, kind ObjectKind, object, fix, format string, args ...any) {
	c.findings = append(c.findings, Finding{Code: code, Severity: sev, ObjectKind: kind, Object: object,
		Message: fmt.Sprintf(format, args...), Fix: fix})
}

// query runs sql and scans each row, by position, into a T.
func query[T any](ctx context.Context, c *checker, sql string, args ...any) ([]T, error) {
	for i, a := range args {
		// A nil slice would be NULL, and "x = ANY(NULL)" is NULL, never
		// false: NOT ... would then drop every row.
		switch v := a.(type) {
		case []uint32:
			if v == nil {
				args[i] = []uint32{}
			}
		case []string:
			if v == nil {
				args[i] = []string{}
			}
		}
	}
	rows, err := c.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[T])
}

// userSchemas excludes the system schemas from catalog queries on n.
const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema')
	AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'`

// appRole finds the role to check (the model's app role, or current_user)
// and every role it is a member of.
func (c *checker) appRole(ctx context.Context) error {
	type row struct {
		OID   uint32
		Name  string
		Super bool
	}
	where, args := `rolname = $1`, []any{c.cfg.AppRole}
	if c.current {
		where, args = `rolname = current_user`, nil
	}
	rows, err := query[row](ctx, c, `SELECT oid, quote_ident(rolname), rolsuper FROM pg_catalog.pg_roles WHERE `+where, args...)
	if err != nil {
		return err
	}
	c.appName = quoteIdent(c.cfg.AppRole)
	if len(rows) == 0 {
		if c.current {
			return fmt.Errorf("the catalog shows no role for current_user")
		}
		c.add(CodeAppRoleMissing, SeverityError, ObjectRole, c.appName,
			"Pass the app role's name (Config.AppRole, --app-role), or create the role.",
			"the app role %s does not exist, so nothing about it could be checked", c.appName)
		return nil
	}
	c.appOID, c.appName, c.appSuper = rows[0].OID, rows[0].Name, rows[0].Super
	type up struct{ OID uint32 }
	ups, err := query[up](ctx, c, `
		WITH RECURSIVE up(oid) AS (
			SELECT $1::oid
			UNION
			SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN up ON m.member = up.oid
		)
		SELECT oid FROM up ORDER BY oid`, c.appOID)
	if err != nil {
		return err
	}
	for _, u := range ups {
		c.up = append(c.up, u.OID)
	}
	return nil
}

type policy struct {
	Table      uint32
	Name       string
	Permissive bool
	Cmd        string
	AppliesApp bool
	Using      *string
	Check      *string
	Roles      []uint32 // pg_policy.polroles; 0 is PUBLIC
	RoleNames  string   // quoted, comma-separated
	Raw        string   // "schema.table.policy", unquoted, as Config.AllowCrossTenant lists it
}

func (p policy) object(t *tenantTable) string { return p.Name + " on " + t.Name }

func (c *checker) policies(ctx context.Context) error {
	type fnName struct{ Name *string }
	fn, err := query[fnName](ctx, c, `SELECT pg_catalog.to_regproc(quote_ident($1) || '.current_tenant_id')::text`, c.cfg.Schema)
	if err != nil {
		return err
	}
	tenantFn := quoteIdent(c.cfg.Schema) + ".current_tenant_id"
	if fn[0].Name != nil {
		tenantFn = *fn[0].Name
	}
	pols, err := query[policy](ctx, c, `
		SELECT p.polrelid, quote_ident(p.polname), p.polpermissive, p.polcmd::text,
			EXISTS (SELECT FROM unnest(p.polroles) r WHERE r = 0 OR ($2::oid <> 0 AND pg_catalog.pg_has_role($2::oid, r, 'USAGE'))),
			pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),
			p.polroles::oid[],
			(SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ' ORDER BY r)
			 FROM unnest(p.polroles) r),
			n.nspname || '.' || c.relname || '.' || p.polname
		FROM pg_catalog.pg_policy p
		JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE p.polrelid = ANY($1)
		ORDER BY p.polrelid, p.polname`, c.tableIDs, c.appOID)
	if err != nil {
		return err
	}
	helperNames := make([]string, len(helpers))
	for i, h := range helpers {
		helperNames[i] = h.name
	}
	byTable := make(map[uint32][]policy)
	for _, p := range pols {
		byTable[p.Table] = append(byTable[p.Table], p)
		t := c.byOID[p.Table]
		obj := p.object(t)
		var exprs []string
		if p.Using != nil {
			exprs = append(exprs, *p.Using)
		}
		if p.Check != nil {
			exprs = append(exprs, *p.Check)
		}
		if p.Check == nil && (p.Cmd == "*" || p.Cmd == "a" || p.Cmd == "w") {
			c.add(CodePolicyNoWithCheck, SeverityError, ObjectPolicy, obj,
				"ALTER POLICY "+p.Name+" ON "+t.Name+" WITH CHECK (<the tenant predicate>);",
				"policy %s on %s governs writes but has no WITH CHECK, so what rows may be written is left implicit", p.Name, t.Name)
		}
		var alwaysTrue, escape bool
		var unwrapped []string
		for _, e := range exprs {
			alwaysTrue = alwaysTrue || stripParens(e) == "true" || isAlwaysTrue(e)
			escape = escape || hasNullEscape(e)
			for _, u := range unwrappedCalls(e, helperNames) {
				if !slices.Contains(unwrapped, u) {
					unwrapped = append(unwrapped, u)
				}
			}
		}
		if alwaysTrue {
			c.add(CodePolicyAlwaysTrue, SeverityError, ObjectPolicy, obj,
				"DROP POLICY "+p.Name+" ON "+t.Name+"; or give it a real condition.",
				"policy %s on %s is always true, so it admits every row its command touches", p.Name, t.Name)
		}
		if escape {
			c.add(CodePolicyNullEscape, SeverityError, ObjectPolicy, obj,
				"Remove the IS NULL branch: a missing value must deny, not allow. Compare with (SELECT "+tenantFn+"()), which raises when no tenant is set.",
				"policy %s on %s has an IS NULL ... OR escape that admits rows when a value is missing", p.Name, t.Name)
		}
		if len(unwrapped) > 0 {
			c.add(CodePolicyUnwrapped, SeverityWarning, ObjectPolicy, obj,
				"Wrap each call in a sub-select, (SELECT f()), so it is evaluated once per statement as an InitPlan.",
				"policy %s on %s calls %s outside a sub-select, which may run once per row and keep indexes from being used", p.Name, t.Name, strings.Join(unwrapped, ", "))
		}
	}
	col := func(t *tenantTable) string { return t.Column }
	for _, t := range c.tables {
		if t.Kind != "r" && t.Kind != "p" {
			continue
		}
		var applying []policy
		for _, p := range byTable[t.OID] {
			if p.AppliesApp || c.appOID == 0 {
				applying = append(applying, p)
			}
		}
		if len(applying) == 0 {
			c.add(CodeNoPolicy, SeverityError, ObjectTable, t.Name,
				"Create the tenant policies (rls.Generate), RESTRICTIVE and PERMISSIVE, both with USING and WITH CHECK; re-running the migration of rls.Generate also covers partitions and inheritance children made since.",
				"%s has no policy for the app role %s", t.describe(), c.appName)
			continue
		}
		tenantPolicy := slices.ContainsFunc(applying, func(p policy) bool {
			if p.Permissive || p.Cmd != "*" || p.Using == nil {
				return false
			}
			check := p.Using
			if p.Check != nil {
				check = p.Check
			}
			return isTenantPredicate(*p.Using, col(&t), tenantFn) && isTenantPredicate(*check, col(&t), tenantFn)
		})
		// Roles bound by a RESTRICTIVE tenant policy; a PERMISSIVE policy
		// for any other role admits rows of every tenant to it.
		bound := make(map[uint32]bool)
		for _, p := range byTable[t.OID] {
			if !p.Permissive && p.Cmd == "*" && p.Using != nil && isTenantPredicate(*p.Using, col(&t), tenantFn) &&
				(p.Check == nil || isTenantPredicate(*p.Check, col(&t), tenantFn)) {
				for _, r := range p.Roles {
					bound[r] = true
				}
			}
		}
		if !tenantPolicy && c.appOID != 0 {
			bound[c.appOID] = true // reported below as no-tenant-policy
		}
		for _, p := range byTable[t.OID] {
			// Entries have exactly three dot-free parts, so only the
			// policy whose three names they are can equal one.
			if !p.Permissive || bound[0] || slices.Contains(c.cfg.AllowCrossTenant, p.Raw) {
				continue
			}
			if slices.ContainsFunc(p.Roles, func(r uint32) bool { return !bound[r] }) {
				c.add(CodePolicyUnboundRole, SeverityError, ObjectPolicy, p.object(&t),
					fmt.Sprintf("Limit the policy to the app role (ALTER POLICY %s ON %s TO %s;), or bind its roles with a RESTRICTIVE tenant policy too; or, if it is meant to cross tenants, allow it (Config.AllowCrossTenant, --allow-cross-tenant %s).", p.Name, t.Name, c.appName, p.Raw),
					"permissive policy %s on %s applies to %s, which no RESTRICTIVE tenant policy binds, so it admits every tenant's rows to those roles", p.Name, t.Name, p.RoleNames)
			}
		}
		c.kindPolicies(t, applying)
		if !tenantPolicy {
			c.add(CodeNoTenantPolicy, SeverityError, ObjectTable, t.Name,
				fmt.Sprintf("CREATE POLICY tenancy_tenant ON %s AS RESTRICTIVE FOR ALL TO %s USING (%s = (SELECT %s())) WITH CHECK (%[3]s = (SELECT %[4]s()));",
					t.Name, c.appName, col(&t), tenantFn),
				"tenant table %s has no RESTRICTIVE FOR ALL policy for the app role that compares %s with %s() in USING and WITH CHECK, so any permissive policy can widen access across tenants",
				t.Name, col(&t), tenantFn)
		}
	}
	return nil
}

// kindPolicies reports a tenant table whose subject or read-only policies
// are missing or list other kinds than the model would generate: kinds
// are the application's declaration, and a migration generated for an
// older one would still let a kind now subject-scoped see every row, or a
// kind now read-only write.
func (c *checker) kindPolicies(t tenantTable, applying []policy) {
	spec, ok := c.m.spec(t.Relation.Schema, t.Relation.Name)
	if !ok {
		return
	}
	var want []struct {
		name, cmd string
		kinds     []string
	}
	if spec.SubjectColumn != "" {
		want = append(want, struct {
			name, cmd string
			kinds     []string
		}{PolicySubject, "*", wholeKinds(c.cfg)})
	}
	if len(spec.ReadOnly) > 0 {
		w := writerKinds(c.cfg, spec)
		for _, p := range []struct{ name, cmd string }{{PolicyReadOnlyInsert, "a"}, {PolicyReadOnlyUpdate, "w"}, {PolicyReadOnlyDelete, "d"}} {
			want = append(want, struct {
				name, cmd string
				kinds     []string
			}{p.name, p.cmd, w})
		}
	}
	for _, w := range want {
		slices.Sort(w.kinds)
		w.kinds = slices.Compact(w.kinds)
		i := slices.IndexFunc(applying, func(p policy) bool { return p.Name == quoteIdent(w.name) && !p.Permissive && p.Cmd == w.cmd })
		var got []string
		if i >= 0 {
			for _, e := range []*string{applying[i].Using, applying[i].Check} {
				if e != nil {
					got = append(got, arrayKinds(*e)...)
				}
			}
			slices.Sort(got)
			got = slices.Compact(got)
		}
		if i < 0 || !slices.Equal(got, w.kinds) {
			c.add(CodeKindPolicy, SeverityError, ObjectPolicy, w.name+" on "+t.Name,
				"Run the migration of rls.Generate for this model again: it regenerates the kinds' policies.",
				"policy %s on %s lets the kinds %v through, but the model's kinds say %v, so a kind may see or write rows the model says it may not", w.name, t.Name, got, w.kinds)
		}
	}
}

// arrayKinds returns the text constants of the ARRAY[...] in a policy
// expression as pg_get_expr prints it: ARRAY['a'::text, 'b'::text].
func arrayKinds(expr string) []string {
	var kinds []string
	for _, m := range arrayKindRE.FindAllStringSubmatch(expr, -1) {
		for _, k := range arrayItemRE.FindAllStringSubmatch(m[1], -1) {
			kinds = append(kinds, k[1])
		}
	}
	return kinds
}

var (
	arrayKindRE = regexp.MustCompile(`ARRAY\[([^\]]*)\]`)
	arrayItemRE = regexp.MustCompile(`'([a-z][a-z0-9_]*)'::text`)
)

func (c *checker) helpers(ctx context.Context) error {
	type fn struct {
		Name       string
		Args       string
		Volatility string
		Result     string
	}
	fns, err := query[fn](ctx, c, `
		SELECT format('%I.%I', n.nspname, p.proname), pg_catalog.pg_get_function_identity_arguments(p.oid), p.provolatile::text,
			pg_catalog.format_type(p.prorettype, NULL)
		FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = $1 AND p.prokind = 'f'
		ORDER BY 1, 2`, c.cfg.Schema)
	if err != nil {
		return err
	}
	want := quoteIdent(c.cfg.Schema) + ".current_tenant_id"
	if !slices.ContainsFunc(fns, func(f fn) bool { return f.Name == want && f.Args == "" }) {
		c.add(CodeHelperMissing, SeverityError, ObjectFunction, want+"()",
			"Run the migration of rls.Generate, or pass the helper schema (Config.Schema, --schema).",
			"the helper function %s() does not exist, so no policy can compare rows with the context's tenant", want)
	}
	keyed := map[string]tenancy.KeyType{
		quoteIdent(c.cfg.Schema) + ".current_tenant_id":  c.cfg.TenantKey,
		quoteIdent(c.cfg.Schema) + ".current_subject_id": c.cfg.SubjectKey,
		quoteIdent(c.cfg.Schema) + ".current_actor_id":   c.cfg.SubjectKey,
	}
	for _, f := range fns {
		obj := f.Name + "(" + f.Args + ")"
		if key, ok := keyed[f.Name]; ok && f.Args == "" && f.Result != KeySQLType(key) {
			c.add(CodeHelperKeyType, SeverityError, ObjectFunction, obj,
				"Drop the tenant policies and the helper, then run the migration of rls.Generate for this model; or declare the key type the database has.",
				"helper %s returns %s, but the model declares %s keys, so its policies compare keys of another type", obj, f.Result, key)
		}
		switch f.Volatility {
		case "i":
			c.add(CodeHelperVolatility, SeverityError, ObjectFunction, obj, "ALTER FUNCTION "+obj+" STABLE;",
				"helper %s is IMMUTABLE, so the planner may fold it into a cached plan and reuse one tenant's value for another", obj)
		case "v":
			c.add(CodeHelperVolatility, SeverityWarning, ObjectFunction, obj, "ALTER FUNCTION "+obj+" STABLE;",
				"helper %s is VOLATILE, so it may run once per row and keeps indexes from being used", obj)
		}
	}
	return nil
}

// keyColumns reports tenant and subject columns of the model's tenant
// relations whose type is not one that compares keys of the model's type
// exactly, or whose collation is nondeterministic: under a
// case-insensitive collation 'acme' = 'ACME', so a policy comparing the
// column with current_tenant_id() admits another tenant's rows while the
// guard compares bytes. Domains (citext and the like) are refused too:
// their equality is their own.
func (c *checker) keyColumns(ctx context.Context) error {
	allowed := func(t tenancy.KeyType) []string {
		switch t {
		case tenancy.KeyBigint:
			return []string{"bigint", "integer", "smallint"}
		case tenancy.KeyText:
			return []string{"text", "character varying"}
		}
		return []string{"uuid"}
	}
	var schemas, names, cols, kinds []string
	for _, r := range c.m.TenantRelations() {
		schemas, names, cols, kinds = append(schemas, r.Schema), append(names, r.Name), append(cols, r.TenantColumn), append(kinds, "tenant")
		if r.SubjectColumn != "" {
			schemas, names, cols, kinds = append(schemas, r.Schema), append(names, r.Name), append(cols, r.SubjectColumn), append(kinds, "subject")
		}
	}
	type column struct {
		Relation, Column, Role, Type string
		Deterministic                bool
	}
	found, err := query[column](ctx, c, `
		SELECT format('%I.%I', n.nspname, cl.relname), a.attname::text, m.role,
			pg_catalog.format_type(a.atttypid, NULL), coalesce(coll.collisdeterministic, true)
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS m(schema, name, col, role)
		JOIN pg_catalog.pg_namespace n ON n.nspname = m.schema
		JOIN pg_catalog.pg_class cl ON cl.relnamespace = n.oid AND cl.relname = m.name
		JOIN pg_catalog.pg_attribute a ON a.attrelid = cl.oid AND a.attname = m.col AND NOT a.attisdropped
		LEFT JOIN pg_catalog.pg_collation coll ON coll.oid = a.attcollation
		ORDER BY 1, 2`, schemas, names, cols, kinds)
	if err != nil {
		return err
	}
	for _, f := range found {
		key := c.cfg.TenantKey
		if f.Role == "subject" {
			key = c.cfg.SubjectKey
		}
		obj := f.Relation + "." + quoteIdent(f.Column)
		switch {
		case !slices.Contains(allowed(key), f.Type):
			c.add(CodeKeyColumn, SeverityError, ObjectColumn, obj,
				fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s;", f.Relation, quoteIdent(f.Column), allowed(key)[0]),
				"%s column %s is of type %s, not one that holds the model's %s keys and compares them exactly", f.Role, obj, f.Type, key)
		case !f.Deterministic:
			c.add(CodeKeyColumn, SeverityError, ObjectColumn, obj,
				fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s COLLATE \"C\";", f.Relation, quoteIdent(f.Column), f.Type),
				"%s column %s has a nondeterministic collation, so values that differ (such as in case) compare equal and a policy admits another tenant's rows", f.Role, obj)
		}
	}
	return nil
}

func (c *checker) privileges(ctx context.Context) error {
	if c.appOID != 0 && !c.appSuper {
		type priv struct {
			Table     uint32
			Privilege string
		}
		privs, err := query[priv](ctx, c, `
			SELECT t.oid, p.privilege
			FROM unnest($1::oid[]) AS t(oid)
			CROSS JOIN unnest(ARRAY['TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(privilege)
			WHERE pg_catalog.has_table_privilege($2::oid, t.oid, p.privilege)
			   OR (p.privilege = 'REFERENCES' AND pg_catalog.has_any_column_privilege($2::oid, t.oid, p.privilege))
			ORDER BY 1, 2`, c.tableIDs, c.appOID)
		if err != nil {
			return err
		}
		for _, p := range privs {
			t := c.byOID[p.Table]
			if t.AppOwns { // already reported; owning implies every privilege
				continue
			}
			c.add(CodeAppRolePrivilege, SeverityError, ObjectTable, t.Name,
				fmt.Sprintf("REVOKE %s ON TABLE %s FROM %s; (and from PUBLIC or any role %[3]s is a member of)", p.Privilege, t.Name, c.appName),
				"the app role %s has %s on tenant table %s%s", c.appName, p.Privilege, t.Name, privilegeWhy(p.Privilege))
		}
	}

	type holder struct {
		Table uint32
		Role  string
	}
	holders, err := query[holder](ctx, c, `
		WITH RECURSIVE grants(table_oid, role_oid) AS (
			SELECT c.oid, a.grantee FROM pg_catalog.pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
			WHERE c.oid = ANY($1) AND a.grantee <> c.relowner
			UNION
			SELECT c.oid, a.grantee FROM pg_catalog.pg_class c
			JOIN pg_catalog.pg_attribute att ON att.attrelid = c.oid AND att.attacl IS NOT NULL
			CROSS JOIN LATERAL aclexplode(att.attacl) a
			WHERE c.oid = ANY($1) AND a.grantee <> c.relowner
		), holders(table_oid, role_oid) AS (
			SELECT table_oid, role_oid FROM grants WHERE role_oid <> 0
			UNION
			SELECT h.table_oid, m.member FROM holders h JOIN pg_catalog.pg_auth_members m ON m.roleid = h.role_oid
		)
		SELECT table_oid, 'PUBLIC' FROM grants WHERE role_oid = 0
		UNION
		SELECT h.table_oid, quote_ident(r.rolname)
		FROM holders h
		JOIN pg_catalog.pg_roles r ON r.oid = h.role_oid
		JOIN pg_catalog.pg_class c ON c.oid = h.table_oid
		WHERE (r.rolsuper OR r.rolbypassrls) AND r.oid <> c.relowner AND r.oid <> $2::oid
		ORDER BY 1, 2`, c.tableIDs, c.appOID)
	if err != nil {
		return err
	}
	for _, h := range holders {
		t := c.byOID[h.Table]
		if h.Role == "PUBLIC" {
			c.add(CodePublicAccess, SeverityError, ObjectTable, t.Name, "REVOKE ALL ON TABLE "+t.Name+" FROM PUBLIC;",
				"PUBLIC holds privileges on tenant table %s, so every role, present and future, does", t.Name)
			continue
		}
		c.add(CodeBypassRoleAccess, SeverityError, ObjectRole, h.Role,
			fmt.Sprintf("REVOKE ALL ON TABLE %s FROM %s; or ALTER ROLE %[2]s NOSUPERUSER NOBYPASSRLS;", t.Name, h.Role),
			"role %s is a superuser or has BYPASSRLS and holds privileges on tenant table %s, so it reads every tenant's rows", h.Role, t.Name)
	}
	return nil
}

func privilegeWhy(p string) string {
	switch p {
	case "TRUNCATE":
		return ", and TRUNCATE ignores row-level security: it empties every tenant's rows"
	case "REFERENCES":
		return ", so tables it can create may reference every tenant's keys"
	default:
		return ", so it can attach triggers that run on every tenant's writes"
	}
}

func (c *checker) keys(ctx context.Context) error {
	type index struct {
		Table      uint32
		Name       string // schema-qualified index
		Constraint *string
		Unique     bool
		Keys       []int16
		NKeys      int16
		Raw        []string // the index's and its constraint's unquoted names
	}
	idx, err := query[index](ctx, c, `
		SELECT i.indrelid, format('%I.%I', n.nspname, ic.relname),
			(SELECT quote_ident(con.conname) FROM pg_catalog.pg_constraint con
			 WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u')),
			i.indisunique, i.indkey::int2[], i.indnkeyatts,
			ARRAY[ic.relname::text] || ARRAY(SELECT con.conname::text FROM pg_catalog.pg_constraint con
			 WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u'))
		FROM pg_catalog.pg_index i
		JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
		WHERE i.indrelid = ANY($1)
		ORDER BY 1, 2`, c.tableIDs)
	if err != nil {
		return err
	}
	leading := make(map[uint32]bool)
	for _, ix := range idx {
		t := c.byOID[ix.Table]
		if t.Attnum == 0 {
			continue // reported as tenant-column-missing
		}
		keys := ix.Keys[:min(int(ix.NKeys), len(ix.Keys))]
		if len(keys) > 0 && keys[0] == t.Attnum {
			leading[t.OID] = true
		}
		if !ix.Unique || slices.Contains(keys, t.Attnum) {
			continue
		}
		col := t.Column
		if slices.ContainsFunc(ix.Raw, func(name string) bool { return slices.Contains(t.Relation.Table.AllowUnique, name) }) {
			// The model vouches for it (Table.AllowUnique), but Citus
			// cannot take its word.
			if c.cfg.Citus {
				obj, kind, what := ix.Name, ObjectIndex, "unique index "+ix.Name
				if ix.Constraint != nil {
					obj, kind, what = *ix.Constraint+" on "+t.Name, ObjectConstraint, "unique constraint "+*ix.Constraint
				}
				c.add(CodeCitusUniqueWithoutTenant, SeverityError, kind, obj,
					fmt.Sprintf("Replace it with one on (%s, ...), or keep the table out of Citus; Table.AllowUnique cannot exempt it there.", col),
					"%s on tenant table %s does not include %s; Table.AllowUnique exempts it, but %s", what, t.Name, col, citusRefusesKey)
			}
			continue
		}
		if ix.Constraint != nil {
			obj := *ix.Constraint + " on " + t.Name
			c.add(CodeUniqueWithoutTenant, SeverityError, ObjectConstraint, obj,
				fmt.Sprintf("Replace it with a constraint on (%s, ...) that leads with the tenant column.", col),
				"unique constraint %s on tenant table %s does not include %s, so a unique violation tells one tenant what another stored%s", *ix.Constraint, t.Name, col, c.citusReason(citusRefusesKey))
		} else {
			c.add(CodeUniqueWithoutTenant, SeverityError, ObjectIndex, ix.Name,
				fmt.Sprintf("Replace it with a unique index on (%s, ...).", col),
				"unique index %s on tenant table %s does not include %s, so a unique violation tells one tenant what another stored%s", ix.Name, t.Name, col, c.citusReason(citusRefusesKey))
		}
	}
	for _, t := range c.tables {
		if (t.Kind == "r" || t.Kind == "p") && t.Attnum != 0 && !leading[t.OID] {
			col := t.Column
			c.add(CodeNoTenantIndex, SeverityWarning, ObjectTable, t.Name,
				fmt.Sprintf("Lead the primary key with it: PRIMARY KEY (%s, id), or CREATE INDEX ON %s (%[1]s, ...);", col, t.Name),
				"no index on tenant table %s leads with %s, so every tenant-scoped query reads the whole table", t.Name, col)
		}
	}

	type fk struct {
		Table   uint32
		Ref     uint32
		Name    string
		Keys    []int16
		RefKeys []int16
	}
	fks, err := query[fk](ctx, c, `
		SELECT conrelid, confrelid, quote_ident(conname), conkey, confkey
		FROM pg_catalog.pg_constraint
		WHERE contype = 'f' AND conrelid = ANY($1) AND confrelid = ANY($1) AND conparentid = 0
		ORDER BY 1, 3`, c.tableIDs)
	if err != nil {
		return err
	}
	for _, f := range fks {
		t, ref := c.byOID[f.Table], c.byOID[f.Ref]
		if t.Attnum == 0 || ref.Attnum == 0 {
			continue // reported as tenant-column-missing
		}
		ok := false
		for i := range f.Keys {
			ok = ok || i < len(f.RefKeys) && f.Keys[i] == t.Attnum && f.RefKeys[i] == ref.Attnum
		}
		if ok {
			continue
		}
		c.add(CodeForeignKeyWithoutTenant, SeverityError, ObjectConstraint, f.Name+" on "+t.Name,
			fmt.Sprintf("Reference (%s, id): FOREIGN KEY (%[1]s, ...) REFERENCES %s (%s, ...), with a unique key on %[2]s (%[3]s, id).", t.Column, ref.Name, ref.Column),
			"foreign key %s from %s to %s does not match %s to %s, so a row can point at another tenant's row, and the key check (which ignores row-level security) reveals whether it exists%s",
			f.Name, t.Name, ref.Name, t.Column, ref.Column,
			c.citusReason("Citus also refuses it between distributed tables, whose foreign keys must match distribution column to distribution column"))
	}
	return c.exclusions(ctx)
}

func (c *checker) sequences(ctx context.Context) error {
	type col struct {
		Table    uint32
		Column   string
		Identity bool
		Usable   bool
	}
	// A sequence default counts only where the app role can advance or
	// read its sequence (USAGE, UPDATE or SELECT, which nextval, setval,
	// currval and a SELECT of it need): a counter it cannot touch tells it
	// nothing, and its insert that relies on the default fails. An
	// identity column is always counted: its sequence needs no privilege.
	// A default that names no sequence by dependency (nextval of a text
	// expression) is counted too.
	cols, err := query[col](ctx, c, `
		SELECT a.attrelid, quote_ident(a.attname), a.attidentity <> '',
			a.attidentity <> '' OR $2::oid = 0 OR $3 OR coalesce((
				SELECT bool_or(pg_catalog.has_sequence_privilege($2::oid, dep.refobjid, 'USAGE, UPDATE, SELECT'))
				FROM pg_catalog.pg_depend dep
				JOIN pg_catalog.pg_class sq ON sq.oid = dep.refobjid AND sq.relkind = 'S'
				WHERE dep.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND dep.objid = d.oid
				  AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass), true)
		FROM pg_catalog.pg_attribute a
		LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
		  AND (a.attidentity <> '' OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%')
		ORDER BY 1, 2`, c.tableIDs, c.appOID, c.appSuper)
	if err != nil {
		return err
	}
	for _, cl := range cols {
		if !cl.Usable {
			continue
		}
		t := c.byOID[cl.Table]
		what := "a sequence default"
		if cl.Identity {
			what = "an identity"
		}
		c.add(CodeSequenceDefault, SeverityWarning, ObjectColumn, t.Name+"."+cl.Column,
			"Use ids made by the application (UUIDv7), and per-tenant counters for human-facing numbers; or revoke the app role's privileges on the sequence.",
			"column %s of tenant table %s has %s shared by all tenants that the app role can use, so each tenant can watch the others' volume", cl.Column, t.Name, what)
	}
	return nil
}

func (c *checker) definers(ctx context.Context) error {
	type fn struct {
		Raw        string
		Name       string
		Args       string
		SearchPath bool
	}
	fns, err := query[fn](ctx, c, `
		SELECT n.nspname || '.' || p.proname, format('%I.%I', n.nspname, p.proname),
			pg_catalog.pg_get_function_identity_arguments(p.oid),
			EXISTS (SELECT FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%')
		FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE p.prosecdef AND `+userSchemas+`
		  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
			WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
		ORDER BY 2, 3`)
	if err != nil {
		return err
	}
	for _, f := range fns {
		obj := f.Name + "(" + f.Args + ")"
		if !slices.Contains(c.cfg.AllowDefiner, f.Raw) && !slices.Contains(c.cfg.PreAuth, f.Raw) {
			c.add(CodeSecurityDefiner, SeverityError, ObjectFunction, obj,
				"ALTER FUNCTION "+obj+" SECURITY INVOKER; or, if it is the narrow sign-in lookup, declare it (Config.PreAuth, or Config.AllowDefiner, --allow-definer "+f.Raw+").",
				"function %s is SECURITY DEFINER and not on the allow-list, so it runs with its owner's rights, past the policies that bind the caller", obj)
		}
		if !f.SearchPath {
			c.add(CodeDefinerSearchPath, SeverityError, ObjectFunction, obj,
				"ALTER FUNCTION "+obj+" SET search_path = pg_catalog, pg_temp;",
				"SECURITY DEFINER function %s has no fixed search_path, so a caller can make it run their objects with its owner's rights", obj)
		}
	}
	return nil
}

func (c *checker) views(ctx context.Context) error {
	type view struct {
		Name    string
		Kind    string
		Invoker bool
		Over    string
	}
	views, err := query[view](ctx, c, `
		WITH RECURSIVE over(view_oid, table_oid) AS (
			SELECT r.ev_class, d.refobjid
			FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
			WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
			  AND d.refobjid = ANY($1) AND r.ev_class <> d.refobjid
			UNION
			SELECT r.ev_class, over.table_oid
			FROM over
			JOIN pg_catalog.pg_depend d ON d.refobjid = over.view_oid
				AND d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
			JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
			WHERE r.ev_class <> over.view_oid
		)
		SELECT format('%I.%I', n.nspname, v.relname), v.relkind::text,
			coalesce(EXISTS (SELECT FROM unnest(v.reloptions) o
				WHERE lower(o) IN ('security_invoker=true', 'security_invoker=on', 'security_invoker=1', 'security_invoker=yes')), false),
			min(format('%I.%I', tn.nspname, t.relname))
		FROM over
		JOIN pg_catalog.pg_class v ON v.oid = over.view_oid
		JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace
		JOIN pg_catalog.pg_class t ON t.oid = over.table_oid
		JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
		WHERE v.relkind IN ('v', 'm')
		GROUP BY 1, 2, 3
		ORDER BY 1`, c.tableIDs)
	if err != nil {
		return err
	}
	for _, v := range views {
		switch {
		case v.Kind == "m":
			c.add(CodeMaterializedView, SeverityError, ObjectView, v.Name,
				"DROP MATERIALIZED VIEW "+v.Name+"; use a view WITH (security_invoker = true) or a tenant table kept up to date.",
				"materialized view %s stores rows of tenant table %s, and row-level security does not apply to it", v.Name, v.Over)
		case !v.Invoker:
			c.add(CodeViewNotSecurityInvoker, SeverityError, ObjectView, v.Name,
				"ALTER VIEW "+v.Name+" SET (security_invoker = true);",
				"view %s reads tenant table %s with its owner's rights, not the caller's, so the caller's policies do not apply", v.Name, v.Over)
		}
	}
	return nil
}

// policyFunctions checks the user-defined functions that policies on
// tenant tables call (those of the helper schema are checked by helpers,
// but for their rights): a SECURITY DEFINER one runs with its owner's
// rights inside every policy check; an IMMUTABLE one that reads the
// context may be folded into a plan that another tenant reuses; a
// VOLATILE one runs per row.
func (c *checker) policyFunctions(ctx context.Context) error {
	type fn struct {
		OID          uint32
		Name         string
		Volatility   string
		Definer      bool
		ReadsContext bool
		InHelpers    bool
		Policy       string
	}
	fns, err := query[fn](ctx, c, `
		SELECT p.oid, format('%I.%I', n.nspname, p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
			p.provolatile::text, p.prosecdef,
			p.prosrc ~ 'current_setting|current_tenant_id|current_subject_id|principal_kind|current_roles|current_actor_id',
			n.nspname = $2,
			min(quote_ident(pol.polname) || ' on ' || format('%I.%I', tn.nspname, t.relname))
		FROM pg_catalog.pg_policy pol
		JOIN pg_catalog.pg_class t ON t.oid = pol.polrelid
		JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
		JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_policy'::regclass AND d.objid = pol.oid
			AND d.refclassid = 'pg_catalog.pg_proc'::regclass
		JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
		JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE pol.polrelid = ANY($1) AND `+userSchemas+`
		GROUP BY 1, 2, 3, 4, 5, 6
		ORDER BY 2`, c.tableIDs, c.cfg.Schema)
	if err != nil {
		return err
	}
	for _, f := range fns {
		c.fnIDs = append(c.fnIDs, f.OID)
		if f.Definer {
			c.add(CodePolicyDefiner, SeverityError, ObjectFunction, f.Name, "ALTER FUNCTION "+f.Name+" SECURITY INVOKER;",
				"function %s, called by policy %s, is SECURITY DEFINER, so it reads with its owner's rights, past row-level security, while deciding what the caller may see", f.Name, f.Policy)
		}
		if f.InHelpers {
			continue // helpers reports its volatility
		}
		switch {
		case f.Volatility == "i" && f.ReadsContext:
			c.add(CodeHelperVolatility, SeverityError, ObjectFunction, f.Name, "ALTER FUNCTION "+f.Name+" STABLE;",
				"function %s, called by policy %s, reads the tenant context but is IMMUTABLE, so the planner may fold one tenant's value into a plan that another reuses", f.Name, f.Policy)
		case f.Volatility == "v":
			c.add(CodeHelperVolatility, SeverityWarning, ObjectFunction, f.Name, "ALTER FUNCTION "+f.Name+" STABLE; if it has no side effects.",
				"function %s, called by policy %s, is VOLATILE, so it may run once per row and keeps indexes from being used", f.Name, f.Policy)
		}
	}
	return nil
}

// appReach reports what lets the app role change the objects that
// isolation rests on: owning objects (an owner can replace a function,
// alter a view, drop what is in its schema), or creating objects in a
// schema or the database (a function or operator that shadows one on
// another role's search_path, or a schema named after another role, which
// "$user" puts first on that role's path). Temporary objects are fine.
func (c *checker) appReach(ctx context.Context) error {
	if c.appOID == 0 || c.appSuper {
		return nil
	}
	type obj struct {
		Kind string
		Name string
		Own  bool // owns it (else may create in it)
	}
	objs, err := query[obj](ctx, c, `
		SELECT 'schema', quote_ident(n.nspname), true
		FROM pg_catalog.pg_namespace n
		WHERE `+userSchemas+` AND (n.nspowner = $1 OR (n.nspname = $2 AND pg_catalog.pg_has_role($1, n.nspowner, 'MEMBER')))
		UNION ALL
		SELECT 'function', format('%I.%I', n.nspname, p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', true
		FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE `+userSchemas+` AND (p.proowner = $1
			OR ((n.nspname = $2 OR p.oid = ANY($3)) AND pg_catalog.pg_has_role($1, p.proowner, 'MEMBER')))
		UNION ALL
		SELECT CASE WHEN c.relkind IN ('v', 'm') THEN 'view' WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END,
			format('%I.%I', n.nspname, c.relname), true
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE `+userSchemas+` AND c.relowner = $1 AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND NOT c.oid = ANY($4)
		UNION ALL
		SELECT 'schema', quote_ident(n.nspname), false
		FROM pg_catalog.pg_namespace n
		WHERE `+userSchemas+` AND pg_catalog.has_schema_privilege($1, n.oid, 'CREATE')
			AND NOT pg_catalog.pg_has_role($1, n.nspowner, 'MEMBER')
		UNION ALL
		SELECT 'database', quote_ident(d.datname), false
		FROM pg_catalog.pg_database d
		WHERE d.datname = pg_catalog.current_database() AND pg_catalog.has_database_privilege($1, d.oid, 'CREATE')
			AND NOT pg_catalog.pg_has_role($1, d.datdba, 'MEMBER')
		ORDER BY 1, 2`, c.appOID, c.cfg.Schema, c.fnIDs, c.allIDs)
	if err != nil {
		return err
	}
	for _, o := range objs {
		kind := ObjectKind(o.Kind)
		if o.Own {
			c.add(CodeAppRoleOwnsObject, SeverityError, kind, o.Name,
				fmt.Sprintf("ALTER %s %s OWNER TO <owner role>; the app role must own nothing, and be a member of no owner.", strings.ToUpper(o.Kind), o.Name),
				"the app role %s owns %s %s (or can act as its owner), so it can replace or drop what the isolation relies on", c.appName, o.Kind, o.Name)
			continue
		}
		c.add(CodeAppRoleCreate, SeverityError, kind, o.Name,
			fmt.Sprintf("REVOKE CREATE ON %s %s FROM PUBLIC, %s;", strings.ToUpper(o.Kind), o.Name, c.appName),
			"the app role %s may create objects in %s %s, such as functions, operators or schemas that shadow those another role's search_path finds", c.appName, o.Kind, o.Name)
	}
	return nil
}

// defaultPrivileges reports default privileges (ALTER DEFAULT PRIVILEGES)
// that would give a new table to PUBLIC, or TRUNCATE, REFERENCES or
// TRIGGER on it to the app role, before any policy is on it.
func (c *checker) defaultPrivileges(ctx context.Context) error {
	type def struct {
		Object     string
		Grantee    string
		Privileges string
	}
	defs, err := query[def](ctx, c, `
		SELECT quote_ident(pg_catalog.pg_get_userbyid(d.defaclrole)) || coalesce(' in schema ' || quote_ident(n.nspname), ''),
			CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
			string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type)
		FROM pg_catalog.pg_default_acl d
		LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
		CROSS JOIN LATERAL aclexplode(d.defaclacl) a
		WHERE d.defaclobjtype = 'r' AND (a.grantee = 0
			OR ($1::oid <> 0 AND a.privilege_type IN ('TRUNCATE', 'REFERENCES', 'TRIGGER') AND pg_catalog.pg_has_role($1::oid, a.grantee, 'USAGE')))
		GROUP BY 1, 2
		ORDER BY 1, 2`, c.appOID)
	if err != nil {
		return err
	}
	for _, d := range defs {
		c.add(CodeDefaultPrivileges, SeverityError, ObjectDefaultPrivileges, d.Object,
			fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s REVOKE %s ON TABLES FROM %s;", d.Object, d.Privileges, d.Grantee),
			"default privileges of %s give %s %s on every new table, before any policy is on it", d.Object, d.Grantee, d.Privileges)
	}
	return nil
}

// auditOwner reports the audit objects (the schemas of the model's audit
// tables, and the relations and functions in them) that another role than
// the audit role owns, or whose owner the app, owner or platform role can
// act as (CodeAuditOwner).
func (c *checker) auditOwner(ctx context.Context) error {
	var schemas []string
	for _, t := range c.m.tables {
		if t.Audit && !slices.Contains(schemas, t.schema) {
			schemas = append(schemas, t.schema)
		}
	}
	if len(schemas) == 0 {
		return nil
	}
	auditRole := quoteIdent(c.cfg.AuditRole)
	fix := "Re-run the audit schema (audit.Schema) as an administrator who can SET ROLE to " + auditRole + "."
	type found struct{ Exists bool }
	roles, err := query[found](ctx, c, `SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = $1)`, c.cfg.AuditRole)
	if err != nil {
		return err
	}
	if !roles[0].Exists {
		c.add(CodeAuditOwner, SeverityError, ObjectRole, auditRole, "Create it (tenancy rls roles), then "+fix,
			"the audit role %s does not exist, so another role owns the audit log and can rewrite it", auditRole)
	}
	type object struct {
		Kind, Name, Owner string
		IsAudit           bool
		Actors            string
	}
	objs, err := query[object](ctx, c, `
		WITH o(kind, name, owner) AS (
			SELECT 'schema', quote_ident(n.nspname), n.nspowner
			FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY ($1)
			UNION ALL
			SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END,
				pg_catalog.format('%I.%I', n.nspname, c.relname), c.relowner
			FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')
			UNION ALL
			SELECT 'function', p.oid::pg_catalog.regprocedure::text, p.proowner
			FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = ANY ($1)
		)
		SELECT o.kind, o.name, quote_ident(pg_catalog.pg_get_userbyid(o.owner)),
			COALESCE(pg_catalog.pg_get_userbyid(o.owner) = $2, false),
			COALESCE((SELECT pg_catalog.string_agg(quote_ident(r.rolname), ', ' ORDER BY r.rolname)
				FROM pg_catalog.pg_roles r
				WHERE r.rolname = ANY ($3) AND (r.rolsuper OR pg_catalog.pg_has_role(r.oid, o.owner, 'MEMBER'))), '')
		FROM o ORDER BY 1, 2`,
		schemas, c.cfg.AuditRole, []string{c.cfg.OwnerRole, c.cfg.AppRole, c.cfg.PlatformRole})
	if err != nil {
		return err
	}
	for _, o := range objs {
		kind := ObjectKind(o.Kind)
		switch {
		case !o.IsAudit:
			c.add(CodeAuditOwner, SeverityError, kind, o.Name, fix,
				"audit %s %s is owned by %s, not by the audit role %s: its owner can disable the append-only triggers and rewrite the log", o.Kind, o.Name, o.Owner, auditRole)
		case o.Actors != "":
			c.add(CodeAuditOwner, SeverityError, kind, o.Name, "REVOKE "+auditRole+" FROM "+o.Actors+";",
				"%s can act as the audit role %s, which owns audit %s %s, and so rewrite the log", o.Actors, auditRole, o.Kind, o.Name)
		}
	}
	return nil
}
