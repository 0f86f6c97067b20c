package app_test

import (
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// startApp is the app the wiring tests that need no settings of their
// own share.
func startApp(t *testing.T) *apptest.App { return apptest.Shared(t, "app", apptest.Options{}) }

var (
	riverside = seed.Clinics[0]
	hillcrest = seed.Clinics[1]
)

type patientJSON struct {
	ID         tenancy.ID `json:"id"`
	ClinicID   tenancy.ID `json:"clinic_id"`
	GivenName  string     `json:"given_name"`
	FamilyName string     `json:"family_name"`
}
