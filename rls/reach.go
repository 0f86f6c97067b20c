package rls

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// This file holds the rules about objects that run or show rows with
// rights other than the caller's: exclusion constraints (an oracle, like
// unique ones), rewrite rules, triggers, grants to PUBLIC and beyond
// PostgreSQL's defaults, and large objects.

// exclusions reports exclusion constraints on tenant tables that do not
// compare the tenant column with =: a conflict with another tenant's row
// is an error that tells one tenant what another stored.
func (c *checker) exclusions(ctx context.Context) error {
	type excl struct {
		Table uint32
		Name  string
		Keys  []int16
		Ops   []string
	}
	exs, err := query[excl](ctx, c, `
		SELECT con.conrelid, quote_ident(con.conname), con.conkey,
			ARRAY(SELECT o.oprname::text FROM unnest(con.conexclop) WITH ORDINALITY AS x(op, i)
				JOIN pg_catalog.pg_operator o ON o.oid = x.op ORDER BY x.i)
		FROM pg_catalog.pg_constraint con
		WHERE con.contype = 'x' AND con.conrelid = ANY($1)
		ORDER BY 1, 2`, c.tableIDs)
	if err != nil {
		return err
	}
	for _, x := range exs {
		t := c.byOID[x.Table]
		if t.Attnum == 0 {
			continue // reported as tenant-column-missing
		}
		scoped := false
		for i, k := range x.Keys {
			scoped = scoped || k == t.Attnum && i < len(x.Ops) && x.Ops[i] == "="
		}
		if scoped {
			continue
		}
		c.add(CodeExclusionWithoutTenant, SeverityError, ObjectConstraint, x.Name+" on "+t.Name,
			fmt.Sprintf("Add the tenant column to it: EXCLUDE USING gist (%s WITH =, ...) (btree_gist gives = for scalar types).", t.Column),
			"exclusion constraint %s on tenant table %s does not compare %s with =, so a conflict with another tenant's row tells one tenant what another stored%s", x.Name, t.Name, t.Column, c.citusReason(citusRefusesKey))
	}
	return nil
}

// rules reports rewrite rules (other than the _RETURN rule of a view)
// whose actions name a relation other than their own. A rule's actions
// are checked with the rights of the owner of the rule's relation, not
// the caller's, so they reach, past row-level security when that owner
// bypasses it, what the caller cannot.
func (c *checker) rules(ctx context.Context) error {
	type rule struct {
		Name    string
		Owner   string
		Bypass  bool
		Names   string // every relation its actions name
		Tenants *string
	}
	rules, err := query[rule](ctx, c, `
		SELECT quote_ident(r.rulename) || ' on ' || format('%I.%I', n.nspname, c.relname),
			quote_ident(pg_catalog.pg_get_userbyid(c.relowner)), o.rolsuper OR o.rolbypassrls,
			string_agg(DISTINCT format('%I.%I', tn.nspname, t.relname), ', '),
			string_agg(DISTINCT format('%I.%I', tn.nspname, t.relname), ', ') FILTER (WHERE t.oid = ANY($1))
		FROM pg_catalog.pg_rewrite r
		JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_catalog.pg_roles o ON o.oid = c.relowner
		JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
			AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class
		JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
		JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
		WHERE NOT (r.rulename = '_RETURN' AND r.ev_type = '1') AND `+userSchemas+`
		GROUP BY 1, 2, 3
		ORDER BY 1`, c.allIDs)
	if err != nil {
		return err
	}
	for _, r := range rules {
		what := "relations " + r.Names
		if r.Tenants != nil {
			what = "tenant relations " + *r.Tenants
		}
		bypass := ""
		if r.Bypass {
			bypass = ", a role that row-level security does not bind"
		}
		on := r.Name[strings.LastIndex(r.Name, " on ")+len(" on "):]
		c.add(CodeRewriteRule, SeverityError, ObjectRule, r.Name,
			fmt.Sprintf("DROP RULE %s; use a trigger whose function is SECURITY INVOKER, which runs with the caller's rights.", r.Name),
			"rule %s reaches %s with the rights of %s, the owner of %s%s, not the caller's, so any role that can fire it reads or writes them past the caller's privileges and policies", r.Name, what, r.Owner, on, bypass)
	}
	return nil
}

