package audit_test

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
)

// A checkpoint is signed with a key the database never sees, kept
// elsewhere as JSON, and verified later with the public key. In
// production [audit.ReadCheckpoint] fills it from the database and
// [audit.VerifyCheckpoint] compares the database with it.
func ExampleCheckpoint_Sign() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // keep yours in a file: audit.LoadOrCreateKey
	cp := audit.Checkpoint{
		Time:     time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Registry: "public.clinics.id",
		KeyType:  tenancy.KeyUUID,
		Platform: audit.Head{Seq: 2, Hash: audit.Hash{0xaa}},
		Tenants: []audit.TenantHead{
			{Tenant: tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a"), Head: audit.Head{Seq: 5, Hash: audit.Hash{0xbb}}},
		},
	}
	if err := cp.Sign(key); err != nil {
		panic(err)
	}
	b, err := cp.Marshal()
	if err != nil {
		panic(err)
	}

	kept, err := audit.ParseCheckpoint(b)
	if err != nil {
		panic(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	fmt.Println("key id:", kept.KeyID)
	fmt.Println("verified:", kept.Verify(pub))
	kept.Tenants[0].Head.Seq = 3 // a shorter chain, after the fact
	fmt.Println("edited:", kept.Verify(pub))
	// Output:
	// key id: 139e3940e64b5491
	// verified: <nil>
	// edited: audit: bad signature: the signature does not match the content (key 139e3940e64b5491)
}

// A receipt is one tenant's chain head, signed, for the tenant's owner to
// keep.
func ExampleReceipt_Verify() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	r := audit.Receipt{
		Tenant: tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a"),
		Head:   audit.Head{Seq: 5, Hash: audit.Hash{0xbb}},
		Time:   time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	}
	if err := r.Sign(key); err != nil {
		panic(err)
	}
	b, _ := r.Marshal()
	kept, err := audit.ParseReceipt(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(kept.Tenant, kept.Head.Seq, kept.Verify(key.Public().(ed25519.PublicKey)))
	// Output:
	// 0195f1c2-0000-7000-8000-00000000000a 5 <nil>
}
