package tenancytest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
)

// The checks of [ProbeHTTP]. Like those of [ProbeSQL], the names are
// stable and appear in every failure message.
const (
	// CheckCoverage: every route of the inventory has a [RouteSpec] and
	// was probed; every spec names a route of the inventory; a route with
	// a path parameter names its object kind; an allowed actor reached
	// the route, and, for a route with a parameter, was given another
	// tenant's object.
	CheckCoverage Check = "coverage"
	// CheckForeign: a foreign object answers exactly as a missing one:
	// the same status, Content-Type and body (after the ids in the path
	// are replaced by one placeholder); an actor that may call the route
	// gets [HTTPConfig.MissingStatus] for both.
	CheckForeign Check = "foreign-as-missing"
	// CheckForeignID: no successful response names an object that is
	// foreign to the actor: a list, a search, a detail.
	CheckForeignID Check = "foreign-id"
	// CheckTenantField: every JSON object with the tenant field
	// ([HTTPConfig.TenantField]) in a successful response carries the
	// actor's tenant; and the field was seen at all, in some successful
	// JSON answer to an actor with a tenant, so that the check compared
	// something (a failure of the whole config, on route "* *", says it
	// never did).
	CheckTenantField Check = "tenant-field"
	// CheckBodyID: a write whose JSON body names another tenant's object
	// (one field at a time replaced by the id of a fixture foreign to the
	// actor, or the actor's tenant replaced by another tenant) answers
	// exactly as with a missing id in that field, does not succeed with
	// the foreign object or tenant in its answer, and leaves the foreign
	// object's snapshot as it was: the insecure direct object reference in
	// a body that the OWASP authorization testing cheat sheet describes.
	CheckBodyID Check = "body-id"
	// CheckAccess: an actor that [RouteSpec.Allowed] admits gets a 2xx
	// for its own object or a route without one, and an actor that it
	// refuses gets [HTTPConfig.ForbiddenStatus], so that the other checks
	// saw real answers.
	CheckAccess Check = "access"
	// CheckGuard: no request made the application send a statement that
	// its SQL guard refused ([HTTPConfig.Refusals]): with the guard in
	// report mode, row-level security alone stood between the actor and
	// other tenants' rows.
	CheckGuard Check = "guard"
)

// CheckUnchanged and CheckVacuous are shared with [ProbeSQL]: for the HTTP
// prober, a write aimed at a foreign object must leave its privileged
// snapshot ([HTTPConfig.Snapshot]) as it was, and every fixture object must
// be seen, in a successful response, by an actor that owns it.

// Route is one route of an application's inventory: an HTTP method and a
// path template whose parameters are written {name}, as gorilla/mux and
// net/http write them ("/api/v1/tasks/{id}").
type Route struct {
	Method, Path string
}

// String returns "METHOD /path".
func (r Route) String() string { return r.Method + " " + r.Path }

// Actor is one caller of the prober's matrix: a credential and the
// principal it stands for.
type Actor struct {
	// Name appears in failure messages, such as "acme/editor".
	Name string
	// Principal is who the credential signs in as. Its Tenant owns the
	// fixtures of that tenant; zero owns none (a platform admin outside
	// any tenant), so every fixture is foreign to it, and the
	// tenant-field check is skipped. A principal of a subject-scoped kind
	// ([tenancy.AccessSubject] in [HTTPConfig.Principals]) owns only the
	// fixtures whose Subject is its own, or that have none.
	Principal tenancy.Principal
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// Header is added to every request of the actor (cookies, API keys).
	Header http.Header

	subjectScoped bool // set by ProbeHTTP from HTTPConfig.Principals
}

// owns reports whether the actor owns f.
func (a Actor) owns(f Fixture) bool {
	if a.Principal.Tenant.IsZero() || a.Principal.Tenant != f.Tenant {
		return false
	}
	if a.subjectScoped && !f.Subject.IsZero() {
		return f.Subject == a.Principal.Subject
	}
	return true
}

