package tenantdb_test

import (
	"fmt"

	"github.com/mydentalpractice/tenancy/tenantdb"
)

// A reason must hold visible text: the invisible characters that would
// leave an empty line in the audit log are refused.
func ExampleCheckReason() {
	for _, reason := range []string{"set up clinic 42", "\u200b", "\u00ad\u2060", "   "} {
		fmt.Printf("%+q: %v\n", reason, tenantdb.CheckReason(reason))
	}
	// Output:
	// "set up clinic 42": <nil>
	// "\u200b": tenantdb: the work needs a reason in visible text: "\u200b" has no visible character
	// "\u00ad\u2060": tenantdb: the work needs a reason in visible text: "\u00ad\u2060" has no visible character
	// "   ": tenantdb: the work needs a reason in visible text: "   " has no visible character
}
