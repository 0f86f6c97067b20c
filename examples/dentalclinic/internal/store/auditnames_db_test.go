package store_test

import (
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// TestAuditEntriesNameStaffRecords: an entry about a staff account
// (staff.create) carries the staff member's name, joined at read time
// like the patients' (the web log named them from a list of its own).
func TestAuditEntriesNameStaffRecords(t *testing.T) {
	st := newStore(t)
	owner := ownerAt(riverside)
	email := "named." + tenancy.NewID().String()[24:] + "@example.org"
	m, err := st.CreateStaff(owner, store.StaffInput{Email: email, Name: "Nadia Namedstaff", Roles: []string{"hygienist"}, Password: "a long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := st.AuditEntries(owner, store.AuditFilter{Actions: []string{"staff.create"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[0].ResourceID != m.ID.String() {
		t.Fatalf("the newest staff.create: %+v; want one about %v", list, m.ID)
	}
	if list[0].StaffName != "Nadia Namedstaff" {
		t.Errorf("the entry about the new account names %q, want Nadia Namedstaff", list[0].StaffName)
	}
}
