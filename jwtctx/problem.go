package jwtctx

import (
	"net/http"
	"strconv"
)

// Fixed problem details (RFC 9457) bodies. They name no reason and echo
// nothing from the request, so a probing client learns only the status.
// The "code" extension member is a stable machine-readable code, as
// applications built on this package commonly carry one.
const (
	unauthorizedBody = `{"type":"about:blank","title":"Unauthorized","status":401,"code":"unauthorized","detail":"A valid access token is required."}`
	forbiddenBody    = `{"type":"about:blank","title":"Forbidden","status":403,"code":"forbidden","detail":"This request is not allowed."}`
	unavailableBody  = `{"type":"about:blank","title":"Service Unavailable","status":503,"code":"unavailable","detail":"The token could not be checked just now. Try again shortly."}`
)

// RevocationRetryAfter is the Retry-After, in seconds, of the 503 that
// [Middleware.Handler] answers when the [Revoker] cannot judge a token.
const RevocationRetryAfter = 2

// writeProblem writes a fixed problem+json body.
func writeProblem(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// unauthorized answers 401 with a Bearer challenge (RFC 6750 section 3).
// invalid says a token was presented but refused.
func unauthorized(w http.ResponseWriter, realm string, invalid bool) {
	challenge := "Bearer"
	if realm != "" {
		challenge += ` realm="` + realm + `"`
		if invalid {
			challenge += ","
		}
	}
	if invalid {
		challenge += ` error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeProblem(w, http.StatusUnauthorized, unauthorizedBody)
}

// unavailable answers 503 with Retry-After: the token may be good, but it
// could not be checked, so the request is not served.
func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(RevocationRetryAfter))
	writeProblem(w, http.StatusServiceUnavailable, unavailableBody)
}

func forbidden(w http.ResponseWriter) {
	writeProblem(w, http.StatusForbidden, forbiddenBody)
}
