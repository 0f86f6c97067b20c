package ratelimit

import "time"

// SetClock makes l read the time from now, for tests; call it before any
// request.
func SetClock(l *Limiter, now func() time.Time) {
	l.now = now
	l.base = now()
}

// Tenants returns how many buckets l holds.
func Tenants(l *Limiter) int { return l.tenants() }
