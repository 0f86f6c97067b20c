package jwtctx

import (
	"net/http"
	"slices"

	"github.com/mydentalpractice/tenancy"
)

// RequireKind returns middleware that lets a request through only when the
// [tenancy.Principal] in its context has one of kinds. It answers 403 with
// a fixed application/problem+json body for any other kind, and 401 when
// the context holds no principal (the authentication middleware is missing
// in front of it: fail closed). Mount it after [Middleware.Handler]. The
// result is safe for concurrent use.
func RequireKind(kinds ...tenancy.Kind) func(http.Handler) http.Handler {
	kinds = slices.Clone(kinds)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := tenancy.FromContext(r.Context())
			if !ok {
				unauthorized(w, r, nil, "", false)
				return
			}
			if !slices.Contains(kinds, p.Kind) {
				forbidden(w, r, nil)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireRole returns middleware that lets a request through only when the
// [tenancy.Principal] in its context has at least one of roles. It answers
// 403 with a fixed application/problem+json body otherwise, and 401 when
// the context holds no principal. Mount it after [Middleware.Handler]. The
// result is safe for concurrent use.
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	roles = slices.Clone(roles)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := tenancy.FromContext(r.Context())
			if !ok {
				unauthorized(w, r, nil, "", false)
				return
			}
			if !slices.ContainsFunc(roles, p.HasRole) {
				forbidden(w, r, nil)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
