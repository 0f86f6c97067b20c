package tenantriver_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantriver"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestSchemaGolden: the SQL of Schema for each tenant key type, and the
// model's SQL for River's tables, against testdata.
func TestSchemaGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  tenancy.KeyType
	}{{"uuid", tenancy.KeyUUID}, {"bigint", tenancy.KeyBigint}, {"text", tenancy.KeyText}} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := rls.NewModel(rls.Config{TenantKey: tt.key}, tenantriver.Tables("jobs")...)
			if err != nil {
				t.Fatal(err)
			}
			prep, err := tenantriver.Schema(m, "jobs")
			if err != nil {
				t.Fatal(err)
			}
			tables, err := m.GenerateTables()
			if err != nil {
				t.Fatal(err)
			}
			got := prep + "\n-- rls.Model.GenerateTables of tenantriver.Tables:\n\n" + tables
			path := filepath.Join("testdata", "schema_"+tt.name+".sql")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("SQL differs from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestSchemaAndNewRefuseModels(t *testing.T) {
	without, err := rls.NewModel(rls.Config{}, rls.Table{Name: "public.notes"})
	if err != nil {
		t.Fatal(err)
	}
	with, err := rls.NewModel(rls.Config{}, tenantriver.Tables("")...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tenantriver.Schema(nil, ""); !errors.Is(err, tenantriver.ErrInvalidConfig) {
		t.Errorf("Schema(nil): %v, want ErrInvalidConfig", err)
	}
	if _, err := tenantriver.Schema(without, ""); !errors.Is(err, tenantriver.ErrInvalidConfig) {
		t.Errorf("Schema of a model without River's tables: %v, want ErrInvalidConfig", err)
	}
	if _, err := tenantriver.Schema(with, "other"); !errors.Is(err, tenantriver.ErrInvalidConfig) {
		t.Errorf("Schema of another schema than the model's: %v, want ErrInvalidConfig", err)
	}
	for _, tt := range []struct {
		name string
		cfg  tenantriver.Config
	}{
		{"short key", tenantriver.Config{Key: []byte("short"), Model: with}},
		{"short previous key", tenantriver.Config{Key: testKey, PreviousKeys: [][]byte{[]byte("short")}, Model: with}},
		{"no model", tenantriver.Config{Key: testKey}},
		{"model without River's tables", tenantriver.Config{Key: testKey, Model: without}},
		{"other schema", tenantriver.Config{Key: testKey, Model: with, Schema: "other"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tenantriver.New(tt.cfg); !errors.Is(err, tenantriver.ErrInvalidConfig) {
				t.Errorf("New: %v, want ErrInvalidConfig", err)
			}
		})
	}
}
