package sqlguard

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// analyzer walks one parsed statement. It keeps the first refusal it
// finds and the parameters and literals that must be the tenant.
type analyzer struct {
	cfg      *config
	refusal  *RefusalError
	params   []paramUse
	literals []literalUse
	stmtPos  int32
	levels   map[*pg_query.SelectStmt]*level // plain SELECT levels, for INSERT ... SELECT

	// probe is set on an analyzer that only finds out what a sub-select
	// returns (see probeSub): it walks no expressions, and its refusal and
	// uses are dropped.
	probe  bool
	probes map[*pg_query.SubLink]*output // shared by an analyzer and its probes
}

func (a *analyzer) refuse(rule Rule, table string, pos int32) {
	if a.refusal != nil {
		return
	}
	if pos < a.stmtPos {
		pos = a.stmtPos
	}
	a.refusal = &RefusalError{Table: table, Rule: rule, Pos: int(pos)}
}

// statement checks one top-level statement: default deny, with the
// allowed kinds analysed further.
func (a *analyzer) statement(raw *pg_query.RawStmt) {
	a.stmtPos = raw.StmtLocation
	pos := raw.StmtLocation
	switch s := raw.Stmt.GetNode().(type) {
	case *pg_query.Node_SelectStmt:
		a.selectStmt(s.SelectStmt, nil, nil)
	case *pg_query.Node_InsertStmt:
		a.insertStmt(s.InsertStmt, nil, nil)
	case *pg_query.Node_UpdateStmt:
		a.updateStmt(s.UpdateStmt, nil, nil)
	case *pg_query.Node_DeleteStmt:
		a.deleteStmt(s.DeleteStmt, nil, nil)
	case *pg_query.Node_VariableSetStmt:
		a.setStmt(s.VariableSetStmt, pos)
	case *pg_query.Node_TransactionStmt:
		switch s.TransactionStmt.Kind {
		case pg_query.TransactionStmtKind_TRANS_STMT_SAVEPOINT,
			pg_query.TransactionStmtKind_TRANS_STMT_RELEASE,
			pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		default:
			a.refuse(RuleTransaction, "", pos)
		}
	case *pg_query.Node_TruncateStmt:
		table := ""
		if rels := s.TruncateStmt.Relations; len(rels) > 0 {
			table = rangeVarName(rels[0].GetRangeVar())
		}
		a.refuse(RuleTruncate, table, pos)
	case *pg_query.Node_CopyStmt:
		a.refuse(RuleCopy, rangeVarName(s.CopyStmt.Relation), pos)
	case nil:
		a.refuse(RuleStatementKind, "", pos)
	default:
		if isDDL(raw.Stmt) {
			a.refuse(RuleDDL, "", pos)
		} else {
			a.refuse(RuleStatementKind, "", pos)
		}
	}
}

// ddlPrefixes are the prefixes of the parse tree's statement node names
// (the protobuf oneof names of pg_query.Node) that change schema objects
// or privileges.
var ddlPrefixes = []string{
	"create_", "alter_", "drop_", "grant_", "comment_", "sec_label_",
	"rename_", "reindex_", "cluster_", "vacuum_", "refresh_mat_view_",
	"import_foreign_schema_", "define_", "index_stmt", "view_stmt",
	"rule_stmt", "composite_type_", "reassign_owned_", "truncate_",
}

func isDDL(n *pg_query.Node) bool {
	m := n.ProtoReflect()
	od := m.Descriptor().Oneofs().ByName("node")
	if od == nil {
		return false
	}
	fd := m.WhichOneof(od)
	if fd == nil {
		return false
	}
	name := string(fd.Name())
	for _, p := range ddlPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// settingPrefix is the prefix of the settings that carry the tenant
// context (see the rls package's Setting constants).
const settingPrefix = "tenancy."

// localDenied lists settings that even SET LOCAL may not change.
var localDenied = map[string]bool{
	"role":                  true,
	"session_authorization": true,
	"search_path":           true,
	"client_encoding":       true,
}

func (a *analyzer) setStmt(v *pg_query.VariableSetStmt, pos int32) {
	name := strings.ToLower(v.Name) // setting names are case-insensitive
	switch v.Kind {
	case pg_query.VariableSetKind_VAR_SET_MULTI:
		// SET [LOCAL] TRANSACTION ... lasts for the transaction; SET
		// SESSION CHARACTERISTICS and SET TRANSACTION SNAPSHOT do not fit.
		if name != "transaction" {
			a.refuse(RuleSet, "", pos)
		}
		return
	case pg_query.VariableSetKind_VAR_SET_VALUE, pg_query.VariableSetKind_VAR_SET_DEFAULT,
		pg_query.VariableSetKind_VAR_SET_CURRENT:
		if !v.IsLocal || localDenied[name] || strings.HasPrefix(name, settingPrefix) {
			a.refuse(RuleSet, "", pos)
		}
		return
	}
	// RESET, RESET ALL and anything unknown.
	a.refuse(RuleSet, "", pos)
}

func rangeVarName(rv *pg_query.RangeVar) string {
	if rv == nil {
		return ""
	}
	if rv.Schemaname != "" {
		return rv.Schemaname + "." + rv.Relname
	}
	return rv.Relname
}
