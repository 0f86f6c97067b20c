package api

import "github.com/mydentalpractice/tenancy/jwtctx"

// settingsRoutes registers the routes of clinic settings, operatories, staff, the owner's audit log.
func (s *Server) settingsRoutes(auth *jwtctx.Middleware) {}
