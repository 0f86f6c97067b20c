package sqlguard

// Rule names the rule a refused statement breaks. The values are stable
// strings, fit for logs, metrics and tests, and safe to share between
// goroutines.
type Rule string

// The rules. Each constant's comment says what it refuses.
const (
	// RuleSyntax refuses text that PostgreSQL's parser rejects.
	RuleSyntax Rule = "syntax"

	// RuleMultipleStatements refuses a text with more than one statement,
	// even when each would be allowed on its own.
	RuleMultipleStatements Rule = "multiple-statements"

	// RuleStatementKind refuses every statement kind not explicitly
	// allowed: EXPLAIN, SHOW, DO, CALL, PREPARE, EXECUTE, DEALLOCATE,
	// DECLARE, FETCH, MOVE, CLOSE, LISTEN, NOTIFY, UNLISTEN, LOCK, MERGE,
	// DISCARD, LOAD, CHECKPOINT and any other. The allowed kinds are SELECT
	// (with VALUES and set operations), INSERT, UPDATE, DELETE, SAVEPOINT,
	// RELEASE, ROLLBACK TO SAVEPOINT, and some SET LOCAL (see [RuleSet]).
	RuleStatementKind Rule = "statement-kind"

	// RuleDDL refuses schema and privilege changes: CREATE, ALTER, DROP,
	// GRANT, REVOKE, COMMENT, SECURITY LABEL, REINDEX, CLUSTER, VACUUM,
	// ANALYZE, REFRESH MATERIALIZED VIEW, IMPORT FOREIGN SCHEMA, and
	// SELECT ... INTO.
	RuleDDL Rule = "ddl"

	// RuleTransaction refuses BEGIN, START TRANSACTION, COMMIT, ROLLBACK,
	// END, ABORT and the two-phase commands: the tenant context lives in
	// the transaction that tenantdb opened, and only tenantdb ends it.
	// Savepoints are allowed.
	RuleTransaction Rule = "transaction"

	// RuleSet refuses every session-level SET and RESET (including RESET
	// ALL, SET ROLE, SET SESSION AUTHORIZATION and SET SESSION
	// CHARACTERISTICS), SET LOCAL of the tenancy.* settings, role,
	// session_authorization, search_path and client_encoding, SET
	// TRANSACTION SNAPSHOT, and UPDATE of pg_settings. SET LOCAL of other
	// settings (statement_timeout, lock_timeout, ...) and SET TRANSACTION
	// are allowed: they end with the transaction.
	RuleSet Rule = "set"

	// RuleSetConfig refuses every call of set_config, whatever its
	// arguments: only tenantdb sets the tenant context, and it does not
	// pass its own statement through the guard.
	RuleSetConfig Rule = "set-config"

	// RuleFunction refuses calls of functions that run SQL given as text
	// or read whole tables by name, out of the guard's sight (query_to_xml,
	// table_to_xml, cursor_to_xml, schema_to_xml, database_to_xml and their
	// xmlschema variants, ts_stat, the dblink functions), that reach the
	// server's files (pg_read_file, pg_read_binary_file, pg_ls_dir,
	// pg_stat_file, lo_import, lo_export), or that touch state beyond the
	// transaction (session-level advisory locks, pg_terminate_backend,
	// pg_cancel_backend, pg_reload_conf). Transaction-level advisory locks
	// (pg_advisory_xact_lock) are allowed.
	RuleFunction Rule = "function"

	// RuleTruncate refuses TRUNCATE of any table.
	RuleTruncate Rule = "truncate"

	// RuleCopy refuses COPY of any table or query.
	RuleCopy Rule = "copy"

	// RuleUnscoped refuses a reference to a tenant table that no top-level
	// AND conjunct of its own query level scopes to the tenant.
	RuleUnscoped Rule = "unscoped"

	// RuleOrBranch is RuleUnscoped where the only comparisons of the
	// reference's tenant column sit under OR or NOT, which never scope.
	RuleOrBranch Rule = "or-branch"

	// RuleColumnAlias refuses a tenant table given a column alias list
	// (FROM patients AS p(a, b)), which can rename the tenant column.
	RuleColumnAlias Rule = "column-alias"

	// RuleParamTenant refuses a statement whose parameter $n, used as the
	// tenant, is missing, nil, of another type than tenancy.ID, [16]byte,
	// string, pgtype.UUID or a pointer to one of them, or holds another
	// value than the tenant.
	RuleParamTenant Rule = "param-tenant"

	// RuleLiteralTenant refuses a statement that uses a string constant
	// (optionally cast to uuid: '…'::uuid, CAST('…' AS uuid), uuid '…')
	// as the tenant, in a comparison with a tenant column or as the tenant
	// column of an inserted row, when its text is not a canonical UUID (36
	// characters with hyphens, in either case; the zero UUID is not one)
	// or its value is not the tenant. Tools such as uptrace/bun write
	// arguments so.
	RuleLiteralTenant Rule = "literal-tenant"

	// RuleInsertTenant refuses an INSERT into a tenant table that does not
	// set the tenant column to the tenant in every row: no column list,
	// the tenant column left out or set to DEFAULT (unless
	// [Config.TenantColumnDefault]), or set to anything else than a
	// parameter, a string constant (see [RuleLiteralTenant]), the helper,
	// or the tenant column of a scoped reference.
	RuleInsertTenant Rule = "insert-tenant"

	// RuleAssignTenant refuses UPDATE ... SET and ON CONFLICT DO UPDATE
	// SET of the tenant column of a tenant table.
	RuleAssignTenant Rule = "assign-tenant"

	// RuleOnConflict refuses INSERT ... ON CONFLICT DO UPDATE into a tenant
	// table whose conflict target does not name the tenant column and
	// whose DO UPDATE ... WHERE does not scope the existing row.
	RuleOnConflict Rule = "on-conflict"
)
