package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/impersonation"
)

// recordedActions finds, in the Go sources of dir, the actions the app
// records: the store's record(ctx, tx, "action", ...) and viewRecord's
// action argument, and audit.Event{Action: "action"}.
func recordedActions(t *testing.T, dir string, patterns ...*regexp.Regexp) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range patterns {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				found[m[1]] = filepath.Base(f)
			}
		}
	}
	return found
}

// TestActionWords: every action the app records has words in the one
// table (actionWords), in a group the filter offers: the store's domain
// events, the platform's and the impersonation package's events, and
// every page an impersonating admin may open (recorded as its method and
// route). The API's routes are put in words from their path, and none is
// left as a route template.
func TestActionWords(t *testing.T) {
	kinds := map[string]bool{}
	for _, k := range auditKinds {
		kinds[k.Code] = true
	}
	check := func(action, where string) {
		t.Helper()
		w, ok := wordsOf(action)
		switch {
		case !ok:
			t.Errorf("%s records %q, which has no words in actionWords", where, action)
		case !kinds[w.Kind]:
			t.Errorf("%q is in group %q, which the filter does not offer", action, w.Kind)
		case strings.ContainsAny(strings.NewReplacer("{patient}", "", "{staff}", "").Replace(w.Words), "{}/"):
			t.Errorf("the words of %q are not words: %q", action, w.Words)
		}
	}
	store := recordedActions(t, "../store",
		regexp.MustCompile(`record\(ctx, tx, "([^"]+)"`),
		regexp.MustCompile(`(?s)viewRecord\(ctx, s, .*?, "([a-z_]+\.[a-z_.]+)", "[a-z_]+", [a-zA-Z.]+, [a-z]+\)`),
		regexp.MustCompile(`audit\.Event\{Action: "([^"]+)"`))
	if len(store) < 20 || store["patient.view"] == "" || store["payment.create"] == "" || store["clinic.create"] == "" {
		t.Fatalf("the scan of the store found %d actions, without the known ones: %v", len(store), store)
	}
	for action, file := range store {
		check(action, "store/"+file)
	}
	for _, action := range []string{impersonation.ActionStarted, impersonation.ActionEnded, impersonation.ActionRefused, audit.ActionSystem} {
		check(action, "package impersonation or audit")
	}
	// Every web page but the public ones, the portal's and the console's
	// is reachable by an impersonating admin, and recorded as its route.
	routes := recordedActions(t, ".", regexp.MustCompile(`s\.handle\("([A-Z]+ /[^"]*)", (?:[a-zA-Z]+)`))
	webRoutes := recordedActions(t, ".", regexp.MustCompile(`s\.handle\("([A-Z]+ /[^"]*)", (?:publicPage|portalPatient|console)\b`))
	if len(routes) < 30 || routes["GET /patients/{id}"] == "" {
		t.Fatalf("the scan of the web routes found %d", len(routes))
	}
	for r, file := range routes {
		if webRoutes[r] == "" {
			if _, ok := actionWords[r]; !ok {
				t.Errorf("web/%s: the route %q an impersonating admin may open has no words in actionWords", file, r)
			}
		}
	}
	methods := map[string]string{"Get": "GET", "Post": "POST", "Patch": "PATCH", "Put": "PUT", "Delete": "DELETE"}
	api := recordedActions(t, "../api", regexp.MustCompile(`s\.handle\(auth, (http\.Method[A-Za-z]+, v1\+"[^"]*)"`))
	if len(api) < 30 {
		t.Fatalf("the scan of the API found %d routes", len(api))
	}
	for r, file := range api {
		m, path, _ := strings.Cut(strings.TrimPrefix(r, "http.Method"), `, v1+"`)
		check(methods[m]+" /api/v1"+path, "api/"+file)
	}
}
