package tenancytest

import (
	"net/http"
	"slices"
	"strings"
	"sync"
)

// ServeMux is an [http.ServeMux] that remembers the patterns registered on
// it, so that the inventory of [HTTPConfig.Inventory] is read from the
// router itself and a new route cannot slip past the prober. Use it in
// place of http.NewServeMux where the application builds its router (or
// only in the test, if the router is built by a function that takes one).
// It is safe for concurrent use, as http.ServeMux is.
type ServeMux struct {
	mux    http.ServeMux
	mu     sync.Mutex
	routes []Route
}

// NewServeMux returns an empty ServeMux.
func NewServeMux() *ServeMux { return &ServeMux{} }

// Handle registers h for pattern, as [http.ServeMux.Handle] does (and
// panics as it does on an invalid or conflicting pattern), and records the
// route.
func (m *ServeMux) Handle(pattern string, h http.Handler) {
	m.mux.Handle(pattern, h)
	m.record(pattern)
}

// HandleFunc registers h for pattern, as [http.ServeMux.HandleFunc] does,
// and records the route.
func (m *ServeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.mux.HandleFunc(pattern, h)
	m.record(pattern)
}

// ServeHTTP dispatches the request as [http.ServeMux.ServeHTTP] does.
func (m *ServeMux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// Routes returns every route registered so far, sorted by path and
// method. A pattern without a method ("/tasks/{id}", which serves every
// method) is listed with Method "*": like every route of the inventory it
// needs a [RouteSpec] (ProbeHTTP's coverage check fails without one), and
// since "every method" cannot be probed, that spec is a Skip with its
// reason, or the route is registered once per method it serves. A host in
// a pattern is kept in Path as written.
func (m *ServeMux) Routes() []Route {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.routes)
	slices.SortFunc(out, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

// record notes pattern, which http.ServeMux has accepted: "[METHOD ]PATH",
// with spaces or tabs between.
func (m *ServeMux) record(pattern string) {
	r := Route{Method: "*", Path: pattern}
	if fields := strings.Fields(pattern); len(fields) == 2 {
		r = Route{Method: fields[0], Path: fields[1]}
	}
	m.mu.Lock()
	m.routes = append(m.routes, r)
	m.mu.Unlock()
}
