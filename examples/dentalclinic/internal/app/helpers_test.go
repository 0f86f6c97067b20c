package app_test

import (
	"net/http"
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

type auditEventJSON struct {
	Seq          int64      `json:"seq"`
	ClinicID     tenancy.ID `json:"clinic_id"`
	Action       string     `json:"action"`
	ResourceID   string     `json:"resource_id"`
	Actor        *tenancy.ID
	Impersonator *tenancy.ID `json:"impersonator"`
}

// auditLog reads every page of the clinic's audit log as the owner.
func auditLog(t *testing.T, a *apptest.App, ownerToken string) []auditEventJSON {
	t.Helper()
	var all []auditEventJSON
	cursor := ""
	for {
		var page struct {
			Items      []auditEventJSON `json:"items"`
			NextCursor *string          `json:"next_cursor"`
		}
		r := a.Do(t, "GET", "/api/v1/audit?limit=200&cursor="+cursor, ownerToken, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /audit: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &page)
		all = append(all, page.Items...)
		if page.NextCursor == nil {
			return all
		}
		cursor = *page.NextCursor
	}
}
