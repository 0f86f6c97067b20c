package api

import (
	"errors"
	"net/http"
	"slices"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// externalStaff admits a token of an external identity provider
// (jwtctx.AccessToken) only for an enabled staff account of its clinic
// whose roles include every role the token claims: the provider says who
// the caller is, the clinic's staff list what they may do. A subject that
// is no staff account of the clinic, or a disabled one, answers 401 as a
// revoked session does; a role the account does not hold, 403. The app's
// own tokens pass unchanged: their roles were read from the staff list at
// sign-in and are revoked when it changes.
func (s *Server) externalStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := jwtctx.TokenFromContext(r.Context())
		if !ok || tok.Type != jwtctx.AccessToken {
			next.ServeHTTP(w, r)
			return
		}
		p, _ := tenancy.FromContext(r.Context())
		if p.Kind != kinds.Staff {
			// The provider's claim mapping yields staff only; hold the
			// line if it ever did not.
			forbidden(w)
			return
		}
		roles, disabled, err := s.store.StaffStanding(r.Context())
		switch {
		case errors.Is(err, store.ErrNotFound), err == nil && disabled:
			w.Header().Set("WWW-Authenticate", `Bearer realm="dentalclinic", error="invalid_token"`)
			writeProblem(w, Problem{Status: http.StatusUnauthorized, Code: "unknown_staff",
				Detail: "The identity provider's user is not an active staff member of this clinic."})
			return
		case err != nil:
			s.fail(w, r, err)
			return
		}
		for _, role := range p.Roles {
			if !slices.Contains(roles, role) {
				writeProblem(w, Problem{Status: http.StatusForbidden, Code: "forbidden",
					Detail: "The identity provider grants a role this clinic's staff list does not."})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
