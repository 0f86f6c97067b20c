package e2e

import (
	"context"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	riverside = seed.Clinics[0]
	hillcrest = seed.Clinics[1]
)

// startApp is the app the leak, model and route tests share, started once
// for the test binary. Each test makes the accounts and records it
// changes.
func startApp(t *testing.T) *apptest.App { return apptest.Shared(t, "e2e", apptest.Options{}) }

// relSharedApp is one app, on a database of its own that lives as long as
// the test binary, for the reliability tests that need no settings of
// their own (TestSoak, TestTerminateMidTransaction, TestBadInputCorpus,
// TestMetacharactersAreData): starting an app costs seconds. Those tests
// do not run in parallel, so each still has the database to itself while
// it runs. The other reliability tests each run an app of their own
// (apptest.Start), with the settings they need: nothing else writes
// there, so every count and snapshot they take is theirs alone.
func relSharedApp(t *testing.T) *apptest.App {
	return apptest.Shared(t, "reliability", apptest.Options{MaxConns: 16})
}

// clinicTokens signs in the demo owner of each clinic (roles owner and
// dentist: they may book, bill and manage patients).
func clinicTokens(t *testing.T, a *apptest.App) map[tenancy.ID]string {
	t.Helper()
	out := map[tenancy.ID]string{}
	for _, c := range seed.Clinics {
		out[c.ID] = a.SignIn(t, seed.StaffEmail("owner", c), tenancy.ID{})
	}
	return out
}

// staffRole adds a staff account of c with exactly roles and signs it in.
func staffRole(t *testing.T, a *apptest.App, c seed.Clinic, roles ...string) (tenancy.ID, string) {
	t.Helper()
	s := a.NewStaff(t, c, roles...)
	return s.ID, s.Token
}

type patientJSON struct {
	ID         tenancy.ID `json:"id"`
	ClinicID   tenancy.ID `json:"clinic_id"`
	GivenName  string     `json:"given_name"`
	FamilyName string     `json:"family_name"`
}

// alexAt returns Alex Morgan's patient id at clinic.
func alexAt(t *testing.T, a *apptest.App, clinic tenancy.ID) tenancy.ID {
	t.Helper()
	var id tenancy.ID
	if err := a.SuperConn(t).QueryRow(context.Background(),
		`select id from patients where clinic_id = $1 and given_name = 'Alex' and family_name = 'Morgan'`, clinic).Scan(&id); err != nil {
		t.Fatalf("Alex Morgan at %v: %v", clinic, err)
	}
	return id
}
