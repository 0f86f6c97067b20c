package tenancyotel

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/mydentalpractice/tenancy"
)

func ids(n int, prefix string) []tenancy.ID {
	out := make([]tenancy.ID, n)
	for i := range out {
		out[i] = tenancy.MustParseID(fmt.Sprintf("0195f1c2-0000-7000-8000-%s%08x", prefix, i))
	}
	return out
}

// TestTopFindsTheHeavy: among 10,000 tenants of one statement each per
// window, the 5 that send 200 each are the 5 chosen, in every run alike.
func TestTopFindsTheHeavy(t *testing.T) {
	heavy, light := ids(5, "ffff"), ids(10000, "0000")
	var first []tenancy.ID
	for run := range 3 {
		tp := newTop(4 * 5)
		for i, id := range light {
			tp.add(id, 1)
			if i%50 == 0 {
				for _, h := range heavy {
					tp.add(h, 1)
				}
			}
		}
		got := tp.next(nil, 5, true)
		want := slices.Clone(heavy)
		sorted := slices.Clone(got)
		slices.SortFunc(sorted, func(a, b tenancy.ID) int { return compareID(a, b) })
		if !slices.Equal(sorted, want) {
			t.Fatalf("run %d: chose %v, want the heavy %v", run, got, want)
		}
		if run == 0 {
			first = got
		} else if !slices.Equal(got, first) {
			t.Errorf("run %d chose %v, run 0 %v: not deterministic", run, got, first)
		}
	}
}

func compareID(a, b tenancy.ID) int {
	switch {
	case a.String() < b.String():
		return -1
	case a.String() > b.String():
		return 1
	}
	return 0
}

// TestTopKeepsItsHoldersSteady: two tenants of about the same load do not
// swap a series at each rotation; one that becomes much busier takes it;
// one that goes idle loses it to any active tenant within a few windows.
func TestTopKeepsItsHoldersSteady(t *testing.T) {
	a, b, c := ids(3, "aaaa")[0], ids(3, "aaaa")[1], ids(3, "aaaa")[2]
	tp := newTop(16)
	held := []tenancy.ID(nil)
	window := func(counts map[tenancy.ID]uint64) []tenancy.ID {
		for id, n := range counts {
			tp.add(id, n)
		}
		held = tp.next(held, 1, true)
		return held
	}
	if got := window(map[tenancy.ID]uint64{a: 100, b: 90}); !slices.Equal(got, []tenancy.ID{a}) {
		t.Fatalf("first window: %v, want a", got)
	}
	for i := range 5 { // b a little busier than a, window after window
		if got := window(map[tenancy.ID]uint64{a: 100, b: 110 + uint64(i)}); !slices.Equal(got, []tenancy.ID{a}) {
			t.Fatalf("window %d: %v, want a kept (b is not twice as busy)", i, got)
		}
	}
	if got := window(map[tenancy.ID]uint64{a: 10, b: 1000}); !slices.Equal(got, []tenancy.ID{b}) {
		t.Fatalf("b much busier: %v, want b", got)
	}
	// b goes idle (yesterday's busiest); c works a little.
	var got []tenancy.ID
	n := 0
	for n = 1; n <= 20; n++ {
		if got = window(map[tenancy.ID]uint64{c: 20}); slices.Equal(got, []tenancy.ID{c}) {
			break
		}
	}
	if !slices.Equal(got, []tenancy.ID{c}) || n > 8 {
		t.Errorf("after b went idle: %v after %d windows, want c within 8", got, n)
	}
}

// TestTopAddAllocatesNothing: the hot path, for tracked and new tenants
// (most of these adds take the place of another tenant).
func TestTopAddAllocatesNothing(t *testing.T) {
	tp := newTop(64)
	many := ids(1000, "0000")
	for _, id := range many { // warm up
		tp.add(id, 1)
	}
	i := 0
	if n := leastMallocs(func() { tp.add(many[(i*7)%len(many)], 1); i++ }); n != 0 {
		t.Errorf("at least %d allocations in every 100 adds, want none", n)
	}
}

// leastMallocs runs f 100 times in each of 20 rounds and returns the
// fewest allocations of a round: the process's other goroutines may
// allocate during one round or another, but an allocation of f's own
// shows in all (testing.AllocsPerRun would round fewer than one per run
// down to none).
func leastMallocs(f func()) uint64 {
	least := uint64(math.MaxUint64)
	for range 20 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			f()
		}
		runtime.ReadMemStats(&after)
		least = min(least, after.Mallocs-before.Mallocs)
	}
	return least
}

// BenchmarkTopAdd is the selector alone: a tenant's statement counted,
// among 100,000 tenants of which 100 do 90% of the work.
func BenchmarkTopAdd(b *testing.B) {
	tp := newTop(4 * DefaultTenants)
	busy, rest := ids(100, "ffff"), ids(100000, "0000")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%10 == 9 {
			tp.add(rest[(i*7919)%len(rest)], 1)
		} else {
			tp.add(busy[i%len(busy)], 1)
		}
		i++
	}
}

// TestTopRanksBySureWork: a tenant that took another's place inherits its
// count as error, and ranks by the work it surely did: below a tenant
// counted exactly with less.
func TestTopRanksBySureWork(t *testing.T) {
	tp := newTop(64)
	a, b := ids(2, "bbbb")[0], ids(2, "bbbb")[1]
	s := &tp.shards[0]
	s.hash = append(s.hash, hashID(a), hashID(b))
	s.id = append(s.id, a, b)
	s.count = append(s.count, 100, 120) // b came last, in the place of a tenant counted 110
	s.err = append(s.err, 0, 110)
	got := tp.scores()
	if len(got) != 2 || got[0] != (scored{a, 100}) || got[1] != (scored{b, 10}) {
		t.Errorf("scores %v, want a (100) before b (10 surely)", got)
	}
}
