package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
)

// TestProductionModeNeedsEveryRole: with DATABASE_URL set, the owner and
// platform connections are required, and the error says which is missing,
// before anything connects.
func TestProductionModeNeedsEveryRole(t *testing.T) {
	appURL := "host=127.0.0.1 port=1 user=dental_app dbname=x"
	for _, tt := range []struct {
		cfg  app.Config
		want string
	}{
		{app.Config{DatabaseURL: appURL}, "MIGRATION_DATABASE_URL"},
		{app.Config{DatabaseURL: appURL, MigrationDatabaseURL: "host=127.0.0.1 port=1 user=dental_owner dbname=x"}, "PLATFORM_DATABASE_URL"},
		{app.Config{DatabaseURL: appURL, MigrationDatabaseURL: "host=127.0.0.1 port=1 user=same dbname=x",
			PlatformDatabaseURL: "host=127.0.0.1 port=1 user=same dbname=x"}, "three different roles"},
	} {
		err := app.Run(context.Background(), tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("app.Run(%+v) = %v, want an error naming %s", tt.cfg, err, tt.want)
		}
	}
}