// Fixture is one object of the application's data that the prober aims
// at the actors that do not own it.
type Fixture struct {
	// Kind is the object kind that [RouteSpec.Object] names, such as
	// "tasks".
	Kind string
	// ID is the object's id as it appears in paths and bodies.
	ID string
	// Tenant owns the object.
	Tenant tenancy.ID
	// Subject, when set, is the subject the object belongs to; an actor
	// of a subject-scoped kind owns only its own (see [Actor.Principal]).
	Subject tenancy.ID
}

// RouteSpec says how to probe one route of the inventory.
type RouteSpec struct {
	// Method and Path name the route exactly as the inventory does.
	Method, Path string
	// Object is the kind of fixture that fills the path's one parameter.
	// Required when the path has a parameter.
	Object string
	// Query is appended to the path, such as "?limit=200": a list must
	// show every fixture of the actor's for the vacuity check.
	Query string
	// Body returns the JSON body sent by actor a (nil sends none). A
	// []byte is sent as is; anything else is marshalled. A write aimed at
	// an object should carry a valid body, so that the handler reaches
	// the lookup rather than refusing the body first. Where the route
	// takes ids in its body (a patient_id), give the actor's own: the
	// prober replaces each, one at a time, by other tenants' ids
	// ([CheckBodyID]).
	Body func(a Actor) any
	// Call says that a route without a parameter whose method is not GET
	// (a create, an action) is called by every actor that Allowed admits;
	// it writes, so it is opt-in. Such a route is otherwise called only by
	// the actors that Allowed refuses.
	Call bool
	// Allowed reports whether actor a may call the route. Nil means the
	// prober does not know: it then only compares foreign and missing
	// objects and checks the successful responses it gets, and does not
	// run the access checks.
	Allowed func(a Actor) bool
	// Skip, when set, says why the route is not probed; it then counts as
	// covered, and the reason is logged.
	Skip string
}

func (s RouteSpec) route() Route { return Route{s.Method, s.Path} }

// HTTPConfig is what [ProbeHTTP] probes. Either Handler or BaseURL is
// required, and so are Inventory, Routes, Actors and Fixtures.
type HTTPConfig struct {
	// Handler is called in process, or else BaseURL over the network
	// with Client (default http.DefaultClient).
	Handler http.Handler
	BaseURL string
	Client  *http.Client

	// Inventory is every route the application serves: read it from the
	// router (with gorilla/mux, mux.Walk; see the package documentation),
	// never write it by hand, so that a new route cannot slip past.
	Inventory []Route
	// Routes say how to probe each route of Inventory.
	Routes []RouteSpec

	// Actors are the callers: give members of every role at two tenants
	// or more, principals of every subject-scoped kind, and operators
	// inside and outside a tenant.
	Actors []Actor
	// Principals is the deployment's declaration of principal kinds: pass
	// the isolation model's (rls.Model.Principals). An actor of an
	// [tenancy.AccessSubject] kind owns only the fixtures whose Subject is
	// its own. Every actor's kind must be declared. Required.
	Principals tenancy.Principals
	// Fixtures are the objects the probes aim at other tenants' actors.
	// Give each kind objects at two tenants or more.
	Fixtures []Fixture

	// TenantField is the JSON field that names an object's tenant in
	// answers, such as "tenant_id" or "org_id": every object of a
	// successful JSON answer that has it must carry the actor's tenant
	// ([CheckTenantField]). When it is set and no successful JSON answer
	// to an actor with a tenant carries it (a misspelt name, an API that
	// names its tenant otherwise), ProbeHTTP fails, since the check
	// compared nothing. Empty: the check does not run, and ProbeHTTP says
	// so in its log.
	TenantField string

	// Snapshot reads fixture f with privileges that see every tenant (a
	// superuser connection), returning a text that changes when the
	// object or what hangs on it does. It is called before and after each
	// write aimed at a foreign object, and each write whose body names one
	// ([CheckBodyID]). Required when a route that is not a GET takes an
	// object or sends a body.
	Snapshot func(ctx context.Context, f Fixture) (string, error)

	// Normalize, when set, rewrites a response body before the foreign
	// and missing answers are compared, such as to remove a request id.
	Normalize func(body []byte) []byte

	// MissingStatus is the status of a missing object for an actor that
	// may call the route. Default 404.
	MissingStatus int
	// ForbiddenStatus is the status for an actor that may not call the
	// route. Default 403.
	ForbiddenStatus int
	// MissingID returns an id that names no object. Default: a fresh
	// [tenancy.NewID], or a random positive bigint when
	// [HTTPConfig.Principals] declares bigint tenant keys.
	MissingID func() string

	// Refusals, when set, is called after every request and returns what
	// the application's SQL guard refused while serving it (and forgets
	// it): wire it to sqlguard's OnReport with the guard in report mode,
	// and each statement that lacks its tenant scope fails [CheckGuard]
	// with the route and actor that ran it, even when row-level security
	// hid the leak. It must be safe for concurrent use with the handler.
	Refusals func() []error
}

