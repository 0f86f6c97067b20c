package web_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

var exportLink = regexp.MustCompile(`href="(/settings/exports/[0-9a-f-]{36})"`)

// TestSettingsExport: the clinic's owner prepares an export from Settings
// and downloads it once ready (a gzipped tar with the archive's manifest
// first); a second request within the hour is refused with a message;
// other staff see no export form and may not ask.
func TestSettingsExport(t *testing.T) {
	a := startApp(t)
	desk := newClient(t, a.base)
	desk.signIn(seed.StaffEmail("frontdesk", lakeside), false, "/schedule")
	p := desk.get("/settings")
	if p.status != http.StatusOK || strings.Contains(p.body, `action="/settings/exports"`) {
		t.Errorf("the front desk's Settings: %d, export form shown: %v", p.status, strings.Contains(p.body, `action="/settings/exports"`))
	}
	if r := desk.post("/settings/exports", url.Values{"csrf_token": {csrf(t, p)}}); r.status != http.StatusForbidden {
		t.Errorf("the front desk asks for an export: %d", r.status)
	}

	owner := newClient(t, a.base)
	owner.signIn(seed.StaffEmail("owner", lakeside), false, "/schedule")
	p = owner.get("/settings")
	if !strings.Contains(p.body, `action="/settings/exports"`) {
		t.Fatalf("the owner's Settings has no export form")
	}
	wantRedirect(t, "export", owner.post("/settings/exports", url.Values{"csrf_token": {csrf(t, p)}}), "/settings?done=export")
	again := owner.post("/settings/exports", url.Values{"csrf_token": {csrf(t, p)}})
	if again.status != http.StatusTooManyRequests || !strings.Contains(again.body, "try again later") {
		t.Errorf("a second export within the hour: %d", again.status)
	}
	var link string
	for deadline := time.Now().Add(60 * time.Second); link == ""; time.Sleep(200 * time.Millisecond) {
		if m := exportLink.FindStringSubmatch(owner.get("/settings").body); m != nil {
			link = m[1]
		} else if time.Now().After(deadline) {
			t.Fatal("no download link after a minute")
		}
	}
	dl := owner.get(link)
	if dl.status != http.StatusOK || dl.header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("download: %d %v", dl.status, dl.header)
	}
	gz, err := gzip.NewReader(bytes.NewReader([]byte(dl.body)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := tar.NewReader(gz).Next()
	if err != nil || !strings.HasSuffix(h.Name, "/manifest.json") {
		t.Fatalf("the archive's first entry: %v, %v", h, err)
	}
	if r := desk.get(link); r.status != http.StatusForbidden {
		t.Errorf("the front desk downloads: %d", r.status)
	}
}
