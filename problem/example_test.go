package problem_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/problem"
)

// A handler answers every error with problem.Write; the cause stays out
// of the response.
func ExampleWrite() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		err := fmt.Errorf("store: reading invoice 42: %w", pgx.ErrNoRows) // as a store returns it
		if p := problem.For(err); p.Status >= 500 {
			// log err here: it never reaches the client
		}
		problem.Write(w, r, err)
	}
	rec := httptest.NewRecorder()
	handler(rec, httptest.NewRequest(http.MethodGet, "/invoices/42", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Body.String())
	// Output:
	// 404 application/problem+json
	// {"type":"about:blank","title":"Not Found","status":404,"code":"not_found","detail":"There is no such object."}
}
