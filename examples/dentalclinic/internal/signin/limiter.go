package signin

import (
	"sync"
	"time"
)

// limiter allows n attempts per key per window (a fixed window), for
// sign-in. It forgets keys whose window has passed.
type limiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	seen   map[string]*window
}

type window struct {
	start time.Time
	count int
}

func newLimiter(n int, w time.Duration) *limiter {
	return &limiter{n: n, window: w, seen: make(map[string]*window)}
}

// allow records an attempt for key at now and reports whether it is
// within the limit, and if not, how long until it is.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) > 10000 {
		for k, w := range l.seen {
			if now.Sub(w.start) >= l.window {
				delete(l.seen, k)
			}
		}
	}
	w, ok := l.seen[key]
	if !ok || now.Sub(w.start) >= l.window {
		l.seen[key] = &window{start: now, count: 1}
		return true, 0
	}
	w.count++
	if w.count > l.n {
		return false, w.start.Add(l.window).Sub(now)
	}
	return true, 0
}
