package tenancy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const modulePath = "github.com/mydentalpractice/tenancy"

// goPackage is the part of `go list -json` that the layering rules read.
type goPackage struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// mayImportTesting lists the module packages whose purpose is to serve tests.
var mayImportTesting = []string{
	modulePath + "/pgtest",
	modulePath + "/tenancytest",
	modulePath + "/jwtctx/oidctest", // a module of its own: an OpenID provider for tests
}

// badDeps is the sibling rule, in tailscale's deptest form: for each SDK
// package, the packages it must not depend on (directly or through
// another), each with the reason. Paths are relative to the module; "std:"
// marks a standard-library package.
var badDeps = map[string]map[string]string{
	"": {
		"std:net/http": "the domain types are for every transport, not HTTP only",
	},
	"audit": {
		"impersonation": "the chain records; it does not know who impersonates",
		"jwtctx":        "the chain records principals, whatever token carried them",
		"std:net/http":  "the chain is no HTTP middleware; impersonation's middleware records through it",
	},
	"impersonation": {
		"tenancytest": "grants and their middleware run in production, not only in tests",
	},
	"jwtctx": {
		"tenantdb":      "tokens know no database pool",
		"audit":         "the token layer does not record; impersonation records its refusals",
		"impersonation": "jwtctx verifies tokens; impersonation builds on it, not the other way round",
		"rls":           "tokens know no isolation model",
	},
	"rls": {
		"tenantdb": "the model and its SQL know no pool",
		"jwtctx":   "the model knows no token format",
		"sqlguard": "the guard reads the model, not the other way round",
		"audit":    "audit declares its tables to the model, not the other way round",
	},
	"sqlguard": {
		"tenantdb":     "the guard checks SQL; it runs none",
		"jwtctx":       "the guard knows no token format",
		"audit":        "the guard does not record",
		"std:net/http": "the guard is no HTTP concern",
	},
	"tenantdb": {
		"tenantriver":   "the pool knows no job queue; the queue builds on the pool",
		"jwtctx":        "the pool takes principals from registered sources, not from tokens",
		"audit":         "recording is a hook the caller sets (Config.OnSystem), not a dependency",
		"impersonation": "the pool knows principals, not how an admin came to act",
		"std:net/http":  "the pool serves jobs and CLIs as well as requests",
	},
	"tenantriver": {
		"jwtctx":       "jobs carry the principal the SDK verified, whatever token carried it",
		"audit":        "the job queue does not record; the work it runs may",
		"std:net/http": "jobs run outside requests",
	},
	"tenantarchive": {
		"jwtctx":       "export, import and erase act through tenantdb's audited entry points, whatever token asked",
		"std:net/http": "the lifecycle runs from CLIs and jobs; an app's HTTP layer calls it, not the other way round",
	},
	"tenantbun": {
		"jwtctx": "the bun adapter knows no token format",
		"audit":  "the bun adapter does not record",
	},
	"tenantsql": {
		"jwtctx":       "the database/sql adapter knows no token format",
		"audit":        "the database/sql adapter does not record",
		"std:net/http": "the database/sql adapter serves jobs and CLIs as well as requests",
	},
	"problem": {
		"tenancytest": "the answers run in production, not only in tests",
		"pgtest":      "the answers run in production, not only in tests",
	},
	"ratelimit": {
		"tenantdb":      "the limiter counts requests; it knows no pool",
		"audit":         "the limiter does not record",
		"impersonation": "the limiter keys on the tenant, whoever acts in it",
		"rls":           "the limiter knows no isolation model",
	},
	"internal/problem": {
		"": "the problem writer knows HTTP only, no tenant",
	},
}