// triggers reports triggers, on any relation, whose functions are SECURITY
// DEFINER or written in an untrusted language. Such a function runs on
// every write of every role with its owner's rights (or any rights at
// all), and which tables it touches cannot be known: PL/pgSQL bodies are
// not in pg_depend. So every one is reported, whatever it touches. A
// SECURITY INVOKER function in a trusted language runs with the rights of
// the role whose write fired it, so its owner does not matter.
func (c *checker) triggers(ctx context.Context) error {
	type trig struct {
		Name     string
		Function string
		Definer  bool
		Language string
		Owner    string
		Bypass   bool
	}
	trigs, err := query[trig](ctx, c, `
		SELECT quote_ident(t.tgname) || ' on ' || format('%I.%I', n.nspname, c.relname),
			format('%I.%I', pn.nspname, p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
			p.prosecdef, quote_ident(l.lanname), quote_ident(o.rolname), o.rolsuper OR o.rolbypassrls
		FROM pg_catalog.pg_trigger t
		JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
		JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
		JOIN pg_catalog.pg_language l ON l.oid = p.prolang
		JOIN pg_catalog.pg_roles o ON o.oid = p.proowner
		WHERE NOT t.tgisinternal AND `+userSchemas+`
		  AND (p.prosecdef OR (NOT l.lanpltrusted AND l.lanname <> 'internal'
			AND pn.nspname NOT IN ('pg_catalog', 'information_schema')
			AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
				WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')))
		ORDER BY 1`)
	if err != nil {
		return err
	}
	for _, t := range trigs {
		bypass := ""
		if t.Bypass {
			bypass = ", a role that row-level security does not bind"
		}
		if t.Definer {
			c.add(CodeTriggerDefiner, SeverityError, ObjectTrigger, t.Name,
				"ALTER FUNCTION "+t.Function+" SECURITY INVOKER; a trigger then runs with the rights of the role whose write fired it.",
				"trigger %s runs SECURITY DEFINER function %s with the rights of its owner %s%s on every write; what it reads or writes is not known to the catalog (PL/pgSQL bodies are not in pg_depend), so it may reach tenant relations past row-level security", t.Name, t.Function, t.Owner, bypass)
			continue
		}
		c.add(CodeTriggerUntrusted, SeverityError, ObjectTrigger, t.Name,
			"Rewrite "+t.Function+" in a trusted language (SQL, PL/pgSQL) as SECURITY INVOKER.",
			"trigger %s runs function %s, written in the untrusted language %s, on every write; untrusted code is not bound by privileges or policies", t.Name, t.Function, t.Language)
	}
	return nil
}

// publicGrants reports privileges of PUBLIC on relations other than tenant
// tables (those are public-access) and SECURITY DEFINER functions that
// PUBLIC may run. PUBLIC is every role, present and future, not only the
// ones the model knows. Grants that PostgreSQL or an extension made when
// the object was created (pg_init_privs) are left out: the rules about
// what the app role reaches report those that matter.
func (c *checker) publicGrants(ctx context.Context) error {
	type grant struct {
		OID        uint32
		Name       string
		Kind       string
		Privileges []string
	}
	grants, err := query[grant](ctx, c, `
		SELECT c.oid, format('%I.%I', n.nspname, c.relname), c.relkind::text,
			array_agg(DISTINCT a.privilege_type ORDER BY a.privilege_type)
		FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		CROSS JOIN LATERAL (
			SELECT e.grantee, e.privilege_type FROM aclexplode(c.relacl) e
			UNION ALL
			SELECT e.grantee, e.privilege_type FROM pg_catalog.pg_attribute att CROSS JOIN LATERAL aclexplode(att.attacl) e
			WHERE att.attrelid = c.oid AND att.attacl IS NOT NULL
		) a
		WHERE a.grantee = 0 AND c.relkind IN `+relationKinds+` AND `+userSchemas+` AND NOT c.oid = ANY($1)
		  AND NOT EXISTS (SELECT FROM pg_catalog.pg_init_privs i CROSS JOIN LATERAL aclexplode(i.initprivs) b
			WHERE i.objoid = c.oid AND i.classoid = 'pg_catalog.pg_class'::regclass AND b.grantee = 0 AND b.privilege_type = a.privilege_type)
		GROUP BY 1, 2, 3
		ORDER BY 2`, c.tableIDs)
	if err != nil {
		return err
	}
	for _, g := range grants {
		sev, class := SeverityError, c.known[g.OID]
		if class == ClassRegistry && slices.Equal(g.Privileges, []string{"SELECT"}) {
			sev = SeverityWarning // shared rows, but read by roles the model does not know
		}
		c.add(CodePublicGrant, sev, relationObjectKind(g.Kind), g.Name,
			fmt.Sprintf("REVOKE ALL ON TABLE %s FROM PUBLIC; and grant what the app role needs to it alone (rls.Generate does).", g.Name),
			"PUBLIC holds %s on %s %s (%s in the model), so every role, present and future, does", strings.Join(g.Privileges, ", "), relkindName(g.Kind), g.Name, class)
	}

	type fn struct {
		Name string
		Raw  string
	}
	fns, err := query[fn](ctx, c, `
		SELECT format('%I.%I', n.nspname, p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
			n.nspname || '.' || p.proname
		FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE p.prosecdef AND `+userSchemas+`
		  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
			WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
		  AND EXISTS (SELECT FROM aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
			WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
		ORDER BY 1`)
	if err != nil {
		return err
	}
	for _, f := range fns {
		c.add(CodePublicDefiner, SeverityError, ObjectFunction, f.Name,
			fmt.Sprintf("REVOKE ALL ON FUNCTION %s FROM PUBLIC; GRANT EXECUTE ON FUNCTION %[1]s TO %s;", f.Name, c.appName),
			"PUBLIC may run SECURITY DEFINER function %s (PostgreSQL grants EXECUTE to PUBLIC on every new function), so every role, present and future, runs it with its owner's rights", f.Name)
	}
	return nil
}

