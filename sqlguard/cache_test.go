package sqlguard

import (
	"fmt"
	"sync"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

func TestCacheBounded(t *testing.T) {
	for _, size := range []int{1, 10, 100, 4096} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := newCache(size)
			for i := 0; i < 3*size+50; i++ {
				sql := fmt.Sprintf("select %d", i)
				p := &plan{}
				if got := c.put(sql, p); got != p {
					t.Fatalf("put(%q) returned another plan for a new text", sql)
				}
				if got := c.get(sql); got != p {
					t.Fatalf("get(%q) right after put: %v, want the plan", sql, got)
				}
			}
			// Shards round the size up by less than one entry each.
			if n, max := c.len(), size+len(c.shards); n > max {
				t.Errorf("cache holds %d texts, want at most %d", n, max)
			}
		})
	}
}

func TestCacheKeepsRecentlyUsed(t *testing.T) {
	c := newCache(8) // one shard
	hot := &plan{}
	c.put("hot", hot)
	for i := 0; i < 100; i++ {
		c.get("hot")
		c.put(fmt.Sprintf("cold %d", i), &plan{})
	}
	if c.get("hot") != hot {
		t.Error("a text used between every insertion was evicted")
	}
}

func TestCheckConcurrent(t *testing.T) {
	m, err := rls.NewModel(rls.Config{TenantColumn: "clinic_id"}, rls.Table{Name: "public.patients"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Config{Model: m, CacheSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	a := tenancy.MustParseID("0190a8c0-0000-7000-8000-00000000000a")
	b := tenancy.MustParseID("0190a8c0-0000-7000-8000-00000000000b")
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				sql := fmt.Sprintf("select * from patients where clinic_id = $1 and id = %d", i%40)
				if err := g.Check(sql, []any{a}, a); err != nil {
					t.Errorf("Check(%q) for A: %v", sql, err)
					return
				}
				if err := g.Check(sql, []any{a}, b); err == nil {
					t.Errorf("Check(%q) with A's id for B: nil, want a refusal", sql)
					return
				}
			}
		}()
	}
	wg.Wait()
}
