// Package problem writes the SDK's HTTP refusals as RFC 9457 problem
// details documents: the one writer behind jwtctx's and impersonation's
// middlewares.
//
// # Security
//
// A document carries only what its caller passes: fixed titles, stable
// codes and plain details. It never echoes the request.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// document is the JSON form, members in RFC 9457's order. Code is the
// "code" extension member, a stable machine-readable code.
type document struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Write answers status with an application/problem+json document of
// type "about:blank", title (empty means http.StatusText(status)), code
// (omitted when empty) and detail (omitted when empty), with
// Content-Length, "Cache-Control: no-store" and "X-Content-Type-Options:
// nosniff". Headers already set on w (a challenge, Retry-After) are kept.
// It is safe for concurrent use on different writers.
func Write(w http.ResponseWriter, status int, title, code, detail string) {
	if title == "" {
		title = http.StatusText(status)
	}
	body, _ := json.Marshal(document{Type: "about:blank", Title: title, Status: status, Code: code, Detail: detail}) // strings and an int: cannot fail
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
