package sqlguard_test

import (
	"testing"

	"github.com/mydentalpractice/tenancy/sqlguard"
)

func TestControlsTransaction(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want bool
	}{
		{"select 1", false},
		{"select case when true then 1 end", false},
		{"savepoint a", false},
		{"release savepoint a", false},
		{"rollback to savepoint a", false},
		{"ROLLBACK TO a", false},
		{"insert into t values (1)", false},
		{"commit", true},
		{"COMMIT AND CHAIN", true},
		{"end", true},
		{"rollback", true},
		{"abort", true},
		{"begin", true},
		{"start transaction isolation level serializable", true},
		{"prepare transaction 'x'", true},
		{"commit prepared 'x'", true},
		{"rollback prepared 'x'", true},
		{"select 1; rollback", true},
		{"select 1; /* c */ commit; select 2", true},
		{"-- rollback\nselect 1", false},
		{"select 'rollback'", false},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			for range 2 { // the second answer comes from the cache
				got, err := sqlguard.ControlsTransaction(tc.sql)
				if err != nil || got != tc.want {
					t.Fatalf("ControlsTransaction(%q) = %v, %v; want %v", tc.sql, got, err, tc.want)
				}
			}
		})
	}
	if _, err := sqlguard.ControlsTransaction("rollback to"); err == nil {
		t.Error("ControlsTransaction of text that does not parse gave no error")
	}
}

func BenchmarkControlsTransactionCached(b *testing.B) {
	const sql = "select name from patients where clinic_id = $1 and id = $2"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sqlguard.ControlsTransaction(sql); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRollsBackToSavepoint(t *testing.T) {
	for sql, want := range map[string]bool{
		"rollback to savepoint s":        true,
		"ROLLBACK TO s":                  true,
		"select 1; rollback to s":        true,
		"savepoint s":                    false,
		"release savepoint s":            false,
		"rollback":                       false,
		"select 'rollback to savepoint'": false,
	} {
		got, err := sqlguard.RollsBackToSavepoint(sql)
		if err != nil || got != want {
			t.Errorf("RollsBackToSavepoint(%q) = %v, %v; want %v", sql, got, err, want)
		}
	}
	if _, err := sqlguard.RollsBackToSavepoint("rollback to"); err == nil {
		t.Error("unparsable text gave an answer")
	}
}
