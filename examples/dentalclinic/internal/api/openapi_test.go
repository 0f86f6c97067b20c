package api

import (
	"crypto/ed25519"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/signin"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestOpenAPIMatchesRouter: every route the router serves is in the
// OpenAPI document with its method, and nothing else is.
func TestOpenAPIMatchesRouter(t *testing.T) {
	s := &Server{router: mux.NewRouter()}
	noop := func(http.ResponseWriter, *http.Request) {}
	// Register through the same path the real server uses, without auth.
	for _, rt := range []Route{
		{http.MethodGet, "/healthz", publicRoute},
		{http.MethodGet, v1 + "/patients/{id}", anyStaff},
		{http.MethodPatch, v1 + "/patients/{id}", clinical},
	} {
		s.routes = append(s.routes, rt)
		s.router.HandleFunc(rt.Path, noop).Methods(rt.Method)
	}
	checkOpenAPI(t, s)
}

func checkOpenAPI(t *testing.T, s *Server) {
	t.Helper()
	doc := s.OpenAPI()
	paths := doc["paths"].(map[string]map[string]any)
	served := 0
	err := s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			t.Errorf("route %s has no method", tpl)
			return nil
		}
		for _, m := range methods {
			served++
			if _, ok := paths[tpl][strings.ToLower(m)]; !ok {
				t.Errorf("served route %s %s is missing from the OpenAPI document", m, tpl)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := 0
	for _, ops := range paths {
		documented += len(ops)
	}
	if documented != served || served == 0 {
		t.Errorf("the document has %d operations, the router serves %d", documented, served)
	}
}

// TestOpenAPICoversTheRealRouter builds the real API and checks its
// document against its router.
func TestOpenAPICoversTheRealRouter(t *testing.T) {
	s := newRouterOnly(t)
	checkOpenAPI(t, s)
	if len(s.Routes()) < 10 {
		t.Errorf("only %d routes registered", len(s.Routes()))
	}
}

// TestOpenAPIQueryParams: every documented query parameter belongs to a
// served route (a typo in queryParams would otherwise document nothing),
// and the patient list documents its family-name prefix search.
func TestOpenAPIQueryParams(t *testing.T) {
	s := newRouterOnly(t)
	served := map[string]bool{}
	for _, rt := range s.Routes() {
		served[rt.Method+" "+rt.Path] = true
	}
	for k := range queryParams {
		if !served[k] {
			t.Errorf("query parameters documented for %s, which is not served", k)
		}
	}
	paths := s.OpenAPI()["paths"].(map[string]map[string]any)
	op := paths[v1+"/patients"]["get"].(map[string]any)
	params, _ := op["parameters"].([]any)
	names := map[string]bool{}
	for _, p := range params {
		m := p.(map[string]any)
		if m["in"] == "query" {
			names[m["name"].(string)] = true
		}
	}
	for _, want := range []string{"q", "name_prefix", "limit", "cursor"} {
		if !names[want] {
			t.Errorf("GET %s/patients does not document the query parameter %q", v1, want)
		}
	}
}

// newRouterOnly builds the real API's routes with no database behind
// them: enough to read its route table, never to serve a request.
func newRouterOnly(t *testing.T) *Server {
	t.Helper()
	key, err := jwtctx.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := jwtctx.New(jwtctx.Config{Issuer: "i", Audience: "a", SigningKey: key, Revoker: jwtctx.NoRevocation, Principals: tenancy.Principals{Kinds: kinds.Specs()}})
	if err != nil {
		t.Fatal(err)
	}
	st := &store.Store{}
	revoker := store.NewRevocations(&jwtctx.MemoryRevoker{}, nil, time.Hour)
	signIn, err := signin.New(signin.Config{Store: st, Tokens: tokens, Revoker: revoker})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: st, SignIn: signIn, Tokens: tokens, DB: &tenantdb.Pool{}, ReceiptKey: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
