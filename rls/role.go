package rls

import (
	"context"
	"fmt"
)

// CheckRole runs the role rules of [Check] on the app role of m
// ([Config.AppRole]) and returns their findings, sorted: the role, or a
// role it is a member of (directly or through others, whether it inherits
// its privileges or may only SET ROLE to it), is a superuser
// ([CodeAppRoleSuperuser]), has BYPASSRLS ([CodeAppRoleBypassRLS]),
// CREATEROLE ([CodeAppRoleCreateRole]) or REPLICATION
// ([CodeAppRoleReplication]), is a predefined role that reaches outside
// the database or across tenants ([CodeAppRolePredefined]), or owns a
// tenant relation of m, its partitions and children included
// ([CodeAppRoleOwner]). Check runs the same rules; [CheckCurrentRole]
// runs them on the role a connection runs as.
//
// It reads only catalogs that every role may read. It is safe for
// concurrent use if db is, and returns the same errors as Check.
func CheckRole(ctx context.Context, db Querier, m *Model) ([]Finding, error) {
	return checkRole(ctx, db, m, false)
}

// CheckCurrentRole is [CheckRole] for the role that db's session runs as
// (current_user), which need not be m's app role: a pool connected as the
// owner by mistake is refused for owning the tenant relations. tenantdb
// and tenantbun run it at start-up.
func CheckCurrentRole(ctx context.Context, db Querier, m *Model) ([]Finding, error) {
	return checkRole(ctx, db, m, true)
}

func checkRole(ctx context.Context, db Querier, m *Model, current bool) ([]Finding, error) {
	c, err := newChecker(db, m, current)
	if err != nil {
		return nil, err
	}
	return c.run(ctx, []step{
		{"app role", c.appRole},
		{"model relations", c.loadRelations},
		{"role", c.roleRules},
	}, nil)
}

// predefined is what a predefined role lets its members do, and how much
// that matters here. Roles not listed are reported as warnings, unknown;
// pg_database_owner is nobody's by grant (the database's owner holds it
// implicitly) and pg_use_reserved_connections only takes a reserved
// connection slot, so neither is listed.
var predefined = map[string]struct {
	sev   Severity
	power string
}{
	"pg_execute_server_program":   {SeverityError, "runs programs on the database server as its operating-system user (COPY ... TO PROGRAM), past every privilege and policy"},
	"pg_read_server_files":        {SeverityError, "reads any file the server can read (COPY ... FROM a file), every tenant's data files included"},
	"pg_write_server_files":       {SeverityError, "writes any file the server can write (COPY ... TO a file), its configuration included"},
	"pg_read_all_data":            {SeverityError, "has SELECT on every table, view and sequence, so it reads the relations the model keeps from it, and every tenant's rows in any table without row-level security"},
	"pg_write_all_data":           {SeverityError, "has INSERT, UPDATE and DELETE on every table, so it writes the relations the model keeps from it, and every tenant's rows in any table without row-level security"},
	"pg_read_all_stats":           {SeverityError, "reads every session's statement text (pg_stat_activity, pg_stat_statements), with the literals of other tenants' queries"},
	"pg_monitor":                  {SeverityError, "is pg_read_all_stats, pg_read_all_settings and pg_stat_scan_tables at once, so it reads every session's statement text"},
	"pg_create_subscription":      {SeverityError, "creates subscriptions, which connect from the server to any host and write the rows they receive into its tables"},
	"pg_signal_backend":           {SeverityWarning, "cancels and terminates other sessions' queries, other tenants' requests included, though it reads no rows"},
	"pg_read_all_settings":        {SeverityWarning, "reads every setting, those only superusers may see included (file paths, preloaded libraries)"},
	"pg_stat_scan_tables":         {SeverityWarning, "runs monitoring functions (pgstattuple, pg_visibility) that lock any table and count its rows, so it sees every tenant's volume"},
	"pg_checkpoint":               {SeverityWarning, "forces checkpoints, which slow every tenant's writes"},
	"pg_maintain":                 {SeverityWarning, "runs VACUUM, ANALYZE, REINDEX, CLUSTER, REFRESH MATERIALIZED VIEW and LOCK TABLE on every relation, so it can stall every tenant"},
	"pg_signal_autovacuum_worker": {SeverityWarning, "cancels and terminates autovacuum workers, so tables bloat for every tenant"},
}

