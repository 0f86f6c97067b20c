package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/mydentalpractice/tenancy"
)

// TestPatientSearchAndPagingNonASCII: names that start with a non-ASCII
// capital are found by the substring search as they are written, and
// paging through them one at a time skips and repeats none. Both fold
// case in the database only (lower() on both sides), so Go's case mapping
// and the database's (which depends on its locale) never meet.
func TestPatientSearchAndPagingNonASCII(t *testing.T) {
	a := startApp(t)
	desk := a.NewStaff(t, riverside, "front_desk").Token
	tag := "nonascii" + tenancy.NewID().String()[:8]
	families := []string{"Øberg", "Ørsted", "Østergaard", "Ølund", "Åberg", "Ébert"}
	for _, f := range families {
		r := a.Do(t, "POST", "/api/v1/patients", desk, map[string]any{"given_name": tag, "family_name": f})
		if r.Status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", f, r.Status, r.Body)
		}
	}

	type page struct {
		Items      []patientJSON `json:"items"`
		NextCursor *string       `json:"next_cursor"`
	}
	list := func(q url.Values) page {
		t.Helper()
		var p page
		r := a.Do(t, "GET", "/api/v1/patients?"+q.Encode(), desk, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list %v: %d %s", q, r.Status, r.Body)
		}
		r.JSON(t, &p)
		return p
	}

	// All of them, in one page: the control.
	all := list(url.Values{"q": {tag}, "limit": {"50"}})
	if len(all.Items) != len(families) {
		t.Fatalf("searching %q found %d patients, want the %d just made", tag, len(all.Items), len(families))
	}
	var want []string
	for _, p := range all.Items {
		want = append(want, p.FamilyName)
	}

	// The same, one page at a time.
	var got []string
	q := url.Values{"q": {tag}, "limit": {"1"}}
	for range 2 * len(families) {
		p := list(q)
		for _, it := range p.Items {
			got = append(got, it.FamilyName)
		}
		if p.NextCursor == nil {
			break
		}
		q.Set("cursor", *p.NextCursor)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paging one at a time gave %q, want %q", got, want)
	}

	// Each name, searched as it is written.
	for _, f := range families {
		p := list(url.Values{"q": {f + " " + tag}, "limit": {"50"}})
		p2 := list(url.Values{"q": {tag + " " + f}, "limit": {"50"}})
		if len(p.Items)+len(p2.Items) == 0 {
			t.Errorf("searching %q (and %q) found nothing", f+" "+tag, tag+" "+f)
		}
	}
}