// HTTPFailure is one hole that [ProbeHTTP] found. ProbeHTTP passes it,
// whole, as the only argument of t.Errorf("%v", ...), so that a test of
// the harness's own wiring (with a testing.TB that records failures) can
// tell the checks apart without parsing messages.
type HTTPFailure struct {
	// Route is the route probed; for CheckVacuous, Method is "*" and Path
	// the fixture's kind; for a TenantField that no answer carried
	// (CheckTenantField), both are "*".
	Route Route
	// Actor is the actor's name, or "" for checks of the whole config.
	Actor string
	// Check is the check that failed.
	Check Check
	// Detail says what was seen, with the object's id and tenant.
	Detail string
}

// String returns the failure as ProbeHTTP reports it.
func (f HTTPFailure) String() string {
	if f.Actor == "" {
		return fmt.Sprintf("tenancytest: %s: %s: %s", f.Route, f.Check, f.Detail)
	}
	return fmt.Sprintf("tenancytest: %s (as %s): %s: %s", f.Route, f.Actor, f.Check, f.Detail)
}

var pathParamRE = regexp.MustCompile(`\{[^{}]*\}`)

// ProbeHTTP replays every route of cfg.Inventory, as every actor, against
// every object foreign to that actor, and checks that a foreign object
// answers exactly as a missing one ([CheckForeign]), that no successful
// response names a foreign object ([CheckForeignID]) or carries another
// tenant in the tenant field ([CheckTenantField]), that a write aimed at a
// foreign object changes nothing ([CheckUnchanged]), that a write whose
// body names another tenant's object or the other tenant neither
// succeeds with it nor changes it ([CheckBodyID]), and, where
// [RouteSpec.Allowed] is set, that allowed actors succeed and others are
// refused ([CheckAccess]). It refuses to pass vacuously: a route of the
// inventory that was not probed fails [CheckCoverage], a fixture that no
// actor owning it saw in a successful response fails [CheckVacuous], and
// a TenantField that no answer carried fails [CheckTenantField]. With
// TenantField unset, or no write body holding an id the prober knows,
// its log says that those checks did not run.
//
// The body check runs for each actor that may call a write route with a
// JSON body, where the prober already sends that actor's body: a route
// without a parameter that has [RouteSpec.Call], and a route with a
// parameter aimed at an object the actor owns (the one write ProbeHTTP
// makes on an actor's own object, and only when the body holds an id it
// knows). Every string in the body that is a fixture's id is replaced,
// one at a time, by the id of each fixture of the same kind foreign to
// the actor, and by a missing id; a string that is the actor's tenant, by
// each other tenant of the fixtures and by a missing id.
//
// Each hole is reported with t.Errorf naming the route, the method, the
// actor and the check, and the probe goes on. A malformed cfg stops it
// with t.Fatalf and an error wrapping [ErrInvalidConfig]. Routes are
// probed in the order of cfg.Routes, actors in the order of cfg.Actors,
// one request at a time. It uses t.Context().
//
// ProbeHTTP sends real requests: reads, the writes aimed at foreign and
// missing objects (which must change nothing), and the calls of routes
// with [RouteSpec.Call], which write as the actor.
func ProbeHTTP(t testing.TB, cfg HTTPConfig) {
	t.Helper()
	p, err := newHTTPProbe(cfg)
	if err != nil {
		t.Fatalf("%v", err)
		return
	}
	p.t = t
	p.run(t.Context())
}

