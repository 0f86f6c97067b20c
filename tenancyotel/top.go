package tenancyotel

import (
	"cmp"
	"slices"
	"sync"

	"github.com/mydentalpractice/tenancy"
)

// shardSize is the most tenants one part of a top tracks: a part is
// searched from end to end, so it stays small, and a larger top has more
// parts.
const shardSize = 32

// hysteresis is how many times an incumbent's score a challenger needs to
// take its series at a rotation, so that two tenants of about the same
// load do not swap their series back and forth.
const hysteresis = 2

// top finds the busiest tenants of a stream of work: a space-saving
// summary (Metwally, Agrawal and El Abbadi, "Efficient Computation of
// Frequent and Top-k Elements in Data Streams", 2005), split in parts by
// a hash of the tenant, whose counts halve at every rotation, so that a
// tenant's score is its work with a half-life of one window. Each part
// tracks a fixed number of tenants: a tenant not tracked takes the place
// of the part's least counted one, inheriting its count as the error of
// its own. A tenant that did more than 1/k of its part's work in a window,
// k being the part's counters, is sure to be tracked: the bound holds per
// part, not over all the work (many busy tenants hashed into one part
// compete for its k places). Memory is fixed at creation, whatever the number of
// tenants; add allocates nothing. It is safe for concurrent use.
type top struct {
	shards []topShard
}

// topShard is one part: parallel arrays of the tenants tracked, their
// hashes (compared before the ids), counts and errors.
type topShard struct {
	mu    sync.Mutex
	hash  []uint64
	id    []tenancy.ID
	count []uint64 // an over-estimate of the tenant's decayed work
	err   []uint64 // by how much count may over-estimate it
	_     [64]byte // keeps the parts' locks on different cache lines
}

// newTop returns a top that tracks at least capacity tenants in all, in
// at least 8 parts.
func newTop(capacity int) *top {
	parts := max(8, (capacity+shardSize-1)/shardSize)
	per := max((capacity+parts-1)/parts, 8)
	t := &top{shards: make([]topShard, parts)}
	for i := range t.shards {
		s := &t.shards[i]
		s.hash = make([]uint64, 0, per)
		s.id = make([]tenancy.ID, 0, per)
		s.count = make([]uint64, 0, per)
		s.err = make([]uint64, 0, per)
	}
	return t
}

// hashID is FNV-1a of the tenant's text: fixed, so that a top is
// deterministic (tests, and the same ranking on every instance for the same
// work).
func hashID(id tenancy.ID) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	s := id.String()
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}

// add counts w units of tenant's work.
func (t *top) add(tenant tenancy.ID, w uint64) {
	h := hashID(tenant)
	s := &t.shards[h%uint64(len(t.shards))]
	s.mu.Lock()
	for i, x := range s.hash {
		if x == h && s.id[i] == tenant {
			s.count[i] += w
			s.mu.Unlock()
			return
		}
	}
	if len(s.hash) < cap(s.hash) {
		s.hash = append(s.hash, h)
		s.id = append(s.id, tenant)
		s.count = append(s.count, w)
		s.err = append(s.err, 0)
		s.mu.Unlock()
		return
	}
	least := 0
	for i, c := range s.count {
		if c < s.count[least] {
			least = i
		}
	}
	s.hash[least], s.id[least] = h, tenant
	s.err[least] = s.count[least]
	s.count[least] += w
	s.mu.Unlock()
}

// scored is a tenant with its score: the work it surely did (count less
// error), decayed.
type scored struct {
	tenant tenancy.ID
	score  uint64
}

// scores returns the tenants tracked with a score above zero, best first,
// ties in the order of their ids' text (deterministic).
func (t *top) scores() []scored {
	var out []scored
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for j, id := range s.id {
			if sc := s.count[j] - s.err[j]; sc > 0 {
				out = append(out, scored{id, sc})
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b scored) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.tenant.String(), b.tenant.String())
	})
	return out
}

// decay halves every count and error.
func (t *top) decay() {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for j := range s.count {
			s.count[j] >>= 1
			s.err[j] >>= 1
		}
		s.mu.Unlock()
	}
}

// next returns the n tenants that hold a series after a ranking, given
// those that hold one now (current, at most n). Free places go to the
// best tenants that hold none. At a rotation (rotate true), a tenant
// holding no series also takes the place of the weakest holder whose
// score it exceeds hysteresis times over, and the scores then decay; at
// other times no holder loses its place and nothing decays. A tenant of
// current keeps its place (and its position in the result) unless
// replaced.
func (t *top) next(current []tenancy.ID, n int, rotate bool) []tenancy.ID {
	ranked := t.scores()
	score := make(map[tenancy.ID]uint64, len(ranked))
	for _, r := range ranked {
		score[r.tenant] = r.score
	}
	out := slices.Clone(current)
	holds := make(map[tenancy.ID]bool, len(out))
	for _, id := range out {
		holds[id] = true
	}
	var challengers []scored
	for _, r := range ranked {
		if !holds[r.tenant] {
			challengers = append(challengers, r)
		}
	}
	for len(out) < n && len(challengers) > 0 {
		out = append(out, challengers[0].tenant)
		challengers = challengers[1:]
	}
	if rotate {
		// The holders, weakest first (ties: the later id gives way).
		weakest := make([]int, len(out))
		for i := range weakest {
			weakest[i] = i
		}
		slices.SortStableFunc(weakest, func(a, b int) int {
			if c := cmp.Compare(score[out[a]], score[out[b]]); c != 0 {
				return c
			}
			return cmp.Compare(out[b].String(), out[a].String())
		})
		for _, i := range weakest {
			if len(challengers) == 0 || challengers[0].score <= hysteresis*score[out[i]] {
				break
			}
			out[i] = challengers[0].tenant
			challengers = challengers[1:]
		}
		t.decay()
	}
	return out
}
