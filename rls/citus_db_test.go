package rls_test

import (
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

// TestGenerateCitusSettingOnPostgres runs the part of the Citus section
// that plain PostgreSQL can run, the database's
// citus.propagate_set_commands, twice, and reads it back from the catalog
// and from a new session of the app role. (The create_*_table calls need
// Citus, which cannot be installed here; they are checked as text by the
// golden test.) Without Citus loaded the parameter is a placeholder, which
// PostgreSQL 15+ lets only a superuser set for a database, so this runs it
// as the superuser and shows the owner role refused; Citus defines it as
// a parameter any user may set (PGC_USERSET), so on a coordinator the
// owner role, which owns the database, may: that part is on paper.
func TestGenerateCitusSettingOnPostgres(t *testing.T) {
	db := migrated(t)
	sql, err := rls.GenerateCitus(config(db), fixtureTables...)
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(sql, "DO $tenancy$")
	end := strings.Index(sql, "$tenancy$;\n")
	if start < 0 || end < start {
		t.Fatalf("no DO block in the Citus section:\n%s", sql)
	}
	block := sql[start : end+len("$tenancy$;")]
	if _, err := db.Conn(t, pgtest.Owner).Exec(t.Context(), block); sqlState(err) != "42501" {
		t.Errorf("the owner role setting the placeholder on plain PostgreSQL: %v, want SQLSTATE 42501", err)
	}
	db.Exec(t, pgtest.Admin, block)
	db.Exec(t, pgtest.Admin, block)
	var got string
	err = db.Conn(t, pgtest.Admin).QueryRow(t.Context(), `
		SELECT array_to_string(s.setconfig, ',')
		FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
		WHERE d.datname = current_database() AND s.setrole = 0`).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}
	if want := "citus.propagate_set_commands=local"; got != want {
		t.Errorf("the database's settings = %q, want %q", got, want)
	}
	// A new session of the app role sees it.
	var setting string
	if err := db.Conn(t, pgtest.App).QueryRow(t.Context(), `SELECT current_setting('citus.propagate_set_commands', true)`).Scan(&setting); err != nil {
		t.Fatal(err)
	}
	if setting != "local" {
		t.Errorf("a new session's citus.propagate_set_commands = %q, want local", setting)
	}
}
