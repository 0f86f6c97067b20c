package tenantdb

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
)

func TestSharesLimitAndHandOver(t *testing.T) {
	var ss shares
	a, b := tenancy.NewID(), tenancy.NewID()
	s := Share{Conns: 2}
	ctx := context.Background()
	if err := ss.acquire(ctx, a, s); err != nil {
		t.Fatal(err)
	}
	if err := ss.acquire(ctx, a, s); err != nil {
		t.Fatal(err)
	}
	// A's third waits; B is not held up by A.
	got := make(chan error, 1)
	go func() { got <- ss.acquire(ctx, a, s) }()
	for {
		if _, waiting := ss.holding(a); waiting == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := ss.acquire(ctx, b, s); err != nil {
		t.Fatalf("B while A holds its share: %v", err)
	}
	select {
	case <-got:
		t.Fatal("A's third piece of work ran beyond its share")
	default:
	}
	ss.release(a)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if held, waiting := ss.holding(a); held != 2 || waiting != 0 {
		t.Errorf("after the hand-over: A holds %d, %d waiting; want 2, 0", held, waiting)
	}
	ss.release(a)
	ss.release(a)
	ss.release(b)
	if held, _ := ss.holding(a); held != 0 || len(ss.held) != 0 {
		t.Errorf("after every release: A holds %d, %d tenants tracked; want none", held, len(ss.held))
	}
}

func TestSharesBusyAndCancel(t *testing.T) {
	var ss shares
	a := tenancy.NewID()
	if err := ss.acquire(context.Background(), a, Share{Conns: 1}); err != nil {
		t.Fatal(err)
	}
	if err := ss.acquire(context.Background(), a, Share{Conns: 1, Wait: 20 * time.Millisecond}); !errors.Is(err, ErrBusy) {
		t.Errorf("over the share past Wait: %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ss.acquire(ctx, a, Share{Conns: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("over the share with a cancelled context: %v, want context.Canceled", err)
	}
	if held, waiting := ss.holding(a); held != 1 || waiting != 0 {
		t.Errorf("after the refusals: %d held, %d waiting; want 1, 0", held, waiting)
	}
	ss.release(a)
	if held, _ := ss.holding(a); held != 0 {
		t.Errorf("after the release: %d held", held)
	}
	// No limit takes nothing.
	if err := ss.acquire(context.Background(), a, Share{}); err != nil {
		t.Fatal(err)
	}
	if len(ss.held) != 0 {
		t.Errorf("a share without a limit is tracked")
	}
}

// TestSharesNeverExceed: many goroutines of few tenants, with waits that
// time out as others release, never hold more than the share, and leave
// nothing behind.
func TestSharesNeverExceed(t *testing.T) {
	var ss shares
	tenants := []tenancy.ID{tenancy.NewID(), tenancy.NewID(), tenancy.NewID()}
	const conns = 3
	var inUse [3]atomic.Int32
	var wg sync.WaitGroup
	for g := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := g % len(tenants)
			for range 200 {
				err := ss.acquire(context.Background(), tenants[i], Share{Conns: conns, Wait: 50 * time.Microsecond})
				if errors.Is(err, ErrBusy) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if n := inUse[i].Add(1); n > conns {
					t.Errorf("tenant %d holds %d connections, share %d", i, n, conns)
				}
				time.Sleep(10 * time.Microsecond)
				inUse[i].Add(-1)
				ss.release(tenants[i])
			}
		}()
	}
	wg.Wait()
	if len(ss.held) != 0 {
		t.Errorf("%d tenants still tracked after every release", len(ss.held))
	}
}

func BenchmarkShareAcquireRelease(b *testing.B) {
	var ss shares
	a := tenancy.NewID()
	s := Share{Conns: 4}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := ss.acquire(ctx, a, s); err != nil {
			b.Fatal(err)
		}
		ss.release(a)
	}
}
