package tenantdb

import "testing"

// TestRecordEnd maps a WAL insert position just past a page header to the
// page boundary, where the last record ended, and leaves others alone.
func TestRecordEnd(t *testing.T) {
	const block, segment = 8192, 16 << 20
	for _, tc := range []struct{ lsn, want uint64 }{
		{0x3001528, 0x3001528},
		{3*block + walShortHeader, 3 * block},
		{2*segment + walLongHeader, 2 * segment},
		{3 * block, 3 * block},
		{3*block + 8, 3*block + 8},
	} {
		if got := recordEnd(tc.lsn, block, segment); got != tc.want {
			t.Errorf("recordEnd(%#x) = %#x, want %#x", tc.lsn, got, tc.want)
		}
	}
}
