package tenantdb

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/rls"
)

// checkStartup runs the checks of [New]: the role ([CheckRole]), then
// the model against the catalog ([CheckSchema]).
func checkStartup(ctx context.Context, db Queryer, cfg Config) error {
	if err := CheckRole(ctx, db, cfg.Model); err != nil {
		return err
	}
	return checkSchema(ctx, db, cfg.Model, cfg.UncheckedPolicies)
}

// CheckSchema returns an error when tenant isolation cannot hold in the
// database behind db, as the model m describes it: the rules of
// [rls.CheckModel], run as the role db is connected as. It wraps
// [ErrModelMismatch] when the model and the catalog disagree (a relation
// of the model is missing, a tenant relation lacks its tenant or subject
// column or is not a table, or db is connected as a role other than the
// model's app role, whose policies are the ones checked), and
// [ErrUnsafeSchema] when a tenant relation (a partition or inheritance
// child included) lacks ENABLE or FORCE ROW LEVEL SECURITY or a
// RESTRICTIVE tenant policy binding the app role ([rls.PolicyTenant], as
// the migration makes it). The error names each problem with its finding
// code; it may wrap both.
//
// [New] calls it after [CheckRole]. It reads only catalogs that every role
// may read, so the app role runs it, and is safe for concurrent use if db
// is.
func CheckSchema(ctx context.Context, db Queryer, m *rls.Model) error {
	if m == nil {
		return fmt.Errorf("%w: no model", ErrInvalidConfig)
	}
	return checkSchema(ctx, db, m, false)
}

// policyCodes are the findings that Config.UncheckedPolicies accepts.
var policyCodes = []rls.Code{rls.CodeNoPolicy, rls.CodeNoTenantPolicy, rls.CodeKindPolicy}

// mismatchCodes are the findings of rls.CheckModel about the model and
// the catalog disagreeing; the others are about isolation not holding.
var mismatchCodes = []rls.Code{
	rls.CodeRelationMissing, rls.CodeTenantColumnMissing, rls.CodeSubjectColumnMissing,
	rls.CodeTenantRelationKind, rls.CodeAppRoleMissing, rls.CodeHelperKeyType, rls.CodeKindPolicy,
}

func checkSchema(ctx context.Context, db Queryer, m *rls.Model, uncheckedPolicies bool) error {
	rows, err := db.Query(ctx, "select current_user::text")
	if err != nil {
		return fmt.Errorf("tenantdb: checking the schema: %w", err)
	}
	user, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("tenantdb: checking the schema: %w", err)
	}
	var mismatch, unsafe []rls.Finding
	if app := m.Config().AppRole; user != app {
		mismatch = append(mismatch, rls.Finding{Message: fmt.Sprintf(
			"the pool connects as %q, but the model's app role, whose policies are checked and bind the application, is %q", user, app)})
	} else {
		findings, err := rls.CheckModel(ctx, db, m)
		if err != nil {
			return fmt.Errorf("tenantdb: checking the schema: %w", err)
		}
		for _, f := range errorFindings(findings) {
			switch {
			case uncheckedPolicies && slices.Contains(policyCodes, f.Code):
			case slices.Contains(mismatchCodes, f.Code):
				mismatch = append(mismatch, f)
			default:
				unsafe = append(unsafe, f)
			}
		}
	}
	switch {
	case len(mismatch) > 0 && len(unsafe) > 0:
		return fmt.Errorf("%w: %s; %w: %s", ErrModelMismatch, describe(mismatch), ErrUnsafeSchema, describe(unsafe))
	case len(mismatch) > 0:
		return fmt.Errorf("%w: %s", ErrModelMismatch, describe(mismatch))
	case len(unsafe) > 0:
		return fmt.Errorf("%w: %s; run the migration of rls.Generate for the model's tables", ErrUnsafeSchema, describe(unsafe))
	}
	return nil
}
