package tenancytest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
)

// A test in the application's own package replays every route as every
// actor against the other tenant's objects, and every write with the other
// tenant's ids in its body. The handler, tokens and ids
// come from the application's test fixture; this example is only compiled.
func ExampleProbeHTTP() {
	testNoHTTPLeaks := func(t *testing.T, handler http.Handler, routes []tenancytest.Route,
		tokenA, tokenB string, staffA, staffB tenancy.Principal, patientA, patientB string,
		snapshot func(context.Context, tenancytest.Fixture) (string, error), model *rls.Model) {
		staffOnly := func(a tenancytest.Actor) bool { return a.Principal.Kind == tenancy.Kind("staff") }
		tenancytest.ProbeHTTP(t, tenancytest.HTTPConfig{
			Handler:    handler,
			Principals: model.Principals(), // the kinds the app declares
			Inventory:  routes,             // read from the router, such as with mux.Walk
			Routes: []tenancytest.RouteSpec{
				{Method: "GET", Path: "/api/patients", Query: "?limit=200", Allowed: staffOnly},
				{Method: "GET", Path: "/api/patients/{id}", Object: "patients", Allowed: staffOnly},
				{Method: "PATCH", Path: "/api/patients/{id}", Object: "patients", Allowed: staffOnly,
					Body: func(tenancytest.Actor) any { return map[string]any{"phone": "+44 7700 900123"} }},
				// Each actor books for a patient of its own; the prober then
				// puts the other tenant's patients in patient_id.
				{Method: "POST", Path: "/api/appointments", Allowed: staffOnly, Call: true,
					Body: func(a tenancytest.Actor) any {
						patient := patientA
						if a.Principal.Tenant == staffB.Tenant {
							patient = patientB
						}
						return map[string]any{"patient_id": patient, "starts_at": "2030-01-07T09:00:00Z"}
					}},
				{Method: "POST", Path: "/api/logout", Skip: "ends the actor's session; TestLogout covers it"},
			},
			Actors: []tenancytest.Actor{
				{Name: "a/front_desk", Principal: staffA, Token: tokenA},
				{Name: "b/front_desk", Principal: staffB, Token: tokenB},
			},
			Fixtures: []tenancytest.Fixture{
				{Kind: "patients", ID: patientA, Tenant: staffA.Tenant},
				{Kind: "patients", ID: patientB, Tenant: staffB.Tenant},
			},
			TenantField: "tenant_id", // the field that names each object's tenant in answers
			Snapshot:    snapshot,
		})
	}
	_ = testNoHTTPLeaks
}
