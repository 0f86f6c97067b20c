package audit_test

import (
	"fmt"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
)

// The canonical encoding and hash of an event do not depend on Go: any
// program can recompute them from a row of audit.events.
func ExampleEvent_Sum() {
	e := audit.Event{
		ID:           tenancy.MustParseID("0195f1c2-0000-7000-8000-000000000001"),
		Tenant:       tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a"),
		Seq:          1,
		Version:      audit.EncodingVersion,
		OccurredAt:   time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC),
		ActorKind:    tenancy.Kind("platform_admin"),
		Actor:        tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000ff"),
		Grant:        tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000aa"),
		Impersonator: tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000ff"),
		Action:       "impersonation.started", // impersonation.ActionStarted
		ResourceType: "impersonation_grant",
		ResourceID:   "0195f1c2-0000-7000-8000-0000000000aa",
		Outcome:      audit.Success,
		Reason:       "support ticket 4711",
	}
	enc := e.Encode()
	fmt.Println(len(enc), "bytes")
	fmt.Printf("% x\n", enc[:24])
	fmt.Println(e.Sum())

	// Any change, here one second later, changes the hash.
	e.OccurredAt = e.OccurredAt.Add(time.Second)
	fmt.Println(e.Sum())
	// Output:
	// 324 bytes
	// 00 00 00 10 74 65 6e 61 6e 63 79 2f 61 75 64 69 74 2f 76 31 00 00 00 10
	// 1438086b75f03c566b87d96f36d416681f97090d194751a03a0186526fa7a54d
	// 846cf4808fb8681319216ca2ff41594d7954c31d8641d90d872ecc3cedc161cd
}
