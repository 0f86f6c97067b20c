package tenancyotel

import "time"

// SetClock makes m read the time from now, for tests of its windows.
func SetClock(m *Metrics, now func() time.Time) { m.now = now }

// LeastMallocs is leastMallocs, for the tests outside the package.
func LeastMallocs(f func()) uint64 { return leastMallocs(f) }