// layeringViolations applies the module's layering rules to the packages of
// `go list -deps`:
//   - tenancy depends on the standard library only, and not on net/http;
//   - no package outside examples/ depends on gorilla/mux or on examples/;
//   - no package outside examples/ imports testing, except test helpers;
//   - no SDK package depends on a package that badDeps forbids it, and
//     each violation says why.
func layeringViolations(pkgs []goPackage) []string {
	std := make(map[string]bool, len(pkgs))
	for _, p := range pkgs {
		std[p.ImportPath] = p.Standard
	}
	var bad []string
	for _, p := range pkgs {
		if p.ImportPath != modulePath && !strings.HasPrefix(p.ImportPath, modulePath+"/") {
			continue
		}
		if strings.HasPrefix(p.ImportPath, modulePath+"/examples/") {
			continue
		}
		if p.ImportPath == modulePath {
			for _, d := range p.Deps {
				if !std[d] {
					bad = append(bad, fmt.Sprintf("%s depends on %s, outside the standard library", p.ImportPath, d))
				}
			}
		}
		for _, d := range p.Deps {
			if d == "github.com/gorilla/mux" || strings.HasPrefix(d, "github.com/gorilla/mux/") {
				bad = append(bad, fmt.Sprintf("%s depends on %s", p.ImportPath, d))
			}
			if strings.HasPrefix(d, modulePath+"/examples/") {
				bad = append(bad, fmt.Sprintf("%s depends on %s", p.ImportPath, d))
			}
		}
		if slices.Contains(p.Imports, "testing") && !slices.Contains(mayImportTesting, p.ImportPath) {
			bad = append(bad, fmt.Sprintf("%s imports testing", p.ImportPath))
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, modulePath), "/")
		forbidden := badDeps[rel]
		for _, d := range p.Deps {
			key := "std:" + d
			if d == modulePath || strings.HasPrefix(d, modulePath+"/") {
				key = strings.TrimPrefix(strings.TrimPrefix(d, modulePath), "/")
			}
			if why, ok := forbidden[key]; ok {
				bad = append(bad, fmt.Sprintf("%s depends on %s: %s", p.ImportPath, d, why))
			}
		}
	}
	return bad
}

func TestLayeringRules(t *testing.T) {
	pkgs := []goPackage{
		{ImportPath: "context", Standard: true},
		{ImportPath: "net/http", Standard: true},
		{ImportPath: "testing", Standard: true},
		{ImportPath: "github.com/jackc/pgx/v5"},
		{ImportPath: "github.com/gorilla/mux"},
		{ImportPath: modulePath, Deps: []string{"context", "github.com/jackc/pgx/v5", "net/http"}},
		{ImportPath: modulePath + "/jwtctx", Imports: []string{"testing"}, Deps: []string{"github.com/gorilla/mux", "testing"}},
		{ImportPath: modulePath + "/audit", Deps: []string{modulePath + "/examples/dentalclinic/store"}},
		{ImportPath: modulePath + "/tenancytest", Imports: []string{"testing"}, Deps: []string{"testing"}},
		{ImportPath: modulePath + "/examples/dentalclinic", Imports: []string{"github.com/gorilla/mux"}, Deps: []string{"github.com/gorilla/mux"}},
	}
	want := []string{
		modulePath + " depends on github.com/jackc/pgx/v5, outside the standard library",
		modulePath + " depends on net/http: the domain types are for every transport, not HTTP only",
		modulePath + "/jwtctx depends on github.com/gorilla/mux",
		modulePath + "/jwtctx imports testing",
		modulePath + "/audit depends on " + modulePath + "/examples/dentalclinic/store",
	}
	if diff := cmp.Diff(want, layeringViolations(pkgs)); diff != "" {
		t.Errorf("layeringViolations (-want +got):\n%s", diff)
	}
}

