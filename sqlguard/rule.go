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

	// RuleFunction refuses a call of any function that is not allowed:
	// allowed are the pg_catalog functions of [SafeFunctions] (called
	// unqualified or as pg_catalog.name), the helpers that rls.Generate
	// makes in the model's helper schema ([rls.Model.IsHelper]:
	// current_tenant_id and its siblings), and the functions the model
	// declares ([rls.Config.Functions]; an unqualified call matches a
	// declared function of that name in any schema). Everything else is
	// refused, among them every function that runs SQL given as text
	// (query_to_xml and the other *_to_xml functions, ts_rewrite, ts_stat,
	// dblink), reads other sessions (pg_stat_get_activity,
	// pg_stat_get_backend_*, pg_blocking_pids, pg_lock_status), the
	// server's files (pg_read_file, pg_ls_dir, pg_stat_file), large
	// objects (lo_import, lo_get, loread, ...), cluster-wide statistics and
	// sizes (pg_stat_get_*, pg_database_size, pg_relation_size,
	// pg_total_relation_size), sequences (nextval, currval, setval), the
	// settings (current_setting; set_config is [RuleSetConfig]), and every
	// function whose effect outlives the transaction or reaches another
	// session (session-level advisory locks, pg_sleep, pg_notify, setseed,
	// pg_terminate_backend, pg_cancel_backend, pg_reload_conf).
	// Transaction-level advisory locks (pg_advisory_xact_lock and its
	// kin) are allowed. [RefusalError.Func] names the function.
	RuleFunction Rule = "function"

	// RuleOperator refuses an operator qualified with another schema than
	// pg_catalog (OPERATOR(public.===)), which may run any function.
	// Unqualified operators and OPERATOR(pg_catalog.op) are allowed.
	// [RefusalError.Func] names the operator.
	RuleOperator Rule = "operator"

	// RuleUnknownRelation refuses a reference to a relation that the model
	// ([Config.Model]) does not name: a table, view, sequence or foreign
	// table created after the model was built (by a later migration, say)
	// is refused until the model classifies it, never let through as if it
	// held no tenant's rows.
	RuleUnknownRelation Rule = "unknown-relation"

	// RulePrivateRelation refuses a reference to a relation that the model
	// classifies as private ([rls.Private]): the app role holds no
	// privilege on it, and only the model's pre-auth functions read it.
	// An unqualified name is refused when any relation of that name the
	// model knows is private and none is a tenant relation.
	RulePrivateRelation Rule = "private-relation"

	// RuleCatalogRelation refuses a reference to a relation of PostgreSQL's
	// own schemas (pg_catalog, information_schema, pg_toast, pg_temp*),
	// and to any unqualified name beginning with pg_ (which pg_catalog
	// comes first to resolve): pg_stat_activity and pg_locks show other
	// sessions, pg_stats and pg_stat_statements other tenants' values and
	// statements, the other catalogs and statistics views the whole
	// cluster. A relation of pg_catalog or information_schema that the
	// model itself classifies as a registry is allowed (for pg_catalog,
	// unqualified too).
	RuleCatalogRelation Rule = "catalog-relation"

	// RuleAmbiguousRelation refuses an unqualified reference to a name
	// that the model knows as tenant relations in several schemas with
	// different tenant columns: which column scopes it depends on the
	// search_path. Qualify the reference.
	RuleAmbiguousRelation Rule = "ambiguous-relation"

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
	// (FROM tasks AS t(a, b)), which can rename the tenant column.
	RuleColumnAlias Rule = "column-alias"

	// RuleParamTenant refuses a statement whose parameter $n, used as the
	// tenant, is missing, nil, of a type that does not carry a UUID (see
	// [Guard.Check] for the types read), or holds another value than the
	// tenant; or, used as an array of tenants (tenant_id = ANY($n)), is not
	// a non-empty slice or array of such values that are all the tenant.
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
	// SET of the tenant column of a tenant table to anything that may
	// change it. Allowed are only assignments that keep the tenant: the
	// column itself (SET tenant_id = tenant_id, SET tenant_id =
	// t.tenant_id), EXCLUDED's tenant column when the INSERT sets it to the
	// tenant, a tenant value (a parameter or literal checked like those of
	// a WHERE clause, the helper), or a column known to hold the tenant.
	RuleAssignTenant Rule = "assign-tenant"

	// RuleOnConflict refuses INSERT ... ON CONFLICT DO UPDATE into a tenant
	// table whose conflict target does not name the tenant column and
	// whose DO UPDATE ... WHERE does not scope the existing row.
	RuleOnConflict Rule = "on-conflict"
)
