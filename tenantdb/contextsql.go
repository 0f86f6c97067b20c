package tenantdb

// IsContextSQL reports whether sql is the statement of [ContextSQL], in any
// of its forms: for tracing and metrics that tell the tenant context's
// statement apart from the application's own (package tenancyotel). It is
// safe for concurrent use.
func IsContextSQL(sql string) bool {
	return sql == setContextSQL || sql == setContextTimeoutSQL
}
