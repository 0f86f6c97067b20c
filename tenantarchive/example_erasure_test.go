package tenantarchive_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/mydentalpractice/tenancy/tenantarchive"
)

// An erasure record is a document the platform keeps: ParseErasure
// checks its form and digest, and an edited count is caught.
func ExampleParseErasure() {
	rec := tenantarchive.Erasure{
		Format: tenantarchive.ErasureFormat, Version: tenantarchive.ErasureVersion,
		Tenant: "42", KeyType: "bigint", Reason: "the tenant closed its account",
		Retention: tenantarchive.RetainAuditChain, BatchSize: 1000,
		ErasedAt: time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC),
		Relations: []tenantarchive.ErasedRelation{
			{Name: "app.invoices", Class: tenantarchive.ClassErased, Deleted: 1200},
			{Name: "audit.events", Class: tenantarchive.ClassKept, Remaining: 31},
		},
		Registry: "app.tenants", Checked: true,
	}
	sum := sha256.Sum256(rec.Encode()) // Erase sets the digest so
	rec.Digest = hex.EncodeToString(sum[:])
	doc, _ := rec.Marshal()

	got, err := tenantarchive.ParseErasure(doc)
	fmt.Println(err)
	inv, _ := got.Relation("app.invoices")
	fmt.Println(inv.Name, inv.Class, inv.Deleted, inv.Remaining)

	got.Relations[0].Deleted = 1199
	edited, _ := got.Marshal()
	_, err = tenantarchive.ParseErasure(edited)
	fmt.Println(err)
	// Output:
	// <nil>
	// app.invoices erased 1200 0
	// tenantarchive: the archive or record does not match its digests: the erasure record's digest does not match its fields
}
