package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// prefixPage lists one page of GET /api/v1/patients?name_prefix=...
func prefixPage(t *testing.T, a *apptest.App, token, prefix, extra string) ([]patientJSON, string) {
	t.Helper()
	r := a.Do(t, "GET", "/api/v1/patients?name_prefix="+url.QueryEscape(prefix)+extra, token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("name_prefix=%q%s: %d %s", prefix, extra, r.Status, r.Body)
	}
	var page struct {
		Items      []patientJSON
		NextCursor *string `json:"next_cursor"`
	}
	r.JSON(t, &page)
	next := ""
	if page.NextCursor != nil {
		next = *page.NextCursor
	}
	return page.Items, next
}

func families(ps []patientJSON) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.FamilyName)
	}
	return out
}

// TestNamePrefixSearchSisterClinic: the family-name prefix search finds
// Hillcrest's patient at Hillcrest (so the fixture exists), and the same
// search at Riverside returns nothing of Hillcrest's.
func TestNamePrefixSearchSisterClinic(t *testing.T) {
	a := startApp(t)
	hill := a.SignIn(t, seed.StaffEmail("frontdesk", hillcrest), tenancy.ID{})
	river := a.SignIn(t, seed.StaffEmail("frontdesk", riverside), tenancy.ID{})
	family := seed.HillcrestOnly[strings.LastIndex(seed.HillcrestOnly, " ")+1:] // Whitlock

	for _, prefix := range []string{family, strings.ToLower(family[:4]), strings.ToUpper(family[:3])} {
		got, _ := prefixPage(t, a, hill, prefix, "")
		found := false
		for _, p := range got {
			found = found || p.FamilyName == family && p.ClinicID == hillcrest.ID
		}
		if !found {
			t.Fatalf("Hillcrest's own name_prefix=%q does not find %s: %v; the fixture is missing", prefix, family, families(got))
		}

		got, _ = prefixPage(t, a, river, prefix, "")
		for _, p := range got {
			if p.ClinicID != riverside.ID || p.FamilyName == family {
				t.Errorf("LEAK: Riverside's name_prefix=%q returned %s %s of clinic %v", prefix, p.GivenName, p.FamilyName, p.ClinicID)
			}
		}
	}
}

// TestNamePrefixSearch: the prefix matches the start of the family name,
// ignoring the case of A to Z, literally (no LIKE wildcards), also after
// non-ASCII characters, page by page; bad prefixes are 422s, like every invalid filter.
func TestNamePrefixSearch(t *testing.T) {
	a := startApp(t)
	river := a.SignIn(t, seed.StaffEmail("frontdesk", riverside), tenancy.ID{})
	for _, fam := range []string{"Zoëprefixtest", "ZOEprefixtest", "Øprefixtest", "Zo_prefixtest", "Zo%prefixtest"} {
		r := a.Do(t, "POST", "/api/v1/patients", river, map[string]any{"given_name": "Prefix", "family_name": fam})
		if r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Fatalf("create %s: %d %s", fam, r.Status, r.Body)
		}
	}
	has := func(ps []patientJSON, fam string) bool {
		for _, p := range ps {
			if p.FamilyName == fam {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		prefix   string
		want     []string
		wantNone []string
	}{
		{"zo", []string{"Zoëprefixtest", "ZOEprefixtest", "Zo_prefixtest", "Zo%prefixtest"}, nil},
		{"ZOË", nil, []string{"Zoëprefixtest", "ZOEprefixtest"}}, // Ë is not A-Z: matched as it is
		{"zoë", []string{"Zoëprefixtest"}, []string{"ZOEprefixtest"}},
		{"zoe", []string{"ZOEprefixtest"}, []string{"Zoëprefixtest"}},
		{"Ø", []string{"Øprefixtest"}, nil},
		{"Zo_", []string{"Zo_prefixtest"}, []string{"Zoëprefixtest", "ZOEprefixtest", "Zo%prefixtest"}}, // _ is no wildcard
		{"zo%", []string{"Zo%prefixtest"}, []string{"Zoëprefixtest", "ZOEprefixtest", "Zo_prefixtest"}}, // nor is %
		{"%", nil, []string{"Zo%prefixtest"}},
		{"  zoe  ", []string{"ZOEprefixtest"}, nil}, // trimmed, like q
		{"zoeprefixtestx", nil, []string{"ZOEprefixtest"}},
		{"\U0010FFFF", nil, nil}, // no upper bound: still a valid, empty search
	} {
		got, _ := prefixPage(t, a, river, c.prefix, "&limit=200")
		for _, w := range c.want {
			if !has(got, w) {
				t.Errorf("name_prefix=%q: %s missing from %v", c.prefix, w, families(got))
			}
		}
		for _, w := range c.wantNone {
			if has(got, w) {
				t.Errorf("name_prefix=%q: %s returned", c.prefix, w)
			}
		}
		lo, _, _ := store.NamePrefixBounds(strings.TrimSpace(c.prefix))
		for _, p := range got {
			if p.ClinicID != riverside.ID || !strings.HasPrefix(store.FoldName(p.FamilyName), lo) {
				t.Errorf("name_prefix=%q returned %s %s of clinic %v", c.prefix, p.GivenName, p.FamilyName, p.ClinicID)
			}
		}
	}

	// Page by page, with the cursor, the same patients as in one page.
	all, next := prefixPage(t, a, river, "w", "&limit=200")
	if next != "" || len(all) < 3 {
		t.Fatalf("name_prefix=w: %d patients, next %q; want at least 3 on one page", len(all), next)
	}
	var paged []patientJSON
	cursor := ""
	for i := 0; ; i++ {
		if i > len(all) {
			t.Fatal("paging does not end")
		}
		page, next := prefixPage(t, a, river, "w", "&limit=2&cursor="+url.QueryEscape(cursor))
		paged = append(paged, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(paged) != len(all) {
		t.Fatalf("paged %d patients, one page %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i].ID != all[i].ID {
			t.Fatalf("page order differs at %d: %s against %s", i, paged[i].FamilyName, all[i].FamilyName)
		}
	}

	for _, bad := range []string{"%ff", "a%00", "x%01", url.QueryEscape(strings.Repeat("w", 101))} {
		r := a.Do(t, "GET", "/api/v1/patients?name_prefix="+bad, river, nil)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"name_prefix"`) {
			t.Errorf("name_prefix=%s: %d %s, want 422 on field name_prefix", bad, r.Status, r.Body)
		}
	}
}
