package audit_test

import (
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// BenchmarkAction compares an action (one insert in a tenant transaction)
// with the same action and its audit event. Compare the two with
// benchstat and report the ratio.
func BenchmarkAction(b *testing.B) {
	f := setup(b)
	ctx := staff(clinicA, ownerA, "owner")
	action := func(b *testing.B, audited bool) {
		b.ReportAllocs()
		for b.Loop() {
			err := f.app.Tx(ctx, func(tx *tenantdb.Tx) error {
				id := tenancy.NewID()
				if _, err := tx.Exec(ctx, `insert into public.notes (tenant_id, id, body) values ($1, $2, 'x')`, clinicA, id); err != nil {
					return err
				}
				if !audited {
					return nil
				}
				_, err := audit.Record(ctx, tx, audit.Event{Action: "note.create", ResourceType: "note", ResourceID: id.String(), Outcome: audit.Success})
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("bare", func(b *testing.B) { action(b, false) })
	b.Run("audited", func(b *testing.B) { action(b, true) })
}
