package api

import "github.com/mydentalpractice/tenancy/jwtctx"

// portalRoutes registers the routes of the patient portal.
func (s *Server) portalRoutes(auth *jwtctx.Middleware) {}
