package main

import (
	"errors"
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const appPath = "github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/"

// peerRules says, for each of the app's packages, the app packages it must
// not depend on (directly or through another), with the reason: the
// adapters (the API, the web UI) are peers on the sign-in service, the
// permission table and the store, and the store knows no HTTP adapter.
var peerRules = map[string]map[string]string{
	"api": {
		"web": "the API and the web UI are peers",
		"app": "the wiring depends on the API, not the other way round",
	},
	"web": {
		"api": "the API and the web UI are peers: both call the sign-in service and read the permission table",
		"app": "the wiring depends on the web UI, not the other way round",
	},
	"signin": {
		"api": "sign-in serves both adapters",
		"web": "sign-in serves both adapters",
	},
	"access": {
		"api": "the permission table serves both adapters",
		"web": "the permission table serves both adapters",
	},
	"store": {
		"api":    "the store knows no HTTP adapter",
		"web":    "the store knows no HTTP adapter",
		"signin": "the store knows no HTTP adapter",
		"app":    "the wiring depends on the store",
	},
}

// TestAdaptersArePeers checks peerRules against the app's own imports,
// read from its source (go/build, so that the test's result is cached only
// as long as the files it read are unchanged), followed through the app's
// packages.
func TestAdaptersArePeers(t *testing.T) {
	dirs, err := os.ReadDir("internal")
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string][]string{} // app package -> the app packages it imports
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		pkg, err := build.ImportDir(filepath.Join("internal", d.Name()), 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			if name, ok := strings.CutPrefix(imp, appPath); ok {
				imports[d.Name()] = append(imports[d.Name()], strings.SplitN(name, "/", 2)[0])
			}
		}
	}
	deps := func(pkg string) map[string]bool {
		seen := map[string]bool{}
		next := slices.Clone(imports[pkg])
		for len(next) > 0 {
			p := next[len(next)-1]
			next = next[:len(next)-1]
			if !seen[p] {
				seen[p] = true
				next = append(next, imports[p]...)
			}
		}
		return seen
	}
	for pkg, bad := range peerRules {
		if _, err := os.Stat(filepath.Join("internal", pkg)); err != nil {
			t.Errorf("package %s: %v: the rule names a package that is gone", pkg, err)
			continue
		}
		d := deps(pkg)
		for dep, why := range bad {
			if d[dep] {
				t.Errorf("%s depends on %s: %s", pkg, dep, why)
			}
		}
	}
}
