package api

import "github.com/mydentalpractice/tenancy/jwtctx"

// adminRoutes registers the routes of the platform admin console and impersonation.
func (s *Server) adminRoutes(auth *jwtctx.Middleware) {}
