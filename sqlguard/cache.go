package sqlguard

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
)

// cache maps SQL texts to their plans. It is sharded to keep lock
// contention low: a hit takes one shard's read lock and sets a reference
// bit; a miss inserts under the shard's write lock and, when the shard is
// full, evicts with the CLOCK algorithm (an approximation of LRU that needs
// no list updates on a hit). It is safe for concurrent use.
type cache struct {
	seed   maphash.Seed
	mask   uint64
	shards []cacheShard
}

type cacheShard struct {
	mu   sync.RWMutex
	m    map[string]*cacheEntry
	ring []*cacheEntry
	hand int
	max  int
}

type cacheEntry struct {
	key  string
	plan *plan
	used atomic.Bool
}

func newCache(size int) *cache {
	n := 1
	for n < 16 && n*64 <= size {
		n *= 2
	}
	per := (size + n - 1) / n
	c := &cache{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]cacheShard, n)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cacheEntry, per)
		c.shards[i].max = per
	}
	return c
}

func (c *cache) shard(sql string) *cacheShard {
	return &c.shards[maphash.String(c.seed, sql)&c.mask]
}

// get returns the plan cached for sql, or nil.
func (c *cache) get(sql string) *plan {
	s := c.shard(sql)
	s.mu.RLock()
	e := s.m[sql]
	s.mu.RUnlock()
	if e == nil {
		return nil
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.plan
}

// put caches p for sql and returns the plan now cached for sql, which is
// another goroutine's when it got there first.
func (c *cache) put(sql string, p *plan) *plan {
	s := c.shard(sql)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[sql]; e != nil {
		return e.plan
	}
	// Clone so that a key sliced out of a larger string does not keep it alive.
	e := &cacheEntry{key: strings.Clone(sql), plan: p}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, e)
	} else {
		for {
			old := s.ring[s.hand]
			if old.used.Load() {
				old.used.Store(false)
				s.hand = (s.hand + 1) % len(s.ring)
				continue
			}
			delete(s.m, old.key)
			s.ring[s.hand] = e
			s.hand = (s.hand + 1) % len(s.ring)
			break
		}
	}
	s.m[e.key] = e
	return p
}

// len returns the number of cached texts.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
