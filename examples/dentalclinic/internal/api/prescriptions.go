package api

import "github.com/mydentalpractice/tenancy/jwtctx"

// prescriptionRoutes registers the routes of prescriptions (dentists only).
func (s *Server) prescriptionRoutes(auth *jwtctx.Middleware) {}
