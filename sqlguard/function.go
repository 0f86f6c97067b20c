package sqlguard

import (
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// safeFunctions are the functions of pg_catalog that tenant-scoped SQL may
// call without the model declaring them. Each one computes on its
// arguments (or the clock, or a random source) only: none runs SQL given
// as text (query_to_xml, ts_rewrite, ts_stat, dblink), reads a relation
// by name (table_to_xml, nextval, pg_relation_size), reads other
// sessions (pg_stat_get_activity, pg_blocking_pids, pg_lock_status), the
// server's files (pg_read_file, pg_ls_dir, pg_stat_file), large objects
// (lo_get, loread), cluster-wide statistics (pg_stat_get_*,
// pg_database_size), settings (current_setting; set_config has its own
// rule), or changes state that outlives the transaction (session advisory
// locks, setseed, pg_notify, pg_sleep, pg_terminate_backend,
// pg_reload_conf). A name here allows every overload of it, so a name
// with one dangerous overload (ts_rewrite(tsquery, text)) is left out
// entirely. TestSafeFunctionsExist keeps the list to names that
// PostgreSQL 15 has.
var safeFunctions = []string{
	// string
	"ascii", "bit_count", "bit_length", "bpchar", "btrim", "char_length", "character_length",
	"chr", "concat", "concat_ws", "convert", "convert_from", "convert_to", "decode", "encode",
	"format", "get_bit", "get_byte", "initcap", "is_normalized", "left", "length", "lower",
	"lpad", "ltrim", "md5", "normalize", "octet_length", "overlay", "parse_ident", "position",
	"quote_ident", "quote_literal", "quote_nullable", "regexp_count", "regexp_instr",
	"regexp_like", "regexp_match", "regexp_matches", "regexp_replace", "regexp_split_to_array",
	"regexp_split_to_table", "regexp_substr", "repeat", "replace", "reverse", "right", "rpad",
	"rtrim", "set_bit", "set_byte", "sha224", "sha256", "sha384", "sha512",
	"similar_to_escape", "split_part", "starts_with", "string_to_array", "string_to_table",
	"strpos", "substr", "substring", "text", "to_ascii", "to_hex", "translate", "unistr",
	"upper", "varchar",
	// numeric
	"abs", "acos", "acosd", "acosh", "asin", "asind", "asinh", "atan", "atan2", "atan2d",
	"atand", "atanh", "bool", "cbrt", "ceil", "ceiling", "cos", "cosd", "cosh", "cot", "cotd",
	"degrees", "div", "exp", "factorial", "float4", "float8", "floor", "gcd", "int2", "int4",
	"int8", "lcm", "ln", "log", "log10", "min_scale", "mod", "numeric", "pi", "power",
	"radians", "random", "round", "scale", "sign", "sin", "sind", "sinh", "sqrt", "tan",
	"tand", "tanh", "trim_scale", "trunc", "width_bucket",
	// formatting
	"to_char", "to_date", "to_number", "to_timestamp",
	// date/time
	"age", "clock_timestamp", "date", "date_bin", "date_part", "date_trunc", "extract",
	"interval", "isfinite", "justify_days", "justify_hours", "justify_interval", "make_date",
	"make_interval", "make_time", "make_timestamp", "make_timestamptz", "now", "overlaps",
	"statement_timestamp", "time", "timeofday", "timestamp", "timestamptz", "timetz",
	"timezone", "transaction_timestamp",
	// enum
	"enum_first", "enum_last", "enum_range",
	// range
	"datemultirange", "daterange", "int4multirange", "int4range", "int8multirange",
	"int8range", "isempty", "lower_inc", "lower_inf", "multirange", "nummultirange",
	"numrange", "range_merge", "tsmultirange", "tsrange", "tstzmultirange", "tstzrange",
	"upper_inc", "upper_inf",
	// array
	"array_append", "array_cat", "array_dims", "array_fill", "array_length", "array_lower",
	"array_ndims", "array_position", "array_positions", "array_prepend", "array_remove",
	"array_replace", "array_to_string", "array_upper", "cardinality", "generate_series",
	"generate_subscripts", "trim_array", "unnest",
	// json
	"array_to_json", "json_agg", "json_array_elements", "json_array_elements_text",
	"json_array_length", "json_build_array", "json_build_object", "json_each",
	"json_each_text", "json_extract_path", "json_extract_path_text", "json_object",
	"json_object_agg", "json_object_keys", "json_populate_record", "json_populate_recordset",
	"json_strip_nulls", "json_to_record", "json_to_recordset", "json_typeof", "jsonb_agg",
	"jsonb_array_elements", "jsonb_array_elements_text", "jsonb_array_length",
	"jsonb_build_array", "jsonb_build_object", "jsonb_each", "jsonb_each_text",
	"jsonb_extract_path", "jsonb_extract_path_text", "jsonb_insert", "jsonb_object",
	"jsonb_object_agg", "jsonb_object_keys", "jsonb_path_exists", "jsonb_path_exists_tz",
	"jsonb_path_match", "jsonb_path_match_tz", "jsonb_path_query", "jsonb_path_query_array",
	"jsonb_path_query_array_tz", "jsonb_path_query_first", "jsonb_path_query_first_tz",
	"jsonb_path_query_tz", "jsonb_populate_record", "jsonb_populate_recordset", "jsonb_pretty",
	"jsonb_set", "jsonb_set_lax", "jsonb_strip_nulls", "jsonb_to_record", "jsonb_to_recordset",
	"jsonb_typeof", "row_to_json", "to_json", "to_jsonb",
	// uuid
	"gen_random_uuid",
	// text search
	"array_to_tsvector", "get_current_ts_config", "json_to_tsvector", "jsonb_to_tsvector",
	"numnode", "phraseto_tsquery", "plainto_tsquery", "querytree", "setweight", "strip",
	"to_tsquery", "to_tsvector", "ts_delete", "ts_filter", "ts_headline", "ts_rank",
	"ts_rank_cd", "tsquery_phrase", "tsvector_to_array", "websearch_to_tsquery",
	// aggregates
	"array_agg", "avg", "bit_and", "bit_or", "bit_xor", "bool_and", "bool_or", "corr", "count",
	"covar_pop", "covar_samp", "every", "max", "min", "mode", "percentile_cont",
	"percentile_disc", "range_agg", "range_intersect_agg", "regr_avgx", "regr_avgy",
	"regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy",
	"regr_syy", "stddev", "stddev_pop", "stddev_samp", "string_agg", "sum", "var_pop",
	"var_samp", "variance",
	// window (and hypothetical-set aggregates)
	"cume_dist", "dense_rank", "first_value", "lag", "last_value", "lead", "nth_value",
	"ntile", "percent_rank", "rank", "row_number",
	// comparison / conditional
	"num_nonnulls", "num_nulls",
	// hashing of the argument (advisory lock keys)
	"hashtext", "hashtextextended",
	// locks that end with the transaction
	"pg_advisory_xact_lock", "pg_advisory_xact_lock_shared", "pg_try_advisory_xact_lock",
	"pg_try_advisory_xact_lock_shared",
}

var safeFunctionSet = func() map[string]struct{} {
	m := make(map[string]struct{}, len(safeFunctions))
	for _, f := range safeFunctions {
		m[f] = struct{}{}
	}
	return m
}()

// SafeFunctions returns the names of the pg_catalog functions that the
// guard allows in every statement, sorted: string, numeric, formatting,
// date and time, enum, range, array, JSON, uuid, text search (without
// ts_rewrite and ts_stat, which run a query given as text), aggregate and
// window functions, num_nulls and num_nonnulls, and the advisory locks
// that end with the transaction. Every other function is refused
// ([RuleFunction]) unless the model declares it ([rls.Config.Functions])
// or it is in the model's helper schema. It returns a new slice on each
// call and is safe for concurrent use.
func SafeFunctions() []string {
	out := slices.Clone(safeFunctions)
	slices.Sort(out)
	return slices.Compact(out)
}

// systemSchema reports whether schema is one of PostgreSQL's own:
// pg_catalog, information_schema, pg_toast and the temporary schemas
// (pg_temp, pg_temp_N, pg_toast_temp_N).
func systemSchema(schema string) bool {
	return schema == "pg_catalog" || schema == "information_schema" ||
		strings.HasPrefix(schema, "pg_temp") || strings.HasPrefix(schema, "pg_toast")
}

// qualifiedName splits a function or operator name list into schema and
// name; schema is "" when the name is unqualified. A three-part name
// (database.schema.name) is judged by its last two parts: the server
// refuses any other database.
func qualifiedName(parts []*pg_query.Node) (schema, name string) {
	n := len(parts)
	if n == 0 {
		return "", ""
	}
	name = parts[n-1].GetString_().GetSval()
	if n >= 2 {
		schema = parts[n-2].GetString_().GetSval()
	}
	return schema, name
}

// allowsFunction reports whether a call of schema.name (schema "" when the
// call is unqualified) is allowed: a safe pg_catalog function (unqualified
// calls resolve to pg_catalog first), one of the model's helpers
// ([rls.Model.IsHelper]), or a function the model declares (an unqualified call matches
// a declared function of that name in any schema, since it may resolve to
// it through the search_path).
func (c *config) allowsFunction(schema, name string) bool {
	switch schema {
	case "":
		if _, ok := safeFunctionSet[name]; ok {
			return true
		}
		_, ok := c.declared[name]
		return ok
	case "pg_catalog":
		if _, ok := safeFunctionSet[name]; ok {
			return true
		}
	}
	return c.model.IsHelper(schema, name) || c.model.AllowsFunction(schema, name)
}

func (a *analyzer) funcCall(f *pg_query.FuncCall) {
	schema, name := qualifiedName(f.Funcname)
	if name == "set_config" && (schema == "" || schema == "pg_catalog") {
		a.refuseFunc(RuleSetConfig, schema, name, f.Location)
		return
	}
	if !a.cfg.allowsFunction(schema, name) {
		a.refuseFunc(RuleFunction, schema, name, f.Location)
	}
}

// operator refuses an operator qualified with another schema than
// pg_catalog (OPERATOR(public.=)): an unqualified operator resolves to
// pg_catalog's first, a qualified one to whatever that schema defines.
func (a *analyzer) operator(name []*pg_query.Node, pos int32) {
	if schema, op := qualifiedName(name); schema != "" && schema != "pg_catalog" {
		a.refuseFunc(RuleOperator, schema, op, pos)
	}
}

func (a *analyzer) refuseFunc(rule Rule, schema, name string, pos int32) {
	if a.refusal != nil {
		return
	}
	a.refuse(rule, "", pos)
	if schema != "" {
		name = schema + "." + name
	}
	a.refusal.Func = name
}