// TestLayeringRulesBetweenSiblings: a forbidden sibling dependency, direct
// or through another package, is a violation that gives its reason.
func TestLayeringRulesBetweenSiblings(t *testing.T) {
	pkgs := []goPackage{
		{ImportPath: "net/http", Standard: true},
		{ImportPath: modulePath},
		{ImportPath: modulePath + "/impersonation", Deps: []string{modulePath, "net/http"}},
		{ImportPath: modulePath + "/audit", Imports: []string{modulePath + "/impersonation"},
			Deps: []string{modulePath, modulePath + "/impersonation", "net/http"}},
		{ImportPath: modulePath + "/sqlguard", Deps: []string{modulePath + "/tenantdb"}},
		{ImportPath: modulePath + "/jwtctx", Deps: []string{"net/http", modulePath + "/internal/problem"}},
	}
	want := []string{
		modulePath + "/audit depends on " + modulePath + "/impersonation: the chain records; it does not know who impersonates",
		modulePath + "/audit depends on net/http: the chain is no HTTP middleware; impersonation's middleware records through it",
		modulePath + "/sqlguard depends on " + modulePath + "/tenantdb: the guard checks SQL; it runs none",
	}
	if diff := cmp.Diff(want, layeringViolations(pkgs)); diff != "" {
		t.Errorf("layeringViolations (-want +got):\n%s", diff)
	}
}

// TestBadDepsNameRealPackages keeps the table honest: every package it
// names, as the one ruled or as a forbidden dependency, exists.
func TestBadDepsNameRealPackages(t *testing.T) {
	for pkg, deps := range badDeps {
		names := []string{pkg}
		for d := range deps {
			if !strings.HasPrefix(d, "std:") {
				names = append(names, d)
			}
		}
		for _, n := range names {
			if n == "" {
				continue
			}
			if _, err := os.Stat(n); err != nil {
				t.Errorf("badDeps names %q, which is no package of the module: %v", n, err)
			}
		}
	}
}

// TestLayering checks the real module: dependencies point inward, so the
// SDK can be imported without the example app or its router.
func TestLayering(t *testing.T) {
	// The go command that runs the test puts its own directory first on
	// PATH, so the same toolchain lists the packages.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-deps", "-json=ImportPath,Standard,Imports,Deps", modulePath+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if !slices.ContainsFunc(pkgs, func(p goPackage) bool { return p.ImportPath == modulePath }) {
		t.Fatalf("go list did not list %s; the check would be vacuous", modulePath)
	}
	for _, v := range layeringViolations(pkgs) {
		t.Error(v)
	}
}

// forbiddenInConsumers are modules that only the example app or heavy test
// fallbacks need: an application importing the SDK must not inherit them.
var forbiddenInConsumers = []string{
	"github.com/chromedp/", "github.com/testcontainers/", "github.com/docker/", "github.com/moby/",
	"github.com/pressly/goose", "github.com/gorilla/mux",
}

// TestConsumerModuleGraph builds a scratch module that imports every
// public SDK package, as an application would (the SDK replaced by this
// checkout, outside the workspace), and fails if its module graph holds
// the example's or the test fallbacks' modules. It needs no network: the
// module cache and this module's go.sum have every module the SDK needs.
func TestConsumerModuleGraph(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	list := exec.Command(goBin, "list", "-f", `{{if ne .Name "main"}}{{.ImportPath}}{{end}}`, "./...")
	list.Env = append(os.Environ(), "GOWORK=off")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var imports []string
	for _, p := range strings.Fields(string(out)) {
		if !strings.Contains(p, "/internal/") {
			imports = append(imports, "\t_ "+strconv.Quote(p))
		}
	}
	if len(imports) < 8 {
		t.Fatalf("found %d SDK packages to import, want every public one (8 or more)", len(imports))
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/consumer\n\ngo 1.26.0\n\nrequire " + modulePath + " v0.0.0\n\nreplace " + modulePath + " => " + root + "\n",
		"main.go": "package main\n\nimport (\n" + strings.Join(imports, "\n") + "\n)\n\nfunc main() {}\n",
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files["go.sum"] = string(sum)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return string(out)
	}
	run("mod", "tidy")
	run("build", "./...")
	modules := run("list", "-m", "all")
	if !strings.Contains(modules, "github.com/jackc/pgx/v5") {
		t.Fatalf("the consumer's module graph lacks pgx, so the check would be vacuous:\n%s", modules)
	}
	for _, m := range strings.Split(strings.TrimSpace(modules), "\n") {
		for _, bad := range forbiddenInConsumers {
			if strings.HasPrefix(m, bad) {
				t.Errorf("a consumer of the SDK inherits %s", m)
			}
		}
	}
}
