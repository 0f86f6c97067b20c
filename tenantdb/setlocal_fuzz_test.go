package tenantdb

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/internal/pgparse"
	"github.com/mydentalpractice/tenancy/rls"
)

// FuzzSetLocalContext gives the SET LOCAL mode arbitrary values: a text
// tenant key, a request id and a role name of the principal. A value that
// cannot be carried (NUL, invalid UTF-8, a role name the packing refuses)
// must give an error wrapping tenancy.ErrInvalidPrincipal, never a
// statement; every other principal must give statements that PostgreSQL's
// own parser reads, joined as pgx's simple protocol sends a batch, as
// exactly the session check, one SET LOCAL of the tenant and one of the
// packed principal (and of the timeout) with exactly the intended values:
// no value can end its literal or add a statement.
func FuzzSetLocalContext(f *testing.F) {
	f.Add("acme", "req-1", "dentist")
	f.Add("o'neil", `it's a \ "request"`, "o'wner")
	f.Add(`\'; reset all; --`, "'; select 1; --", `x\`)
	f.Add("é 日本 🦷", "tab\there\nline\r", "\u2028")
	f.Add("$$", "$x$ E'\\'", "a''b")
	f.Add("a", "nul\x00byte", "r")
	f.Add("a", "bad \xff", "r")
	f.Fuzz(func(t *testing.T, tenantKey, requestID, role string) {
		tenant, err := tenancy.TextID(tenantKey)
		if err != nil {
			tenant = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
		}
		pr := tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: tenant, Subject: tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1"),
			Roles: []string{role}, RequestID: requestID}
		stmts, err := setLocalStatements(pr, 1500*time.Millisecond)
		packed, perr := rls.EncodePrincipal(pr)
		carried := perr == nil && utf8.ValidString(packed) && !strings.Contains(packed, "\x00")
		if !carried {
			if !errors.Is(err, tenancy.ErrInvalidPrincipal) {
				t.Fatalf("a principal that cannot be carried (%q, %v) gave %q, %v", packed, perr, stmts, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("setLocalStatements refused %q: %v", packed, err)
		}
		tree, err := pgparse.Parse(strings.Join(stmts, "\n;"))
		if err != nil {
			t.Fatalf("the statements %q do not parse: %v", stmts, err)
		}
		if len(tree.Stmts) != 4 || len(stmts) != 4 {
			t.Fatalf("%d statements parsed from %q, want 4", len(tree.Stmts), stmts)
		}
		if tree.Stmts[0].Stmt.GetSelectStmt() == nil {
			t.Fatalf("the first statement is %v, want the session check", tree.Stmts[0].Stmt)
		}
		for i, want := range [][2]string{{rls.SettingTenantID, tenant.String()}, {rls.SettingPrincipal, packed}, {"statement_timeout", "1500"}} {
			set := tree.Stmts[i+1].Stmt.GetVariableSetStmt()
			if set == nil || !set.IsLocal || set.Kind != pg_query.VariableSetKind_VAR_SET_VALUE || set.Name != want[0] || len(set.Args) != 1 {
				t.Fatalf("statement %d (%q) is %v, want SET LOCAL %s", i+1, stmts[i+1], tree.Stmts[i+1].Stmt, want[0])
			}
			c := set.Args[0].GetAConst()
			var got string
			switch {
			case c.GetSval() != nil:
				got = c.GetSval().Sval
			case c.GetIval() != nil:
				got = strings.TrimSpace(strings.TrimPrefix(stmts[i+1], setLocalTimeoutSQL))
			default:
				t.Fatalf("statement %d (%q) sets %v", i+1, stmts[i+1], set.Args[0])
			}
			if got != want[1] {
				t.Fatalf("statement %d (%q) sets %s to %q, want %q", i+1, stmts[i+1], want[0], got, want[1])
			}
			if !IsContextSQL(stmts[i+1]) {
				t.Fatalf("IsContextSQL(%q) = false", stmts[i+1])
			}
		}
		if !IsContextSQL(strings.Join(stmts, "; ")) {
			t.Fatalf("IsContextSQL of the joined statements = false")
		}
		// A literal followed by more text is not the SDK's statement.
		if IsContextSQL(stmts[1] + "; select 1") {
			t.Fatalf("IsContextSQL accepts %q", stmts[1]+"; select 1")
		}
	})
}
