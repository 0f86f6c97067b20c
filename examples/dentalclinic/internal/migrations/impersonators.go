package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/rls"
)

// impersonatorsMigration is migration 28: the owner's audit log names the
// platform admins who acted in the clinic under an impersonation grant.
// The audit rows hold the admin's id only, and public.platform_admins is
// private (the app role reads none of it), so the names come, at read
// time, from one narrow definer function, auth.clinic_impersonators():
// the id and name of exactly the admins who have held a grant at the
// transaction's own clinic (tenancy.current_tenant_id(), which raises
// without a tenant), for a caller who may read the clinic's grants
// anyway (staff holding a reader role of [Audit]: the owner), and nothing
// for anyone else. No email, no other admin, no other clinic's grants.
// The owner role owns it; only the app role may execute it.
//
// Who reads the grants inside it. The owner role cannot: the audit
// package revokes everything on the audit schema from it, so that the
// migrations neither write nor read the log; and a privilege on
// audit.impersonation_grants for the owner role, which has BYPASSRLS,
// would let it read every clinic's grants past row-level security (what
// rls.Check reports as a BYPASSRLS role holding privileges on a tenant
// table). The platform role reads grants only in declared operator or
// system work, which a clinic's transaction is not. The app role reads
// them (the owner's staff principal does) but must not own a function.
// So the narrowest grant is a second definer function,
// audit.impersonator_ids(), owned by the audit owner (which owns the
// grants and, under FORCE, is bound by row-level security on them),
// returning the admin ids, nothing else, of the current clinic's grants,
// through two policies for the audit owner alone: a RESTRICTIVE one that
// binds it to the transaction's clinic, a PERMISSIVE one for SELECT. The
// owner role gets EXECUTE on that function and USAGE on the audit schema
// (to name it), no privilege on any audit table; the audit owner gets
// EXECUTE on tenancy.current_tenant_id() and no_tenant() (by which it
// raises), which its function and policies call (rls.Generate's re-runs
// revoke the helpers from PUBLIC, the app and the platform roles only).
// The audit owner's objects are made by the audit administrator
// (Conns.AuditAdmin), so 28 is one of [AuditVersions];
// auth.clinic_impersonators is made after, on the owner role's connection.
//
// audit.Schema, when it runs again, revokes the owner role's USAGE on the
// audit schema (the policies and functions stay): re-run this migration
// after it, or auth.clinic_impersonators fails with "permission denied",
// and with it the owner's audit log (closed, not open).
func impersonatorsMigration(roles Roles, admin *sql.DB) *goose.GoFunc {
	q := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	lit := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	owner, app, auditor, helper := q(roles.Owner), q(roles.App), q(roles.Audit), q(rls.DefaultSchema)
	readers := make([]string, 0, 1)
	for _, r := range Audit.Readers() {
		readers = append(readers, lit(r))
	}
	tenant := "tenant_id = (SELECT " + helper + ".current_tenant_id())"
	ids := fmt.Sprintf(`
		SET LOCAL ROLE %[1]s;
		DROP POLICY IF EXISTS impersonators_tenant ON audit.impersonation_grants;
		CREATE POLICY impersonators_tenant ON audit.impersonation_grants AS RESTRICTIVE FOR ALL TO %[1]s
			USING (%[3]s) WITH CHECK (%[3]s);
		DROP POLICY IF EXISTS impersonators_read ON audit.impersonation_grants;
		CREATE POLICY impersonators_read ON audit.impersonation_grants AS PERMISSIVE FOR SELECT TO %[1]s
			USING (%[3]s);
		CREATE OR REPLACE FUNCTION audit.impersonator_ids()
		RETURNS SETOF uuid
		LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
		AS $$
			SELECT DISTINCT g.admin_id FROM audit.impersonation_grants AS g WHERE g.%[3]s
		$$;
		REVOKE ALL ON FUNCTION audit.impersonator_ids() FROM PUBLIC;
		GRANT EXECUTE ON FUNCTION audit.impersonator_ids() TO %[2]s;
		GRANT USAGE ON SCHEMA audit TO %[2]s;
		RESET ROLE;`, auditor, owner, tenant)
	names := fmt.Sprintf(`
		CREATE OR REPLACE FUNCTION auth.clinic_impersonators()
		RETURNS TABLE (admin_id uuid, name text)
		LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
		AS $$
			SELECT a.id, a.name FROM public.platform_admins AS a
			WHERE a.id IN (SELECT audit.impersonator_ids())
				AND (SELECT %[3]s.principal_kind()) = %[4]s
				AND (SELECT %[3]s.current_roles()) && ARRAY[%[5]s]::text[]
		$$;
		ALTER FUNCTION auth.clinic_impersonators() OWNER TO %[1]s;
		REVOKE ALL ON FUNCTION auth.clinic_impersonators() FROM PUBLIC;
		GRANT EXECUTE ON FUNCTION auth.clinic_impersonators() TO %[2]s;
		GRANT EXECUTE ON FUNCTION %[3]s.current_tenant_id(), %[3]s.no_tenant() TO %[6]s;`,
		owner, app, helper, lit(kinds.Staff.String()), strings.Join(readers, ", "), auditor)
	return &goose.GoFunc{RunDB: func(ctx context.Context, db *sql.DB) error {
		if admin == nil {
			return ErrNoAuditAdmin
		}
		for _, step := range []struct {
			db    *sql.DB
			stmts string
		}{{admin, ids}, {db, names}} {
			tx, err := step.db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, step.stmts); err != nil {
				tx.Rollback()
				return err
			}
			if err := tx.Commit(); err != nil {
				return err
			}
		}
		return nil
	}}
}
