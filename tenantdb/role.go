package tenantdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/rls"
)

// CheckRole returns an error wrapping [ErrUnsafeRole] when the role that db
// is connected as could bypass row-level security on the tenant relations
// of m: when it, or any role it is a member of (and so may inherit from or
// SET ROLE to), is a superuser, has BYPASSRLS, or owns such a relation.
// [New] calls it; other integrations (package tenantbun) call it at
// start-up too.
func CheckRole(ctx context.Context, db Queryer, m *rls.Model) error {
	if m == nil {
		return fmt.Errorf("%w: no model", ErrInvalidConfig)
	}
	var tables []string
	for _, r := range m.TenantRelations() {
		tables = append(tables, r.Qualified())
	}
	// Every role whose privileges the current user has or can take with
	// SET ROLE (MEMBER), itself included. Attributes such as SUPERUSER are
	// not inherited, but SET ROLE reaches them; table ownership is
	// inherited, and an owner's privileges bypass RLS unless FORCEd.
	rows, err := db.Query(ctx, `
		select r.rolname, r.rolsuper, r.rolbypassrls,
		       coalesce((select string_agg(format('%I.%I', n.nspname, c.relname), ', ' order by 1)
		                 from pg_catalog.pg_class c
		                 join pg_catalog.pg_namespace n on n.oid = c.relnamespace
		                 where c.relowner = r.oid and n.nspname || '.' || c.relname = any($1::text[])
		                   and c.relkind in ('r', 'p', 'v', 'm', 'f')), '')
		from pg_catalog.pg_roles r
		where pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')
		order by r.rolname`, tables)
	if err != nil {
		return fmt.Errorf("tenantdb: checking the database role: %w", err)
	}
	type role struct {
		name          string
		super, bypass bool
		owns          string
	}
	roles, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (role, error) {
		var r role
		err := row.Scan(&r.name, &r.super, &r.bypass, &r.owns)
		return r, err
	})
	if err != nil {
		return fmt.Errorf("tenantdb: checking the database role: %w", err)
	}
	if len(roles) == 0 {
		return fmt.Errorf("tenantdb: checking the database role: the catalog shows no role for current_user")
	}
	var problems []string
	for _, r := range roles {
		switch {
		case r.super:
			problems = append(problems, fmt.Sprintf("role %q is a superuser", r.name))
		case r.bypass:
			problems = append(problems, fmt.Sprintf("role %q has BYPASSRLS", r.name))
		}
		if r.owns != "" {
			problems = append(problems, fmt.Sprintf("role %q owns tenant tables (%s)", r.name, r.owns))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s; connect as the application role, which must be NOSUPERUSER NOBYPASSRLS and own nothing",
			ErrUnsafeRole, strings.Join(problems, "; "))
	}
	return nil
}
