package pglocal

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// FindBinDir returns the directory holding the PostgreSQL server binaries
// (initdb, postgres, pg_ctl). It looks at, in order:
//
//  1. the PG_BIN environment variable (when set, it must be right: a PG_BIN
//     without the binaries is an error, not a reason to look elsewhere);
//  2. initdb on PATH;
//  3. the output of `pg_config --bindir`;
//  4. the newest /usr/lib/postgresql/*/bin.
//
// When nothing is found the error wraps [ErrNoBinaries] and names the
// package to install.
func FindBinDir() (string, error) {
	return defaultFinder.find()
}

// finder holds the look-ups FindBinDir makes, so tests can replace them.
type finder struct {
	getenv   func(string) string
	lookPath func(string) (string, error)
	output   func(name string, args ...string) ([]byte, error)
	glob     string // pattern for distribution installs
}

var defaultFinder = finder{
	getenv:   os.Getenv,
	lookPath: exec.LookPath,
	output:   func(name string, args ...string) ([]byte, error) { return exec.Command(name, args...).Output() },
	glob:     "/usr/lib/postgresql/*/bin",
}

func (f finder) find() (string, error) {
	if dir := f.getenv("PG_BIN"); dir != "" {
		if err := hasServer(dir); err != nil {
			return "", fmt.Errorf("%w: PG_BIN=%s: %v", ErrNoBinaries, dir, err)
		}
		return dir, nil
	}
	var tried []string
	if p, err := f.lookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if hasServer(dir) == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	} else {
		tried = append(tried, "PATH")
	}
	if p, err := f.lookPath("pg_config"); err == nil {
		if out, err := f.output(p, "--bindir"); err == nil {
			dir := string(bytes.TrimSpace(out))
			if dir != "" && hasServer(dir) == nil {
				return dir, nil
			}
			tried = append(tried, "pg_config --bindir ("+dir+")")
		}
	}
	if f.glob != "" {
		dirs, _ := filepath.Glob(f.glob)
		slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
		for _, dir := range dirs {
			if hasServer(dir) == nil {
				return dir, nil
			}
		}
		tried = append(tried, f.glob)
	}
	return "", fmt.Errorf("%w (looked in %s): %s", ErrNoBinaries, strings.Join(tried, ", "), installHint)
}

// hasServer reports whether dir holds executable initdb and postgres.
func hasServer(dir string) error {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("no %s in %s", name, dir)
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s in %s is not executable", name, dir)
		}
	}
	return nil
}

// versionOf extracts the major version from a path like
// /usr/lib/postgresql/15/bin; unknown gives -1.
func versionOf(binDir string) int {
	v, err := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	if err != nil {
		return -1
	}
	return v
}
