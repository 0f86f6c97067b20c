package tenantdb

import (
	"context"
	"testing"
	"time"
)

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

// TestPickNeverCurrent: a replica that no check has seen replay the
// primary's WAL serves no read, even in the process's first MaxLag, when
// the oldest time a read accepts is still before the process began; one
// seen current serves, and one down does not.
func TestPickNeverCurrent(t *testing.T) {
	r := &replica{index: 1}
	rs := &replicaSet{maxLag: 24 * time.Hour, interval: time.Minute, replicas: []*replica{r}}
	ctx := context.Background()
	if got := rs.pick(ctx); got != nil {
		t.Fatal("a replica never seen current was picked")
	}
	if d := rs.nextCheck(); d != catchUpInterval {
		t.Errorf("next check with the replica out of service in %v, want %v", d, catchUpInterval)
	}
	r.current.Store(int64(time.Since(epoch)))
	if got := rs.pick(ctx); got != r {
		t.Fatal("a replica seen current was not picked")
	}
	if d := rs.nextCheck(); d != time.Minute {
		t.Errorf("next check with the replica in service in %v, want the interval", d)
	}
	r.down.Store(true)
	if got := rs.pick(ctx); got != nil {
		t.Fatal("a replica down was picked")
	}
}
