// Package sqlguard refuses SQL statements that are not scoped to the
// current tenant, before they are sent. It is the second of three
// isolation layers: the API takes the tenant only from a verified token,
// sqlguard checks the application's SQL, and PostgreSQL's forced row-level
// security checks every row. Each layer must stop a leak alone.
//
// A [Guard] is made once from a [Config] that holds the isolation model
// ([rls.Model], the same value the migration, the checker and tenantdb
// read), and [Guard.Check] is called with each statement, its arguments
// and the context's tenant. The tenantdb package calls it for every
// statement.
//
// # Relations
//
// Every relation a statement names is classified through the model, and
// only tenant relations and registries may be named:
//
//   - A schema-qualified name is the model's relation of that name. An
//     unqualified name may resolve, through the search_path, to any
//     relation of that name the model knows: it is a tenant relation (and
//     must be scoped) when any of them is, which needs them all to have
//     the same tenant column ([RuleAmbiguousRelation] otherwise); it is
//     refused when one is private ([RulePrivateRelation]); it is a
//     registry when all of them are. A common table expression of that
//     name, where PostgreSQL would see it, is the CTE instead (never for
//     the target of an INSERT, UPDATE or DELETE).
//   - A name the model does not know is refused ([RuleUnknownRelation]).
//     The guard holds the model it was made with: a table, view or
//     sequence that a migration creates after start-up is refused until
//     the application builds a guard from a model that names it. Nothing
//     the model has not classified is ever let through as if it held no
//     tenant's rows.
//   - Relations of PostgreSQL's own schemas (pg_catalog,
//     information_schema, pg_toast, pg_temp) and every unqualified name
//     that begins with pg_ are refused ([RuleCatalogRelation]):
//     pg_stat_activity shows other sessions' statements, pg_stats and
//     pg_stat_statements other tenants' values, the other catalogs and
//     statistics views the whole cluster. None is in the default allowed
//     set; a model may list one as a registry (pg_catalog.pg_timezone_names,
//     say), which unqualified pg_ names then resolve to.
//
// # Scope
//
// Check parses the statement with PostgreSQL's own parser, libpg_query
// (see # Parser), and enforces:
//
//   - Every reference to a tenant relation, in any SELECT, join, sub-query
//     (in the select list, WHERE, HAVING, ORDER BY, LIMIT, FROM, LATERAL),
//     CTE (data-modifying ones too) and each arm of a UNION, INTERSECT or
//     EXCEPT, is scoped by a top-level AND conjunct of its own query level
//     that compares the relation's own tenant column ([rls.Relation.TenantColumn]:
//     org_id for one table, organization_id or "tenantId" for another, id
//     for a table of tenants) with the tenant: alias.tenant_col = X
//     (either way round; an unqualified column only where exactly one item
//     of the level certainly has it, so PostgreSQL picks that one or
//     raises an ambiguity error); a row comparison that holds it at some
//     position, (a, b, tenant_col) = ($1, $2, X); tenant_col IN (X, ...)
//     with every element a tenant value; tenant_col = ANY($n) whose bound
//     array is non-empty and holds only the tenant; tenant_col IN (SELECT
//     c ...), = ANY (SELECT c ...) or = (SELECT c ...) where the
//     sub-select's column c holds only the tenant, and the same with rows,
//     (tenant_col, id) IN (SELECT tenant_col, id FROM to_delete).
//   - X is a parameter whose bound value is the tenant (compared on every
//     call), a string constant whose value is the tenant (see below), a
//     call of the model's current_tenant_id() helper (qualified with the
//     model's helper schema, optionally as (SELECT ...) or cast to uuid),
//     or a column that holds the tenant: the tenant column of another
//     reference already scoped, in the same or an enclosing query level
//     (join propagation), or a column of a CTE or sub-select in FROM that
//     holds only the tenant. A column of a CTE or sub-select holds the
//     tenant when its query returns there, in every arm, a tenant value
//     or a scoped tenant column (a recursive CTE when its recursive arm
//     keeps it so); a column alias list renames by position, and a star
//     passes on the columns it is known to expand to. A conjunct under OR
//     or NOT never counts.
//   - A string constant stands for the tenant, as uptrace/bun writes
//     arguments ('0195f1c2-…', optionally '…'::uuid, CAST('…' AS uuid) or
//     uuid '…'), only when its text (after the parser decodes any escapes)
//     is a canonical UUID (36 characters with hyphens, either case) whose
//     value is the context's tenant, compared on every call like a
//     parameter. Every parameter and string constant that a top-level
//     conjunct compares with a tenant column, or that an INSERT writes to
//     one, is checked, even where something else scopes the reference:
//     another tenant's value, or a text that is not a canonical UUID, is
//     refused ([RuleLiteralTenant]).
//   - A WHERE conjunct constrains every reference of its level. An ON
//     conjunct of an inner join constrains both sides; of a LEFT or RIGHT
//     join only the nullable side, since rows of the preserved side appear
//     whether they match or not; of a FULL join neither. USING and NATURAL
//     joins propagate nothing; HAVING scopes nothing.
//   - INSERT into a tenant relation names its tenant column and sets it to
//     X in every VALUES row, or, for INSERT ... SELECT, to X or to a column
//     of the source's level that holds the tenant, in each arm of the
//     SELECT. Leaving the column out, or setting it to DEFAULT, is refused
//     unless [Config.TenantColumnDefault] says the column defaults to the
//     helper. ON CONFLICT DO UPDATE names the tenant column in its
//     conflict target or scopes the existing row in its WHERE (EXCLUDED's
//     tenant column holds the tenant when the INSERT sets it so).
//   - UPDATE and DELETE scope their target, and every relation of UPDATE
//     ... FROM and DELETE ... USING, the same way. UPDATE and ON CONFLICT
//     DO UPDATE assign the tenant column only what keeps it: the column
//     itself (SET tenant_col = tenant_col), EXCLUDED's, a tenant value or
//     a column that holds the tenant ([RuleAssignTenant]). RETURNING is
//     allowed (its sub-queries are checked).
//   - Always refused: several statements in one string; session-level SET
//     and RESET of anything, SET LOCAL of tenancy.*, role,
//     session_authorization, search_path or client_encoding; any call of
//     set_config (only tenantdb sets the context, and not through the
//     guard); TRUNCATE; COPY; all DDL; and every statement kind not
//     explicitly allowed (EXPLAIN, DO, CALL, PREPARE, EXECUTE, LISTEN,
//     NOTIFY, LOCK, MERGE, transaction control other than savepoints, ...).
//     See the Rule constants for the exact lists.
//
// Statements that touch no tenant relation, such as SELECT 1 or a read of a
// registry, are allowed. Every refusal is a [*RefusalError] naming the
// [Rule], the relation or function concerned, and the byte position in the
// statement.
//
// # Functions, operators and casts
//
// The guard allows what it knows and refuses the rest ([RuleFunction]). A
// function call is allowed when it is one of the pg_catalog functions of
// [SafeFunctions] (string, numeric, formatting, date and time, enum,
// range, array, JSON, uuid and text search functions, aggregates and
// window functions, num_nulls and num_nonnulls, hashtext and
// hashtextextended, and the advisory locks that end with the
// transaction), the helpers that rls.Generate puts in the model's helper
// schema ([rls.Model.IsHelper]: current_tenant_id and its siblings, not
// any other function of that schema), or a function the model declares ([rls.Config.Functions];
// an unqualified call matches a declared function of that name in any
// schema). None of the default set runs SQL given as text (query_to_xml,
// ts_rewrite, ts_stat and dblink are out), reads another session, the
// server's files, large objects, cluster-wide statistics, sequences or the
// settings (current_setting is refused, like SHOW: the helpers read the
// context), or changes state that outlives the transaction (session
// advisory locks, pg_sleep, pg_notify, setseed, pg_terminate_backend,
// pg_reload_conf). A name allows all of its overloads, so a function with
// one dangerous overload (ts_rewrite) is left out whole. SQL inside a
// string argument is data to the guard: what matters is whether the
// function called runs it, and none that is allowed does.
//
// Operators written unqualified, or as OPERATOR(pg_catalog.op), are
// allowed; OPERATOR(schema.op) of any other schema is refused
// ([RuleOperator]), since an operator may run any function.
//
// Casts to any type are allowed. A cast runs the type's input, output or
// cast function; none of the built-in ones reads a table's rows or runs SQL
// text (the reg* types, such as regclass, look names up in the catalog,
// which shows the schema and no tenant's rows). Types, domains and casts
// that the migration owner created are part of the schema the model
// describes, and run with the app role's rights, under row-level security.
//
// # Parameters
//
// A parameter compared with a tenant column holds the tenant when it is a
// tenancy.ID, a [16]byte or any named [16]byte type (such as
// github.com/google/uuid's UUID), a pgtype.UUID, a string or pgtype.Text
// (or any named string type) holding a canonical UUID, or any other
// driver.Valuer whose Value returns a canonical UUID string or 16 bytes
// equal to the tenant; pointers to them are followed. A type with its own
// Value method is read through it, as the drivers do, except google/uuid's
// and gofrs/uuid's, which return the text of their bytes. nil, an error
// from Value, or any other type is not the tenant. An array bound to
// tenant_col = ANY($n) is a slice or array of those, non-empty, every
// element the tenant.
//
// # Use with pgx
//
// Check must see the text that is sent and the arguments bound to its
// parameters, in order (with bun, which writes the arguments into the
// text, there are none). A caller that wraps pgx passes the SQL after any
// rewriting (pgx.NamedArgs and other QueryRewriter arguments) and leaves
// out pgx's option arguments (a QueryExecMode, QueryResultFormats, ...)
// that may lead the argument list. An @name placeholder is not a parameter
// to the parser, so a statement scoped only by one is refused.
//
// # Performance
//
// The analysis of each distinct SQL text is cached (bounded by
// [Config.CacheSize], with approximately least-recently-used eviction) as
// a plan: either a fixed refusal, or the list of parameters that must hold
// the tenant (or an array of it) and the values, parsed once, of the
// string constants that must be the tenant. A cached check is a map lookup
// under a shard's read lock plus those comparisons (16 bytes for a
// constant), and allocates nothing when it accepts, whichever of the
// parameter types above carries the tenant, except a driver.Valuer that it
// must call (Value may allocate).
//
// # Security
//
// The guard has no false negatives on its rules by design: where its
// model of name resolution could differ from PostgreSQL's (a qualifier
// that names two items, a hidden or not-yet-visible FROM item, a column
// alias list, a FROM item it does not model, a column name it cannot tell),
// it treats the reference as unscoped. It fails closed on parameters: a
// value of an unknown type, nil, or missing is not the tenant; and on
// string constants: only the canonical text of a UUID is read, never
// another spelling that the server's uuid input would accept (braces, no
// hyphens), and a cached plan keeps the constant's value, never the answer
// for the first tenant that ran it. FuzzGuardDifferential runs every
// statement it accepts for tenant A against a database with tenant B's
// rows and no row-level security, and fails when B's rows show in the
// result, change it, or change; it also calls every overload of every
// allowed function with SQL in its string arguments.
//
// What the guard cannot see, row-level security covers. The guard reads
// only the statement's text: it cannot see inside views, functions (in
// FROM, in expressions, or as column defaults), triggers, rules, or
// inheritance children and partitions that the model does not list; it
// cannot see column defaults or constraints, so it trusts that tenant
// relations have their tenant column and that their unique keys lead with
// it; it cannot see the search_path, so it assumes that an unqualified
// name resolves to a relation of that name the model knows, that
// pg_catalog comes first (as it does unless the search_path names it
// later), and that no schema on the path defines a function or operator
// with the name of an allowed built-in (the owner's schemas are the
// model's to describe; the app role cannot create objects through the
// guard); it cannot see which overload of a function a call resolves to;
// and it parses with the PostgreSQL 17 grammar of libpg_query, so a
// construct a server parses differently is judged by the newer grammar.
// Forced row-level security applies to every row the server touches,
// whichever statement or function reached it, so each of these blind
// spots is closed in the database; the guard's job is to refuse unscoped
// SQL early, with an error that names the problem, and to stand alone if
// a policy is ever missing.
//
// # Parser
//
// cgo is optional. Built with cgo, the guard parses with
// github.com/pganalyze/pg_query_go, which links libpg_query in; built
// with CGO_ENABLED=0 (for scratch or distroless images and
// cross-compiles), with github.com/wasilibs/go-pgquery, the same C code
// compiled to WebAssembly and run by the pure Go runtime wazero, as sqlc
// does. Both give the same parse tree and so the same answers. Without
// cgo the first parse in a process costs about two seconds (the module
// is compiled, once for each processor that parses at the same time) and
// each parse a few times what it costs with cgo; plans are cached by
// text, so a cached [Guard.Check] costs the same in both builds
// (docs/benchmarks.md). A tree so deep that the WebAssembly parser's
// stack overflows (thousands of nested operators) traps it; from then on
// every new text fails to parse and is refused with [RuleSyntax], since
// a trapped instance cannot be trusted: fail closed, not a panic.
//
// Report mode ([Report]) logs refusals and lets the statements run; it is
// meant for adopting the guard on existing code, and leaves row-level
// security as the only enforcement.
package sqlguard
