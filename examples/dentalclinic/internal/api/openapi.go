package api

import (
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/mydentalpractice/tenancy/jwtctx"
)

// opsRoutes registers the OpenAPI document and the readiness check.
func (s *Server) opsRoutes(auth *jwtctx.Middleware) {
	s.handle(auth, http.MethodGet, "/readyz", publicRoute, s.readyz)
	s.handle(auth, http.MethodGet, "/api/openapi.json", publicRoute, s.openAPI)
}

// readyz answers 200 when the database answers, else 503.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Ping(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		serviceUnavailable(w, "not_ready", "The database is not reachable.")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ready\n"))
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.OpenAPI())
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// queryParam is a documented query parameter of a route.
type queryParam struct {
	Name, Type, Description string
}

// pageParams are the query parameters of every paged list.
var pageParams = []queryParam{
	{"limit", "integer", "Page size, 1 to 200; 50 when absent or not positive, 200 when larger."},
	{"cursor", "string", "The next_cursor of the previous page."},
}

// queryParams documents the query parameters of the routes that take
// them, by "METHOD path".
var queryParams = map[string][]queryParam{
	http.MethodGet + " " + v1 + "/patients": append([]queryParam{
		{"q", "string", "Substring of the given and family name (either order), email or phone, case-insensitive. " +
			"Reads every patient of the clinic: for large clinics prefer name_prefix."},
		{"name_prefix", "string", "Start of the family name, 1 to 100 characters, ignoring the case of the letters A to Z " +
			"(other characters match exactly): name_prefix=wil finds Williams and Wilson. " +
			"Served by an index range, so it stays fast at any clinic size. With q, both must match."},
	}, pageParams...),
	http.MethodGet + " " + v1 + "/appointment-requests": append([]queryParam{
		{"status", "string", "Only requests in this state: requested (waiting for an answer), confirmed, declined or withdrawn."},
	}, pageParams...),
	http.MethodGet + " " + v1 + "/portal/appointment-requests": pageParams,
}

// OpenAPI returns the OpenAPI 3.1 description of every registered route,
// built from the route table itself, so it cannot fall out of step with the
// router: a route exists in the document exactly when it is served.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		op := map[string]any{
			"operationId": operationID(rt.Method, rt.Path),
			"responses": map[string]any{
				"default": map[string]any{
					"description": "An error, as RFC 9457 problem details.",
					"content":     map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}},
				},
				"2XX": map[string]any{"description": "Success."},
			},
		}
		if !rt.Allow.Public {
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			who := []string{}
			for _, k := range rt.Allow.Kinds {
				who = append(who, k.String())
			}
			desc := "Principal kinds: " + strings.Join(who, ", ") + "."
			if len(rt.Allow.Roles) > 0 {
				desc += " Roles: " + strings.Join(rt.Allow.Roles, ", ") + "."
			}
			op["description"] = desc
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{
				"name": m[1], "in": "path", "required": true,
				"schema": map[string]any{"type": "string", "format": "uuid"},
			})
		}
		for _, qp := range queryParams[rt.Method+" "+rt.Path] {
			params = append(params, map[string]any{
				"name": qp.Name, "in": "query", "required": false, "description": qp.Description,
				"schema": map[string]any{"type": qp.Type},
			})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "MyDentalPractice API",
			"version": "1",
			"description": "The tenant (clinic) of every scoped route comes only from the bearer token; " +
				"no scoped route takes a clinic in its path, query, headers or body. Another clinic's object answers 404, " +
				"exactly like a missing one.",
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
			"schemas": map[string]any{"Problem": map[string]any{
				"type":     "object",
				"required": []string{"type", "title", "status", "code"},
				"properties": map[string]any{
					"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"},
					"status": map[string]any{"type": "integer"}, "code": map[string]any{"type": "string"},
					"detail": map[string]any{"type": "string"}, "field": map[string]any{"type": "string"},
				},
			}},
		},
	}
}

// operationID makes "GET /api/v1/patients/{id}" into "get_patients_id".
func operationID(method, path string) string {
	parts := []string{strings.ToLower(method)}
	for _, p := range strings.Split(strings.TrimPrefix(path, v1), "/") {
		p = strings.Trim(p, "{}")
		p = strings.NewReplacer(".", "_", "-", "_").Replace(p)
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(slices.Clip(parts), "_")
}
