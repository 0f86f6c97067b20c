package apptest

import (
	"net/http"
	"testing"

	"github.com/mydentalpractice/tenancy"
)

// AuditEvent is an entry of a clinic's audit log as GET /api/v1/audit
// answers it: the fields the tests read.
type AuditEvent struct {
	Seq          int64       `json:"seq"`
	ClinicID     tenancy.ID  `json:"clinic_id"`
	Action       string      `json:"action"`
	ResourceID   string      `json:"resource_id"`
	Actor        *tenancy.ID `json:"actor"`
	Impersonator *tenancy.ID `json:"impersonator"`
}

// AuditLog reads every page of the clinic's audit log with an owner's
// token, failing the test on any answer but 200.
func (a *App) AuditLog(t testing.TB, ownerToken string) []AuditEvent {
	t.Helper()
	var all []AuditEvent
	cursor := ""
	for {
		var page struct {
			Items      []AuditEvent `json:"items"`
			NextCursor *string      `json:"next_cursor"`
		}
		r := a.Do(t, "GET", "/api/v1/audit?limit=200&cursor="+cursor, ownerToken, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /api/v1/audit: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &page)
		all = append(all, page.Items...)
		if page.NextCursor == nil {
			return all
		}
		cursor = *page.NextCursor
	}
}
