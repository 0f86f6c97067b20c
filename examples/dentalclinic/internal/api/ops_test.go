package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestHealthReadyOpenAPI(t *testing.T) {
	a := startApp(t)
	for _, path := range []string{"/healthz", "/readyz", "/.well-known/jwks.json"} {
		if r := a.Do(t, "GET", path, "", nil); r.Status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	r := a.Do(t, "GET", "/api/openapi.json", "", nil)
	r.JSON(t, &doc)
	if doc.OpenAPI != "3.1.0" || doc.Paths["/api/v1/patients/{id}"]["get"] == nil || doc.Paths["/api/v1/auth/login"]["post"] == nil {
		t.Errorf("openapi.json: %d, version %q, %d paths", r.Status, doc.OpenAPI, len(doc.Paths))
	}
	// No scoped route takes a clinic in its path: the only path parameters
	// of clinic routes are record ids.
	for path := range doc.Paths {
		if containsAny(path, "{clinic", "clinic_id") && !strings.HasPrefix(path, "/api/v1/admin/") {
			t.Errorf("route %s names a clinic outside the admin console", path)
		}
	}
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