// functionGrants reports EXECUTE on built-in and extension functions that
// the app role holds (directly, through PUBLIC or a role it is a member
// of) beyond the privileges they were created with (pg_init_privs):
// PostgreSQL keeps functions such as pg_read_file, lo_import and
// pg_terminate_backend's siblings from PUBLIC on purpose.
func (c *checker) functionGrants(ctx context.Context) error {
	if c.appOID == 0 || c.appSuper {
		return nil
	}
	type fn struct {
		Name    string
		Grantee string
	}
	fns, err := query[fn](ctx, c, `
		SELECT format('%I.%I', n.nspname, p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
			string_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, ', ')
		FROM pg_catalog.pg_proc p
		JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		CROSS JOIN LATERAL aclexplode(p.proacl) a
		WHERE p.proacl IS NOT NULL AND a.privilege_type = 'EXECUTE' AND (a.grantee = 0 OR a.grantee = ANY($1))
		  AND (n.nspname IN ('pg_catalog', 'information_schema') OR EXISTS (SELECT FROM pg_catalog.pg_depend d
			WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'))
		  AND NOT EXISTS (SELECT FROM aclexplode(coalesce(
				(SELECT i.initprivs FROM pg_catalog.pg_init_privs i
				 WHERE i.objoid = p.oid AND i.classoid = 'pg_catalog.pg_proc'::regclass AND i.objsubid = 0),
				pg_catalog.acldefault('f', p.proowner))) b
			WHERE b.privilege_type = 'EXECUTE' AND b.grantee IN (0, a.grantee))
		GROUP BY 1
		ORDER BY 1`, c.up)
	if err != nil {
		return err
	}
	for _, f := range fns {
		c.add(CodeFunctionGrant, SeverityError, ObjectFunction, f.Name,
			fmt.Sprintf("REVOKE EXECUTE ON FUNCTION %s FROM %s;", f.Name, f.Grantee),
			"the app role %s may run %s through a grant to %s that PostgreSQL does not make (pg_init_privs): such functions read server files, large objects or other sessions, past row-level security", c.appName, f.Name, f.Grantee)
	}
	return nil
}

// largeObjects reports large objects the app role can read or write, and
// lo_compat_privileges, which lets every role read and write them all.
// Large objects have no tenant column and no row-level security.
func (c *checker) largeObjects(ctx context.Context) error {
	if c.appOID == 0 || c.appSuper {
		return nil
	}
	type lo struct {
		Database string
		Count    int64
		First    string
		Compat   bool
		Setting  bool
	}
	rows, err := query[lo](ctx, c, `
		SELECT quote_ident(pg_catalog.current_database()),
			(SELECT count(*) FROM pg_catalog.pg_largeobject_metadata m WHERE `+readableLO+`),
			coalesce((SELECT string_agg(oid::text, ', ') FROM (SELECT m.oid FROM pg_catalog.pg_largeobject_metadata m
				WHERE `+readableLO+` ORDER BY m.oid LIMIT 5) f), ''),
			EXISTS (SELECT FROM pg_catalog.pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) AS g(setting)
				WHERE s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))
				  AND (s.setrole = 0 OR s.setrole = ANY($1))
				  AND lower(split_part(g.setting, '=', 1)) = 'lo_compat_privileges'
				  AND lower(trim(substr(g.setting, strpos(g.setting, '=') + 1))) IN ('on', 'true', 'yes', '1', 't', 'y')),
			pg_catalog.current_setting('lo_compat_privileges')::boolean`, c.up)
	if err != nil {
		return err
	}
	r := rows[0]
	if r.Compat || r.Setting {
		c.add(CodeLargeObjectCompat, SeverityError, ObjectSetting, "lo_compat_privileges",
			"ALTER SYSTEM RESET lo_compat_privileges; (and ALTER DATABASE or ALTER ROLE ... RESET lo_compat_privileges where it is set), then reload.",
			"lo_compat_privileges is on for the app role %s in database %s, so every role reads and writes every large object, whoever stored it", c.appName, r.Database)
	}
	if r.Count > 0 {
		c.add(CodeLargeObject, SeverityError, ObjectDatabase, r.Database,
			"Keep tenant files in tenant tables (bytea) under row-level security; REVOKE ALL ON LARGE OBJECT <oid> FROM PUBLIC, the app role; or lo_unlink them.",
			"the app role %s can read or write %d large objects in database %s (%s...), which have no tenant column and no row-level security", c.appName, r.Count, r.Database, r.First)
	}
	return nil
}

// readableLO holds for a large object m that a role of $1 (the app role
// and the roles it is a member of) owns or has SELECT or UPDATE on,
// directly or through PUBLIC.
const readableLO = `(m.lomowner = ANY($1) OR EXISTS (SELECT FROM aclexplode(m.lomacl) a
	WHERE (a.grantee = 0 OR a.grantee = ANY($1)) AND a.privilege_type IN ('SELECT', 'UPDATE')))`
