package pglocal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeInstall makes dir/initdb and dir/postgres as empty executables.
func fakeInstall(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFinder(t *testing.T) {
	root := t.TempDir()
	pgbin := fakeInstall(t, filepath.Join(root, "pgbin"))
	onPath := fakeInstall(t, filepath.Join(root, "path"))
	fromConfig := fakeInstall(t, filepath.Join(root, "config"))
	fakeInstall(t, filepath.Join(root, "lib/postgresql/9/bin"))
	fakeInstall(t, filepath.Join(root, "lib/postgresql/16/bin"))
	fakeInstall(t, filepath.Join(root, "lib/postgresql/13/bin"))
	clientOnly := filepath.Join(root, "client")
	if err := os.MkdirAll(clientOnly, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(clientOnly, "pg_config"), nil, 0o755); err != nil {
		t.Fatal(err)
	}

	notFound := func(string) (string, error) { return "", errors.New("not found") }
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	path := func(m map[string]string) func(string) (string, error) {
		return func(name string) (string, error) {
			if p, ok := m[name]; ok {
				return p, nil
			}
			return "", errors.New("not found")
		}
	}
	pgConfig := func(dir string) func(string, ...string) ([]byte, error) {
		return func(string, ...string) ([]byte, error) { return []byte(dir + "\n"), nil }
	}

	tests := []struct {
		name    string
		f       finder
		want    string
		wantErr string // substring; "" means success
	}{
		{"PG_BIN first", finder{getenv: env(map[string]string{"PG_BIN": pgbin}), lookPath: path(map[string]string{"initdb": onPath + "/initdb"}), glob: root + "/lib/postgresql/*/bin"}, pgbin, ""},
		{"PG_BIN wrong is an error", finder{getenv: env(map[string]string{"PG_BIN": clientOnly}), lookPath: path(map[string]string{"initdb": onPath + "/initdb"})}, "", "PG_BIN=" + clientOnly},
		{"PATH", finder{getenv: env(nil), lookPath: path(map[string]string{"initdb": onPath + "/initdb"}), glob: root + "/lib/postgresql/*/bin"}, onPath, ""},
		{"pg_config", finder{getenv: env(nil), lookPath: path(map[string]string{"pg_config": clientOnly + "/pg_config"}), output: pgConfig(fromConfig), glob: root + "/lib/postgresql/*/bin"}, fromConfig, ""},
		{"pg_config without server falls through", finder{getenv: env(nil), lookPath: path(map[string]string{"pg_config": clientOnly + "/pg_config"}), output: pgConfig(clientOnly), glob: root + "/lib/postgresql/*/bin"}, root + "/lib/postgresql/16/bin", ""},
		{"newest distribution install", finder{getenv: env(nil), lookPath: notFound, glob: root + "/lib/postgresql/*/bin"}, root + "/lib/postgresql/16/bin", ""},
		{"nothing", finder{getenv: env(nil), lookPath: notFound, glob: root + "/nowhere/*/bin"}, "", "apt-get install postgresql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.find()
			if tt.wantErr != "" {
				if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("find() = %q, %v; want ErrNoBinaries mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("find() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
