// Package sqlguard refuses SQL statements that are not scoped to the
// current tenant, before they are sent. It is the second of three
// isolation layers: the API takes the tenant only from a verified token,
// sqlguard checks the application's SQL, and PostgreSQL's forced row-level
// security checks every row. Each layer must stop a leak alone.
//
// A [Guard] is made once from a [Config] that lists the tenant tables, and
// [Guard.Check] is called with each statement, its arguments and the
// context's tenant. The tenantdb package calls it for every statement.
//
// # Rules
//
// Check parses the statement with PostgreSQL's own parser
// (pganalyze/pg_query_go) and enforces:
//
//   - Every reference to a tenant table, in any SELECT, join, sub-query
//     (in the select list, WHERE, HAVING, ORDER BY, LIMIT, FROM, LATERAL),
//     CTE (data-modifying ones too) and each arm of a UNION, INTERSECT or
//     EXCEPT, is scoped by a top-level AND conjunct of its own query level
//     of the form alias.clinic_id = X (either way round; an unqualified
//     clinic_id only when it names the one tenant table in scope). X is a
//     parameter whose bound value is the tenant (compared on every call),
//     a string constant whose value is the tenant (see below), a call of
//     tenancy.current_tenant_id() (schema-qualified exactly as configured,
//     optionally as (SELECT tenancy.current_tenant_id()) or cast to uuid),
//     or the tenant column of another reference that is already scoped,
//     in the same or an enclosing query level (join propagation). A
//     conjunct under OR or NOT never counts.
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
//   - INSERT into a tenant table names the tenant column and sets it to X
//     in every VALUES row, or, for INSERT ... SELECT, to X or to the tenant
//     column of a scoped reference of each arm of the SELECT. Leaving the
//     column out, or setting it to DEFAULT, is refused unless
//     [Config.TenantColumnDefault] says the column defaults to the helper.
//     ON CONFLICT DO UPDATE never assigns the tenant column, and names the
//     tenant column in its conflict target or scopes the existing row in
//     its WHERE.
//   - UPDATE and DELETE scope their target, and every table of UPDATE ...
//     FROM and DELETE ... USING, the same way; UPDATE never assigns the
//     tenant column. RETURNING is allowed (its sub-queries are checked).
//   - Always refused: several statements in one string; session-level SET
//     and RESET of anything, SET LOCAL of tenancy.*, role,
//     session_authorization, search_path or client_encoding; any call of
//     set_config (only tenantdb sets the context, and not through the
//     guard); functions that run SQL text or read tables by name
//     (query_to_xml and its kin, dblink) and a few others ([RuleFunction]);
//     TRUNCATE; COPY; all DDL; and every statement kind not explicitly
//     allowed (EXPLAIN, DO, CALL, PREPARE, EXECUTE, LISTEN, NOTIFY, LOCK,
//     MERGE, transaction control other than savepoints, ...). See the Rule
//     constants for the exact lists.
//
// Statements that touch no tenant table, such as SELECT 1 or a read of a
// global registry, are allowed. Every refusal is a [*RefusalError] naming
// the table, the [Rule] and the byte position in the statement.
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
// the tenant and the values, parsed once, of the string constants that
// must be the tenant. A cached check is a map lookup under a shard's read
// lock plus those comparisons (16 bytes for a constant), and allocates
// nothing when it accepts.
//
// # Security
//
// The guard has no false negatives on its rules by design: where its
// model of name resolution could differ from PostgreSQL's (a qualifier
// that names two items, a hidden or not-yet-visible FROM item, a column
// alias list, a FROM item it does not model), it treats the reference as
// unscoped. It fails closed on parameters: a value of an unknown type, nil,
// or missing is not the tenant; and on string constants: only the
// canonical text of a UUID is read, never another spelling that the
// server's uuid input would accept (braces, no hyphens), and a cached
// plan keeps the constant's value, never the answer for the first tenant
// that ran it. FuzzGuardDifferential runs every
// statement it accepts for tenant A against a database with tenant B's
// rows and no row-level security, and fails when B's rows show in the
// result, change it, or change.
//
// What the guard cannot see, row-level security covers. The guard reads
// only the statement's text: it cannot see inside views, functions (in
// FROM, in expressions, or as column defaults), triggers, rules, or
// inheritance children and partitions that are not listed as tenant
// tables; it cannot see column defaults or constraints, so it trusts that
// tenant tables have the tenant column and that their unique keys lead
// with it; and it parses with the PostgreSQL 17 grammar of pg_query_go, so
// a construct a server parses differently is judged by the newer grammar.
// Forced row-level security applies to every row the server touches,
// whichever statement or function reached it, so each of these blind
// spots is closed in the database; the guard's job is to refuse unscoped
// SQL early, with an error that names the problem, and to stand alone if
// a policy is ever missing.
//
// Report mode ([Report]) logs refusals and lets the statements run; it is
// meant for adopting the guard on existing code, and leaves row-level
// security as the only enforcement.
package sqlguard
