package tenantdb

// IsContextSQL reports whether sql is a statement that sets the tenant
// context, in either [ContextMode] and any of its forms: the statement of
// [ContextSQL], and each statement of [ContextSetLocal] (the session
// check, SET LOCAL of the tenant, the principal or the statement timeout,
// as the SDK writes them) as well as their joined form from
// [ContextMode.ContextSQL]. It is for tracing and metrics that tell the
// tenant context's statements apart from the application's own (package
// tenancyotel). It is safe for concurrent use.
func IsContextSQL(sql string) bool {
	return sql == setContextSQL || sql == setContextTimeoutSQL || isSetLocalSQL(sql)
}
