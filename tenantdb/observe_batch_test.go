package tenantdb_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestObserveRefusedBatch: a batch that the guard refuses at its third
// statement sends none of it, and the transaction's event counts none of
// it: only the statement the work sent.
func TestObserveRefusedBatch(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 2, "")
	var rec events
	p := newPool(t, pool, tenantdb.Config{Guard: realGuard(t, db), Observe: rec.observe})
	ctxA := staffCtx(clinicA, staffA)
	err := p.Tx(ctxA, func(tx *tenantdb.Tx) error {
		var n int
		if err := tx.QueryRow(ctxA, "select count(*) from patients where clinic_id = $1", clinicA).Scan(&n); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue("select count(*) from patients where clinic_id = $1", clinicA)
		b.Queue("select count(*) from notes where clinic_id = $1", clinicA)
		b.Queue("select count(*) from patients") // unscoped: refused
		if err := tx.SendBatch(ctxA, b).Close(); err == nil {
			t.Error("the unscoped batch went through")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := summary(t, rec.take())
	want := []seen{
		{Kind: tenantdb.EventRefused, Tenant: clinicA, Rule: sqlguard.RuleUnscoped},
		{Kind: tenantdb.EventTx, Tenant: clinicA, Statements: 1},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("events %+v, want %+v", got, want)
	}
}
