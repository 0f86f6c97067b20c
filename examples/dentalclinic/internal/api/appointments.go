package api

import "github.com/mydentalpractice/tenancy/jwtctx"

// appointmentRoutes registers the routes of appointments: the schedule by chair, booking, status changes.
func (s *Server) appointmentRoutes(auth *jwtctx.Middleware) {}
