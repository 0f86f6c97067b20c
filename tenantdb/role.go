package tenantdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/mydentalpractice/tenancy/rls"
)

// CheckRole returns an error wrapping [ErrUnsafeRole] when the role that db
// is connected as could bypass row-level security on the tenant relations
// of m, or reach past it: the role rules of [rls.Check], run by
// [rls.CheckCurrentRole] on current_user. They refuse a role that is, or is
// a member of (and so may inherit from or SET ROLE to), a superuser, a
// role with BYPASSRLS, CREATEROLE or REPLICATION, a predefined role that
// reaches outside the database or across tenants (pg_execute_server_program,
// pg_read_server_files, pg_read_all_data, pg_read_all_stats, ...), or the
// owner of a tenant relation of m. The error lists each finding with its
// code. Warnings (pg_signal_backend, for example) do not refuse.
//
// [New] calls it; other integrations (package tenantbun) call it at
// start-up too. It reads only catalogs that every role may read, and is
// safe for concurrent use if db is.
func CheckRole(ctx context.Context, db Queryer, m *rls.Model) error {
	if m == nil {
		return fmt.Errorf("%w: no model", ErrInvalidConfig)
	}
	findings, err := rls.CheckCurrentRole(ctx, db, m)
	if err != nil {
		return fmt.Errorf("tenantdb: checking the database role: %w", err)
	}
	if problems := describe(errorFindings(findings)); problems != "" {
		return fmt.Errorf("%w: %s; connect as the application role, which must be NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOREPLICATION, own nothing and be a member of no such role",
			ErrUnsafeRole, problems)
	}
	return nil
}

// errorFindings returns the findings of error severity.
func errorFindings(findings []rls.Finding) []rls.Finding {
	var out []rls.Finding
	for _, f := range findings {
		if f.Severity == rls.SeverityError {
			out = append(out, f)
		}
	}
	return out
}

// describe lists findings on one line, each as "[code] message" (or the
// message alone for a problem without a code), or returns "" for none.
func describe(findings []rls.Finding) string {
	parts := make([]string, len(findings))
	for i, f := range findings {
		parts[i] = f.Message
		if f.Code != "" {
			parts[i] = "[" + string(f.Code) + "] " + f.Message
		}
	}
	return strings.Join(parts, "; ")
}