type httpProbe struct {
	t     testing.TB
	cfg   HTTPConfig
	specs map[Route]RouteSpec
	// seen records the fixtures that an owner saw in a 2xx body.
	seen map[string]bool
	// tenantAnswers counts the successful JSON answers to actors with a
	// tenant, and tenantFields the objects in them with the tenant field.
	tenantAnswers, tenantFields int
	// bodies counts the write bodies the body check read, and
	// substitutions the requests it sent with a foreign id in a body.
	bodies, substitutions int
	// tenants are the tenants of the fixtures, in order.
	tenants []tenancy.ID
}

func newHTTPProbe(cfg HTTPConfig) (*httpProbe, error) {
	switch {
	case cfg.Handler == nil && cfg.BaseURL == "":
		return nil, fmt.Errorf("%w: Handler or BaseURL is required", ErrInvalidConfig)
	case cfg.Handler != nil && cfg.BaseURL != "":
		return nil, fmt.Errorf("%w: give Handler or BaseURL, not both", ErrInvalidConfig)
	case len(cfg.Inventory) == 0:
		return nil, fmt.Errorf("%w: no inventory", ErrInvalidConfig)
	case len(cfg.Actors) == 0:
		return nil, fmt.Errorf("%w: no actors", ErrInvalidConfig)
	case len(cfg.Fixtures) == 0:
		return nil, fmt.Errorf("%w: no fixtures", ErrInvalidConfig)
	}
	cfg.MissingStatus = cmp.Or(cfg.MissingStatus, http.StatusNotFound)
	cfg.ForbiddenStatus = cmp.Or(cfg.ForbiddenStatus, http.StatusForbidden)
	if cfg.MissingID == nil {
		// An id of the shape the deployment's keys have.
		if cfg.Principals.TenantKey == tenancy.KeyBigint {
			cfg.MissingID = func() string { return newKey(tenancy.KeyBigint).String() }
		} else {
			cfg.MissingID = func() string { return tenancy.NewID().String() }
		}
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	names := map[string]bool{}
	for _, a := range cfg.Actors {
		if a.Name == "" || names[a.Name] {
			return nil, fmt.Errorf("%w: actor names must be set and distinct (%q)", ErrInvalidConfig, a.Name)
		}
		names[a.Name] = true
		if a.Principal.Kind != "" && cfg.Principals.Access(a.Principal.Kind) == 0 {
			return nil, fmt.Errorf("%w: actor %s: kind %q is not declared in Principals (pass the model's Principals())", ErrInvalidConfig, a.Name, a.Principal.Kind)
		}
	}
	cfg.Actors = slices.Clone(cfg.Actors) // the caller's are not changed
	for i := range cfg.Actors {
		cfg.Actors[i].subjectScoped = cfg.Principals.Access(cfg.Actors[i].Principal.Kind) == tenancy.AccessSubject
	}
	ids := map[string]bool{}
	for _, f := range cfg.Fixtures {
		switch {
		case f.Kind == "" || f.ID == "" || f.Tenant.IsZero():
			return nil, fmt.Errorf("%w: fixture %+v needs a kind, an id and a tenant", ErrInvalidConfig, f)
		case ids[f.ID]:
			return nil, fmt.Errorf("%w: fixture id %s is listed twice", ErrInvalidConfig, f.ID)
		}
		ids[f.ID] = true
	}
	specs := map[Route]RouteSpec{}
	for _, s := range cfg.Routes {
		if _, dup := specs[s.route()]; dup {
			return nil, fmt.Errorf("%w: route %s has two specs", ErrInvalidConfig, s.route())
		}
		if n := len(pathParamRE.FindAllString(s.Path, -1)); n > 1 {
			return nil, fmt.Errorf("%w: route %s has %d path parameters; the prober fills one", ErrInvalidConfig, s.route(), n)
		}
		if s.Skip == "" && s.Method != http.MethodGet && s.Object != "" && cfg.Snapshot == nil {
			return nil, fmt.Errorf("%w: route %s writes to an object, so Snapshot is required", ErrInvalidConfig, s.route())
		}
		if s.Skip == "" && s.Method != http.MethodGet && s.Body != nil && cfg.Snapshot == nil {
			return nil, fmt.Errorf("%w: route %s writes with a body, in which the prober tries other tenants' ids, so Snapshot is required", ErrInvalidConfig, s.route())
		}
		specs[s.route()] = s
	}
	var tenants []tenancy.ID
	for _, f := range cfg.Fixtures {
		if !slices.Contains(tenants, f.Tenant) {
			tenants = append(tenants, f.Tenant)
		}
	}
	return &httpProbe{cfg: cfg, specs: specs, seen: map[string]bool{}, tenants: tenants}, nil
}

// result is one response.
type result struct {
	status int
	ctype  string
	body   []byte
}

func (r result) ok() bool { return r.status >= 200 && r.status < 300 }

func (p *httpProbe) fail(rt Route, actor string, check Check, format string, args ...any) {
	p.t.Helper()
	p.t.Errorf("%v", HTTPFailure{Route: rt, Actor: actor, Check: check, Detail: fmt.Sprintf(format, args...)})
}

func (p *httpProbe) run(ctx context.Context) {
	p.t.Helper()
	inInventory := map[Route]bool{}
	for _, rt := range p.cfg.Inventory {
		inInventory[rt] = true
		if _, ok := p.specs[rt]; !ok {
			p.fail(rt, "", CheckCoverage, "the route is in the inventory but has no RouteSpec, so nothing probed it: add one (or one with Skip and the reason)")
		}
	}
	for _, s := range p.cfg.Routes {
		if !inInventory[s.route()] {
			p.fail(s.route(), "", CheckCoverage, "the RouteSpec names a route that the inventory does not have")
			continue
		}
		if s.Skip != "" {
			p.t.Logf("tenancytest: %s: not probed: %s", s.route(), s.Skip)
			continue
		}
		p.route(ctx, s)
	}
	// Every fixture was seen by an actor that owns it, so that its
	// absence elsewhere means something.
	for _, f := range p.cfg.Fixtures {
		if !p.seen[f.ID] {
			owners := 0
			for _, a := range p.cfg.Actors {
				if a.owns(f) {
					owners++
				}
			}
			p.fail(Route{"*", f.Kind}, "", CheckVacuous,
				"fixture %s of tenant %s was never seen in a successful response by any of its %d owning actors, so its absence from other tenants' answers proves nothing: give an owner a route that reads or lists it (and a Query that pages it in)",
				f.ID, f.Tenant, owners)
		}
	}
	// A configured check that never compared anything fails; one that is
	// not configured says so.
	switch {
	case p.cfg.TenantField == "":
		p.t.Logf("tenancytest: the tenant-field check did not run: HTTPConfig.TenantField is not set, so no answer was checked for another tenant's id in its tenant field")
	case p.tenantFields == 0:
		p.fail(Route{"*", "*"}, "", CheckTenantField,
			"no successful JSON answer to an actor with a tenant (%d of them) carried the tenant field %q, so the check never compared a tenant and would pass whatever the answers said: set TenantField to the field the API names its objects' tenant with",
			p.tenantAnswers, p.cfg.TenantField)
	default:
		p.t.Logf("tenancytest: the tenant field %q was checked in %d objects of %d successful JSON answers", p.cfg.TenantField, p.tenantFields, p.tenantAnswers)
	}
	switch {
	case p.substitutions > 0:
		p.t.Logf("tenancytest: the body-id check sent %d requests with another tenant's or a missing id in one field of %d write bodies", p.substitutions, p.bodies)
	case p.bodies > 0:
		p.t.Logf("tenancytest: the body-id check did not run: none of the %d write bodies sent held a fixture's id or the actor's tenant", p.bodies)
	default:
		p.t.Logf("tenancytest: the body-id check did not run: no write with a JSON body was sent by an actor that may call it")
	}
}

func (p *httpProbe) route(ctx context.Context, s RouteSpec) {
	p.t.Helper()
	rt := s.route()
	hasParam := pathParamRE.MatchString(s.Path)
	if hasParam && s.Object == "" {
		p.fail(rt, "", CheckCoverage, "the path has a parameter but the RouteSpec names no Object kind to fill it")
		return
	}
	if !hasParam && s.Object != "" {
		p.fail(rt, "", CheckCoverage, "the RouteSpec names Object %q but the path has no parameter", s.Object)
		return
	}
	var objects []Fixture
	if hasParam {
		for _, f := range p.cfg.Fixtures {
			if f.Kind == s.Object {
				objects = append(objects, f)
			}
		}
		if len(objects) == 0 {
			p.fail(rt, "", CheckCoverage, "no fixture of kind %q", s.Object)
			return
		}
	}
	allowedAny, comparedAny, okAny, skippedWrite := false, false, false, false
	calls, subs := 0, 0
	for _, a := range p.cfg.Actors {
		known := s.Allowed != nil
		allowed := !known || s.Allowed(a)
		allowedAny = allowedAny || (known && allowed)
		var body []byte
		if s.Body != nil {
			b, err := bodyOf(s.Body(a))
			if err != nil {
				p.t.Fatalf("%v", fmt.Errorf("%w: %s: body for %s: %v", ErrInvalidConfig, rt, a.Name, err))
				return
			}
			body = b
		}
		if !hasParam {
			if s.Method != http.MethodGet && !s.Call && allowed {
				skippedWrite = true
				continue // it would write as the actor; see RouteSpec.Call
			}
			calls++
			r, err := p.do(ctx, rt, a, s.Method, s.Path+s.Query, body)
			if err != nil {
				p.fail(rt, a.Name, CheckAccess, "request failed: %v", err)
				continue
			}
			okAny = okAny || r.ok()
			p.access(rt, a, known, allowed, r)
			p.success(rt, a, r)
			if s.Method != http.MethodGet && allowed && body != nil {
				subs += p.bodyIDs(ctx, rt, a, s.Method, s.Path+s.Query, body)
			}
			continue
		}
		// The route takes an object: the actor's own first, as a control
		// and to see each fixture once in its owner's answers.
		if s.Method == http.MethodGet {
			for _, f := range objects {
				if !a.owns(f) {
					continue
				}
				r, err := p.do(ctx, rt, a, s.Method, fill(s.Path, f.ID)+s.Query, body)
				if err != nil {
					p.fail(rt, a.Name, CheckAccess, "request failed: %v", err)
					continue
				}
				okAny = okAny || r.ok()
				p.access(rt, a, known, allowed, r)
				p.success(rt, a, r)
			}
		}
		for _, f := range objects {
			if a.owns(f) {
				continue
			}
			comparedAny = comparedAny || allowed
			calls++
			p.foreign(ctx, s, a, f, known, allowed, body)
		}
		// Another tenant's ids in the body of a write aimed at one of the
		// actor's own objects: the path's lookup then succeeds, and only
		// the handler's reading of the body stands between the actor and
		// the foreign object.
		if s.Method != http.MethodGet && allowed && body != nil {
			if i := slices.IndexFunc(objects, a.owns); i >= 0 {
				subs += p.bodyIDs(ctx, rt, a, s.Method, fill(s.Path, objects[i].ID)+s.Query, body)
			}
		}
	}
	p.t.Logf("tenancytest: %s: %d calls as %d actors (%d allowed); foreign objects compared: %t; requests with another tenant's id in the body: %d", rt, calls, len(p.cfg.Actors), countAllowed(s, p.cfg.Actors), comparedAny, subs)
	switch {
	case skippedWrite && s.Allowed == nil:
		p.fail(rt, "", CheckCoverage, "the route writes and takes no object, so only Call makes the prober call it; set Call (with a Body) or Allowed, or Skip with the reason")
	case calls == 0:
		p.fail(rt, "", CheckCoverage, "no request was made: the route writes and takes no object, and every actor may call it; set Call (with a Body), or Skip with the reason")
	case s.Allowed != nil && !allowedAny:
		p.fail(rt, "", CheckCoverage, "no actor may call the route, so only refusals were seen, which prove nothing about scoping: add an actor that Allowed admits")
	case hasParam && !comparedAny:
		p.fail(rt, "", CheckCoverage, "no actor that may call the route was given another tenant's %s: add fixtures of that kind at another tenant", s.Object)
	case s.Method == http.MethodGet && !okAny:
		p.fail(rt, "", CheckCoverage, "no actor got a successful answer, so there was nothing to check for foreign data")
	}
}

func countAllowed(s RouteSpec, actors []Actor) int {
	if s.Allowed == nil {
		return len(actors)
	}
	n := 0
	for _, a := range actors {
		if s.Allowed(a) {
			n++
		}
	}
	return n
}

// access checks the status against Allowed.
func (p *httpProbe) access(rt Route, a Actor, known, allowed bool, r result) {
	p.t.Helper()
	switch {
	case !known:
	case allowed && !r.ok():
		p.fail(rt, a.Name, CheckAccess, "an actor that may call the route got %d, not a 2xx, so its answer shows nothing: %s", r.status, clip(r.body))
	case !allowed && r.status != p.cfg.ForbiddenStatus:
		p.fail(rt, a.Name, CheckAccess, "an actor that may not call the route got %d, want %d: %s", r.status, p.cfg.ForbiddenStatus, clip(r.body))
	}
}

// success checks a 2xx body: no foreign id, the tenant field, and records
// the fixtures that their owner saw.
func (p *httpProbe) success(rt Route, a Actor, r result) {
	p.t.Helper()
	if !r.ok() {
		return
	}
	for _, f := range p.cfg.Fixtures {
		if !containsID(r.body, f.ID) {
			continue
		}
		if a.owns(f) {
			p.seen[f.ID] = true
		} else {
			p.fail(rt, a.Name, CheckForeignID, "the %d answer names %s %s of tenant %s, which is not the actor's: %s", r.status, f.Kind, f.ID, f.Tenant, clip(r.body))
		}
	}
	if a.Principal.Tenant.IsZero() || !strings.Contains(r.ctype, "json") {
		return
	}
	if p.cfg.TenantField == "" {
		return
	}
	v, err := decodeJSON(r.body)
	if err != nil {
		return
	}
	p.tenantAnswers++
	want := a.Principal.Tenant.String()
	walkJSON(v, func(obj map[string]any) {
		got, ok := obj[p.cfg.TenantField]
		if !ok {
			return
		}
		p.tenantFields++
		if s, ok := jsonKey(got); !ok || s != want {
			p.fail(rt, a.Name, CheckTenantField, "an object in the %d answer has %s %v, not the actor's tenant %s", r.status, p.cfg.TenantField, got, want)
		}
	})
}

// foreign aims the route at f, foreign to a, and at a missing id, and
// compares the answers; for a write, it compares f's snapshots too.
func (p *httpProbe) foreign(ctx context.Context, s RouteSpec, a Actor, f Fixture, known, allowed bool, body []byte) {
	p.t.Helper()
	rt := s.route()
	write := s.Method != http.MethodGet && s.Method != http.MethodHead
	var before string
	if write {
		var err error
		if before, err = p.cfg.Snapshot(ctx, f); err != nil {
			p.fail(rt, a.Name, CheckUnchanged, "snapshot of %s %s before the write: %v", f.Kind, f.ID, err)
			return
		}
	}
	theirs, err := p.do(ctx, rt, a, s.Method, fill(s.Path, f.ID)+s.Query, body)
	if err != nil {
		p.fail(rt, a.Name, CheckForeign, "request with %s %s failed: %v", f.Kind, f.ID, err)
		return
	}
	missingID := p.cfg.MissingID()
	missing, err := p.do(ctx, rt, a, s.Method, fill(s.Path, missingID)+s.Query, body)
	if err != nil {
		p.fail(rt, a.Name, CheckForeign, "request with a missing id failed: %v", err)
		return
	}
	nt, nm := p.normalize(theirs.body, f.ID), p.normalize(missing.body, missingID)
	switch {
	case theirs.status != missing.status || theirs.ctype != missing.ctype || !bytes.Equal(nt, nm):
		p.fail(rt, a.Name, CheckForeign, "%s %s of tenant %s answers %d %q %s; a missing id answers %d %q %s",
			f.Kind, f.ID, f.Tenant, theirs.status, theirs.ctype, clip(theirs.body), missing.status, missing.ctype, clip(missing.body))
	case known && allowed && missing.status != p.cfg.MissingStatus:
		p.fail(rt, a.Name, CheckForeign, "an actor that may call the route got %d for both a missing id and %s %s, want %d: the request was refused before the object was looked up, so the comparison shows nothing (fix RouteSpec.Body?): %s",
			missing.status, f.Kind, f.ID, p.cfg.MissingStatus, clip(missing.body))
	case known && !allowed && missing.status != p.cfg.ForbiddenStatus:
		p.fail(rt, a.Name, CheckAccess, "an actor that may not call the route got %d, want %d: %s", missing.status, p.cfg.ForbiddenStatus, clip(missing.body))
	}
	p.success(rt, a, theirs)
	if write {
		after, err := p.cfg.Snapshot(ctx, f)
		switch {
		case err != nil:
			p.fail(rt, a.Name, CheckUnchanged, "snapshot of %s %s after the write: %v", f.Kind, f.ID, err)
		case after != before:
			p.fail(rt, a.Name, CheckUnchanged, "the %d answer aside, %s %s of tenant %s changed:\nbefore: %s\nafter:  %s", theirs.status, f.Kind, f.ID, f.Tenant, clip([]byte(before)), clip([]byte(after)))
		}
	}
}

func (p *httpProbe) normalize(body []byte, id string) []byte {
	b := bytes.ReplaceAll(body, []byte(id), []byte("{id}"))
	if p.cfg.Normalize != nil {
		b = p.cfg.Normalize(b)
	}
	return b
}

// do sends one request as a, and reports what the guard refused meanwhile.
func (p *httpProbe) do(ctx context.Context, rt Route, a Actor, method, path string, body []byte) (result, error) {
	p.t.Helper()
	r, err := p.send(ctx, a, method, path, body)
	if p.cfg.Refusals != nil {
		for _, e := range p.cfg.Refusals() {
			p.fail(rt, a.Name, CheckGuard, "%s %s ran a statement that the SQL guard refuses: %v", method, path, e)
		}
	}
	return r, err
}

// send sends one request as a.
func (p *httpProbe) send(ctx context.Context, a Actor, method, path string, body []byte) (result, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	var req *http.Request
	var err error
	if p.cfg.Handler != nil {
		req = httptest.NewRequestWithContext(ctx, method, path, rd)
	} else if req, err = http.NewRequestWithContext(ctx, method, strings.TrimSuffix(p.cfg.BaseURL, "/")+path, rd); err != nil {
		return result{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	for k, vs := range a.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if p.cfg.Handler != nil {
		w := httptest.NewRecorder()
		p.cfg.Handler.ServeHTTP(w, req)
		return result{status: w.Code, ctype: w.Header().Get("Content-Type"), body: w.Body.Bytes()}, nil
	}
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	return result{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: b}, nil
}

// fill puts id in the path's parameter.
func fill(path, id string) string { return pathParamRE.ReplaceAllLiteralString(path, id) }

func bodyOf(v any) ([]byte, error) {
	switch b := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return b, nil
	case string:
		return []byte(b), nil
	}
	return json.Marshal(v)
}

// walkJSON calls fn on every object in v.
func walkJSON(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, e := range x {
			walkJSON(e, fn)
		}
	case []any:
		for _, e := range x {
			walkJSON(e, fn)
		}
	}
}

// clip shortens a body for a failure message.
func clip(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// SortRoutes sorts routes by path, then method, in place, and returns
// them: inventories read from a router come in registration order.
func SortRoutes(routes []Route) []Route {
	slices.SortFunc(routes, func(a, b Route) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Method, b.Method))
	})
	return routes
}

// decodeJSON decodes body keeping numbers as json.Number, so a bigint key
// sent as a JSON number keeps every digit.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// jsonKey returns the text of a key in a JSON answer: a string, or a
// number (as a bigint key may be sent); other values are no key.
func jsonKey(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return "", false
}
