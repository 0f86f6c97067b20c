package api

import "github.com/mydentalpractice/tenancy/jwtctx"

// billingRoutes registers the routes of invoices and payments.
func (s *Server) billingRoutes(auth *jwtctx.Middleware) {}
