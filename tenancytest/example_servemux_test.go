package tenancytest_test

import (
	"fmt"
	"net/http"

	"github.com/mydentalpractice/tenancy/tenancytest"
)

// A ServeMux records the routes registered on it, for ProbeHTTP's
// inventory: a route added to the router is a route the prober must be
// told how to probe.
func ExampleServeMux() {
	mux := tenancytest.NewServeMux()
	ok := func(w http.ResponseWriter, r *http.Request) {}
	mux.HandleFunc("GET /tasks", ok)
	mux.HandleFunc("POST /tasks", ok)
	mux.HandleFunc("GET /tasks/{id}", ok)
	mux.HandleFunc("/health", ok) // every method: listed as "*"
	for _, r := range mux.Routes() {
		fmt.Println(r)
	}
	// Output:
	// * /health
	// GET /tasks
	// POST /tasks
	// GET /tasks/{id}
}
