package audit

// CrossTenantPolicies returns the names, as "schema.table.policy", of the
// PERMISSIVE policies of [Schema] that cross tenants on purpose: the
// platform role's audit_platform on audit.events, audit.chain_heads and
// audit.impersonation_grants (it reads every tenant's chain, heads and
// grants, and writes grants and their events into any tenant's chain).
// [rls.Check] reports each as
// [rls.CodePolicyUnboundRole] unless it is listed in
// [rls.Config.AllowCrossTenant]:
//
//	cfg.AllowCrossTenant = append(cfg.AllowCrossTenant, audit.CrossTenantPolicies()...)
//
// or, on the command line, one --allow-cross-tenant flag per name. It
// returns a new slice on each call and is safe for concurrent use.
func CrossTenantPolicies() []string {
	return []string{
		"audit.chain_heads.audit_platform",
		"audit.events.audit_platform",
		"audit.impersonation_grants.audit_platform",
	}
}
