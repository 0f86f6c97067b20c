package main

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy/pgtest"
)

// TestAPI runs the routes' own behaviour: members write, guests read,
// bad input is a 400 that changes nothing, and errors are problem+json.
func TestAPI(t *testing.T) {
	a := startApp(t)
	ada := a.token(t, a.user(t, acme, member).Principal)
	gus := a.user(t, acme, guest)
	gusToken := a.token(t, gus.Principal)
	var projectID string
	for id := range a.ids(t, "projects", acme) {
		projectID = id.String()
	}

	projects, tasks := a.count(t, "projects", acme), a.count(t, "tasks", acme)
	for _, c := range []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"no token", "GET", "/projects", "", nil, http.StatusUnauthorized},
		{"guest creates a project", "POST", "/projects", gusToken, map[string]any{"name": "Nope"}, http.StatusForbidden},
		{"guest creates a task", "POST", "/tasks", gusToken, map[string]any{"project_id": projectID, "title": "Nope"}, http.StatusForbidden},
		{"empty name", "POST", "/projects", ada, map[string]any{"name": "  "}, http.StatusBadRequest},
		{"unknown field", "POST", "/projects", ada, map[string]any{"name": "X", "org_id": "2"}, http.StatusBadRequest},
		{"not JSON", "POST", "/projects", ada, "{", http.StatusBadRequest},
		{"trailing data", "POST", "/projects", ada, `{"name": "X"} {}`, http.StatusBadRequest},
		{"project id as a number", "POST", "/tasks", ada, map[string]any{"project_id": 1, "title": "X"}, http.StatusBadRequest},
		{"missing project", "POST", "/tasks", ada, map[string]any{"project_id": "999999999999999", "title": "X"}, http.StatusBadRequest},
		{"bad assignee", "POST", "/tasks", ada, map[string]any{"project_id": projectID, "title": "X", "assignee_id": "x"}, http.StatusBadRequest},
		{"malformed id", "GET", "/projects/abc", ada, nil, http.StatusNotFound},
		{"missing task", "GET", "/tasks/999999999999999", ada, nil, http.StatusNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := a.do(t, c.method, c.path, c.token, c.body)
			if r.status != c.want || r.ctype != "application/problem+json" {
				t.Errorf("got %d %q %s, want %d application/problem+json", r.status, r.ctype, r.body, c.want)
			}
		})
	}
	if got, got2 := a.count(t, "projects", acme), a.count(t, "tasks", acme); got != projects || got2 != tasks {
		t.Errorf("refused requests wrote rows: %d projects, %d tasks; want %d and %d", got, got2, projects, tasks)
	}

	// Answers carry keys as strings; tenancy.ID's UnmarshalText reads only
	// UUIDs, so the test reads them as strings.
	type object struct {
		ID         string `json:"id"`
		OrgID      string `json:"org_id"`
		ProjectID  string `json:"project_id"`
		AssigneeID string `json:"assignee_id"`
		Name       string `json:"name"`
	}
	var p object
	r := a.do(t, "POST", "/projects", ada, map[string]any{"name": "Anvil drop"})
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &p) != nil || p.OrgID != acme.String() || p.Name != "Anvil drop" {
		t.Fatalf("creating a project: %d %s", r.status, r.body)
	}
	gusID := gus.Principal.Subject.String()
	var tk object
	r = a.do(t, "POST", "/tasks", ada, map[string]any{"project_id": p.ID, "title": "Buy anvil", "assignee_id": gusID})
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &tk) != nil || tk.ProjectID != p.ID || tk.AssigneeID != gusID {
		t.Fatalf("creating a task: %d %s", r.status, r.body)
	}
	// The guest sees the task assigned to it, and only its own tasks.
	var list struct{ Items []object }
	if r := a.do(t, "GET", "/tasks", gusToken, nil); r.status != http.StatusOK || json.Unmarshal(r.body, &list) != nil {
		t.Fatalf("guest's tasks: %d %s", r.status, r.body)
	}
	if len(list.Items) != 2 {
		t.Errorf("the guest sees %d tasks, want 2 (the seeded one and the new one)", len(list.Items))
	}
	for _, tk := range list.Items {
		if tk.AssigneeID != gusID {
			t.Errorf("the guest sees task %s assigned to %q", tk.ID, tk.AssigneeID)
		}
	}
}

// TestRestart runs the migration and the seed a second time, as a restart
// does: they change nothing and give the same demo users.
func TestRestart(t *testing.T) {
	a := startApp(t)
	before := map[string]int{}
	for _, table := range []string{"users", "projects", "tasks"} {
		before[table] = a.count(t, table, acme) + a.count(t, table, globex)
	}
	if err := migrate(t.Context(), a.db.ConnString(pgtest.Owner), a.model); err != nil {
		t.Fatal(err)
	}
	users, err := seed(t.Context(), a.pool)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(users, a.users) {
		t.Errorf("the second seed gave users %+v, want the first's %+v", users, a.users)
	}
	for table, n := range before {
		if got := a.count(t, table, acme) + a.count(t, table, globex); got != n {
			t.Errorf("%s: %d rows after the restart, want %d", table, got, n)
		}
	}
}

// TestNeedsDatabaseURLs: without its connection strings the service
// stops at once, saying what to set.
func TestNeedsDatabaseURLs(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("MIGRATION_DATABASE_URL", "")
	err := run(t.Context(), "")
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "MIGRATION_DATABASE_URL") {
		t.Errorf("run without the URLs: %v, want an error naming DATABASE_URL and MIGRATION_DATABASE_URL", err)
	}
}