// roleRules reports what lets the app role (or current_user) bypass
// row-level security, act as another role, or reach outside the database.
func (c *checker) roleRules(ctx context.Context) error {
	if c.appOID == 0 {
		return nil // reported as app-role-missing
	}
	who := "the app role " + c.appName
	if c.current {
		who = "the role " + c.appName
	}
	type up struct {
		Name        string
		Raw         string
		Self        bool
		Predefined  bool
		Super       bool
		BypassRLS   bool
		CreateRole  bool
		Replication bool
		Via         string // the role the app role is a direct member of, on the way
	}
	ups, err := query[up](ctx, c, `
		WITH RECURSIVE up(oid, via) AS (
			SELECT $1::oid, $1::oid
			UNION
			SELECT m.roleid, CASE WHEN up.oid = $1::oid THEN m.roleid ELSE up.via END
			FROM pg_catalog.pg_auth_members m JOIN up ON m.member = up.oid
		)
		SELECT DISTINCT ON (r.rolname) quote_ident(r.rolname), r.rolname, r.oid = $1, r.oid < 16384 AND r.rolname LIKE 'pg\_%',
			r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolreplication, quote_ident(pg_catalog.pg_get_userbyid(up.via))
		FROM up JOIN pg_catalog.pg_roles r ON r.oid = up.oid
		ORDER BY r.rolname, up.via`, c.appOID)
	if err != nil {
		return err
	}
	for _, u := range ups {
		is, has := "is", "has"
		fix := func(attr string) string { return "ALTER ROLE " + c.appName + " NO" + attr + ";" }
		if !u.Self {
			member := viaText(u.Name, u.Via)
			is, has = member+", which is", member+", which has"
			fix = func(string) string { return "REVOKE " + u.Via + " FROM " + c.appName + ";" }
		}
		switch {
		case u.Super:
			c.appSuper = c.appSuper || u.Self
			c.add(CodeAppRoleSuperuser, SeverityError, ObjectRole, c.appName, fix("SUPERUSER"),
				"%s %s a superuser, which row-level security never binds", who, is)
			continue // a superuser has every power below
		case u.BypassRLS:
			c.add(CodeAppRoleBypassRLS, SeverityError, ObjectRole, c.appName, fix("BYPASSRLS"),
				"%s %s BYPASSRLS, which row-level security never binds", who, has)
		}
		if u.CreateRole {
			c.add(CodeAppRoleCreateRole, SeverityError, ObjectRole, c.appName, fix("CREATEROLE"),
				"%s %s CREATEROLE, so it can create roles and grant itself membership in roles (any role but a superuser before PostgreSQL 16, those it administers since), the owner role's included, and then bypass the policies as their owner", who, has)
		}
		if u.Replication {
			c.add(CodeAppRoleReplication, SeverityError, ObjectRole, c.appName, fix("REPLICATION"),
				"%s %s REPLICATION, so a replication connection streams it every tenant's rows (base backups and the write-ahead log), past every policy", who, has)
		}
		if !u.Predefined || u.Self {
			continue
		}
		p, ok := predefined[u.Raw]
		if !ok {
			p.sev, p.power = SeverityWarning, "is a predefined role that this check does not know; review what it allows"
		}
		c.add(CodeAppRolePredefined, p.sev, ObjectRole, u.Name,
			"REVOKE "+u.Via+" FROM "+c.appName+"; the app role needs no predefined role.",
			"%s %s, which %s", who, viaText(u.Name, u.Via), p.power)
	}
	if c.appSuper {
		return nil // a superuser is a member of every role; that is reported once
	}
	for _, t := range c.tables {
		if t.AppOwns {
			c.add(CodeAppRoleOwner, SeverityError, ObjectTable, t.Name,
				"ALTER TABLE "+t.Name+" OWNER TO <owner role>; and make sure the app role is not a member of the owner.",
				"%s owns tenant tables: it is, or can act as, %s, the owner of %s, and so can disable its row-level security", who, t.OwnerName, t.Name)
		}
	}
	return nil
}

func viaText(name, via string) string {
	if name == via {
		return "is a member of " + name
	}
	return fmt.Sprintf("is a member of %s (through %s)", name, via)
}
