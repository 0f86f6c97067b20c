package api

import (
	"net/http"
	"strconv"

	"github.com/mydentalpractice/tenancy/problem"
)

// retryAfter is the Retry-After, in seconds, of the app's own 503s (a
// request out of time, a database that is not ready), the same as the
// SDK's answers (package problem) give the others.
const retryAfter = problem.RetryAfter

// serviceUnavailable answers 503 with Retry-After.
func serviceUnavailable(w http.ResponseWriter, code, detail string) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Code: code, Detail: detail})
}
