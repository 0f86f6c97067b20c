package rls

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mydentalpractice/tenancy/internal/pgparse"
)

// FuzzGenerate gives Generate arbitrary names for the helper schema, the
// tenant and subject columns, the three roles, a table's schema and name,
// and a read role. Names that the documentation refuses must give an
// error, never a panic; every other set must give SQL that parses, and
// that parses to the same tree, statement by statement and node by node
// (function and DO bodies included), as the SQL generated from plain
// names in the same pattern of equalities: a name can change only the
// names in the tree, so no name can inject SQL.
func FuzzGenerate(f *testing.F) {
	f.Add("tenancy", "clinic_id", "patient_id", "tenancy_owner", "tenancy_app", "tenancy_platform", "public", "patients", "owner")
	f.Add("Tenancy Helpers", `Clinic "ID"`, "patient id", "owner's role", "user", `platform\role$tenancy$`, "Odd", "order", "o'wner")
	f.Add("s", "c", "x", "public", "current_user", "none", "select", "table", "a")
	f.Add(`x"; DROP TABLE t; --`, "c\u00e9", "$function$", "$tenancy$", "'", `\`, "pg_catalog", "t t", "r")
	f.Add("", "", "", "", "", "", "public", "patients", "")
	f.Add("s", "c", "x", "o", "current_user", "session_user", "select", "table", "a")
	f.Add("s", "c", "x", "o", "public", "PUBLIC", "s", "t", "a")
	f.Add("a.b", "c", "c", "o", "o", "p", "s", "t", "r,s")
	f.Fuzz(func(t *testing.T, schema, tenantCol, subjectCol, owner, app, platform, tschema, tname, readRole string) {
		cfg := Config{Schema: schema, TenantColumn: tenantCol, OwnerRole: owner, AppRole: app, PlatformRole: platform}
		tbl := Table{Name: tschema + "." + tname, SubjectColumn: subjectCol, ReadRoles: []string{readRole}}
		registry := Table{Name: "public.clinics", Kind: Registry}
		sql, err := Generate(cfg, registry, tbl)

		names := []string{cmpOr(schema, DefaultSchema), cmpOr(tenantCol, DefaultTenantColumn), cmpOr(owner, DefaultOwnerRole),
			cmpOr(app, DefaultAppRole), cmpOr(platform, DefaultPlatformRole), tschema, tname}
		if subjectCol != "" {
			names = append(names, subjectCol)
		}
		valid := !slices.ContainsFunc(names, func(s string) bool { return !validIdent(s) }) &&
			!strings.Contains(tname, ".") && !strings.Contains(tschema, ".") &&
			(subjectCol == "" || subjectCol != cmpOr(tenantCol, DefaultTenantColumn)) &&
			readRole != "" && !strings.ContainsAny(readRole, ",|{}\"\\\x00") && utf8.ValidString(readRole) &&
			cmpOr(app, DefaultAppRole) != cmpOr(owner, DefaultOwnerRole) && cmpOr(app, DefaultAppRole) != cmpOr(platform, DefaultPlatformRole) &&
			cmpOr(owner, DefaultOwnerRole) != cmpOr(platform, DefaultPlatformRole) &&
			tbl.Name != registry.Name &&
			// PostgreSQL's own schemas hold only registries (Table, Kind)
			tschema != "pg_catalog" && tschema != "information_schema" &&
			!strings.HasPrefix(tschema, "pg_toast") && !strings.HasPrefix(tschema, "pg_temp") &&
			!slices.ContainsFunc([]string{cmpOr(owner, DefaultOwnerRole), cmpOr(app, DefaultAppRole), cmpOr(platform, DefaultPlatformRole)}, func(r string) bool {
				return r == "public" || r == "none" || strings.HasPrefix(r, "pg_") // reserved by PostgreSQL
			})
		switch {
		case err != nil && valid:
			t.Fatalf("Generate refused valid names: %v", err)
		case err == nil && !valid:
			t.Fatalf("Generate accepted invalid names: %q", names)
		case err != nil:
			return
		}

		// The same pattern of equalities, with plain names.
		plain := map[string]string{}
		name := func(s string) string {
			if p, ok := plain[s]; ok {
				return p
			}
			p := fmt.Sprintf("n%d", len(plain))
			plain[s] = p
			return p
		}
		name("public")
		name("clinics")
		pcfg := Config{Schema: name(cmpOr(schema, DefaultSchema)), TenantColumn: name(cmpOr(tenantCol, DefaultTenantColumn)),
			OwnerRole: name(cmpOr(owner, DefaultOwnerRole)), AppRole: name(cmpOr(app, DefaultAppRole)), PlatformRole: name(cmpOr(platform, DefaultPlatformRole))}
		ptbl := Table{Name: name(tschema) + "." + name(tname), ReadRoles: []string{"r" + name(readRole)}}
		if subjectCol != "" {
			ptbl.SubjectColumn = name(subjectCol)
		}
		preg := Table{Name: plain["public"] + "." + plain["clinics"], Kind: Registry}
		want, err := Generate(pcfg, preg, ptbl)
		if err != nil {
			t.Fatalf("Generate with plain names: %v", err)
		}
		if err := sameSQL(want, sql); err != nil {
			t.Fatalf("the SQL's shape depends on the names: %v\nnames: %q\n%s", err, names, sql)
		}
	})
}

// cmpOr is cmp.Or for strings, as Config's defaults apply.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// validIdent restates the documented rule for names: non-empty, at most
// 63 bytes of valid UTF-8, no control characters.
func validIdent(s string) bool {
	return s != "" && len(s) <= 63 && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// sameSQL parses both scripts and compares their trees.
func sameSQL(want, got string) error {
	w, err := pgparse.ParseToJSON(want)
	if err != nil {
		return fmt.Errorf("the plain SQL does not parse: %v", err)
	}
	g, err := pgparse.ParseToJSON(got)
	if err != nil {
		return fmt.Errorf("the SQL does not parse: %v", err)
	}
	return sameTree(w, g, "sql")
}

func sameTree(wantJSON, gotJSON, where string) error {
	var w, g any
	if err := json.Unmarshal([]byte(wantJSON), &w); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(gotJSON), &g); err != nil {
		return err
	}
	return sameShape(w, g, where)
}

var enumLike = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// sameShape compares two parse trees: the same keys, lengths, booleans
// and enum values; strings may differ (names and literals), but a string
// that is itself SQL or PL/pgSQL in the plain tree (a function or DO body)
// must parse to the same shape in the other. Numbers (locations) are not
// compared.
func sameShape(w, g any, where string) error {
	switch wv := w.(type) {
	case map[string]any:
		gv, ok := g.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: object vs %T", where, g)
		}
		var wk, gk []string
		for k := range wv {
			wk = append(wk, k)
		}
		for k := range gv {
			gk = append(gk, k)
		}
		slices.Sort(wk)
		slices.Sort(gk)
		if !slices.Equal(wk, gk) {
			return fmt.Errorf("%s: keys %v vs %v", where, wk, gk)
		}
		for _, k := range wk {
			if err := sameShape(wv[k], gv[k], where+"."+k); err != nil {
				return err
			}
		}
	case []any:
		gv, ok := g.([]any)
		if !ok || len(gv) != len(wv) {
			return fmt.Errorf("%s: %d elements vs %v", where, len(wv), g)
		}
		for i := range wv {
			if err := sameShape(wv[i], gv[i], fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return err
			}
		}
	case string:
		gv, ok := g.(string)
		switch {
		case !ok:
			return fmt.Errorf("%s: string vs %T", where, g)
		case wv == gv:
		case enumLike.MatchString(wv):
			return fmt.Errorf("%s: %s vs %q", where, wv, gv)
		case strings.ContainsAny(wv, " \n"):
			if wt, err := pgparse.ParseToJSON(wv); err == nil {
				gt, err := pgparse.ParseToJSON(gv)
				if err != nil {
					return fmt.Errorf("%s: the body does not parse: %v\n%s", where, err, gv)
				}
				return sameTree(wt, gt, where+"(sql)")
			}
			if wt, err := pgparse.ParsePlPgSQLToJSON(plpgsqlFunction(wv)); err == nil {
				gt, err := pgparse.ParsePlPgSQLToJSON(plpgsqlFunction(gv))
				if err != nil {
					return fmt.Errorf("%s: the PL/pgSQL body does not parse: %v\n%s", where, err, gv)
				}
				return sameTree(wt, gt, where+"(plpgsql)")
			}
		}
	case bool:
		if g != wv {
			return fmt.Errorf("%s: %v vs %v", where, wv, g)
		}
	}
	return nil
}

// plpgsqlFunction wraps a DO or function body so that pg_query parses it.
func plpgsqlFunction(body string) string {
	tag := "$pgq$"
	for i := 0; strings.Contains(body, tag); i++ {
		tag = fmt.Sprintf("$pgq%d$", i)
	}
	return "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS " + tag + body + tag
}

// TestGenerateRefusesReservedRoles: FuzzGenerate found that a role named
// public, even quoted, is the PUBLIC pseudo-role in a GRANT, so a config
// naming it would grant the tables to every role. Generate refuses the
// names PostgreSQL reserves for roles, and accepts look-alikes.
func TestGenerateRefusesReservedRoles(t *testing.T) {
	tbl := Table{Name: "public.patients"}
	for _, name := range []string{"public", "none", "pg_read_all_data", "pg_x"} {
		for _, cfg := range []Config{{OwnerRole: name}, {AppRole: name}, {PlatformRole: name}} {
			if _, err := Generate(cfg, tbl); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Generate(%+v) = %v, want ErrInvalidConfig", cfg, err)
			}
		}
	}
	for _, name := range []string{"PUBLIC", "Public", "public_app", "none2", "pgx", "current_user"} {
		if _, err := Generate(Config{AppRole: name}, tbl); err != nil {
			t.Errorf("Generate with app role %q: %v", name, err)
		}
	}
}
