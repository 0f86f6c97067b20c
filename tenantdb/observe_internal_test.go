package tenantdb

import (
	"testing"
	"unsafe"
)

// TestRowsSizeClass: the rows of a one-statement query, allocated for
// every query, are no larger with the lease's fields for Config.Observe
// than before it (96 bytes, a size class of its own), so a nil hook costs
// no byte per read.
func TestRowsSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(batchRows{}); n > 96 {
		t.Errorf("batchRows is %d bytes, want at most 96 (lease %d)", n, unsafe.Sizeof(lease{}))
	}
}
