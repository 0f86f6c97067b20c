package app_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantarchive"
)

// TestClinicExport: a clinic's owner asks for an export of the clinic's
// records, made by a background job in the clinic's context, and downloads
// it: a signed tenantarchive archive that verifies, holds every one of
// Riverside's patients and none of Hillcrest's rows (which exist), and
// imports into a fresh database with the same migrations, row for row. A
// second request within the hour is 429; other roles are 403; Hillcrest's
// owner gets 404 for Riverside's export, as for a missing one; the
// request, the export and the download are in Riverside's audit log.
func TestClinicExport(t *testing.T) {
	oa := apptest.Start(t, apptest.Options{})
	owner := oa.SignIn(t, seed.StaffEmail("owner", riverside), riverside.ID)
	hillOwner := oa.SignIn(t, seed.StaffEmail("owner", hillcrest), hillcrest.ID)
	desk := oa.SignIn(t, seed.StaffEmail("frontdesk", riverside), riverside.ID)
	hillPatients := oa.SuperCount(t, `select count(*) from patients where clinic_id = $1`, hillcrest.ID)
	if hillPatients == 0 {
		t.Fatal("Hillcrest has no patients: the check below would pass vacuously")
	}

	if r := oa.Do(t, "POST", "/api/v1/settings/exports", desk, nil); r.Status != http.StatusForbidden || !r.IsProblem() {
		t.Errorf("the front desk asks for an export: %d %s", r.Status, r.Body)
	}
	r := oa.Do(t, "POST", "/api/v1/settings/exports", owner, nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("request: %d %s", r.Status, r.Body)
	}
	var ex store.Export
	r.JSON(t, &ex)
	if ex.Status != store.ExportPending {
		t.Fatalf("request: %+v, want pending", ex)
	}
	again := oa.Do(t, "POST", "/api/v1/settings/exports", owner, nil)
	if wait, _ := strconv.Atoi(again.Header.Get("Retry-After")); again.Status != http.StatusTooManyRequests || !again.IsProblem() || wait < 3000 {
		t.Errorf("a second request within the hour: %d Retry-After %q %s", again.Status, again.Header.Get("Retry-After"), again.Body)
	}
	if n := oa.SuperCount(t, `select count(*) from clinic_exports where clinic_id = $1`, riverside.ID); n != 1 {
		t.Errorf("%d exports of Riverside, want 1: the refused request made one", n)
	}

	// Made in the background.
	deadline := time.Now().Add(60 * time.Second)
	for ex.Status == store.ExportPending && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		var list struct{ Items []store.Export }
		oa.Do(t, "GET", "/api/v1/settings/exports", owner, nil).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != ex.ID {
			t.Fatalf("exports: %+v", list.Items)
		}
		ex = list.Items[0]
	}
	if ex.Status != store.ExportReady || ex.Rows == 0 || ex.Tables == 0 || len(ex.Digest) != 64 {
		t.Fatalf("the export: %+v, want ready with rows", ex)
	}

	archive := "/api/v1/settings/exports/" + ex.ID.String() + "/archive"
	foreign := oa.Do(t, "GET", archive, hillOwner, nil)
	missing := oa.Do(t, "GET", "/api/v1/settings/exports/"+tenancy.NewID().String()+"/archive", hillOwner, nil)
	if foreign.Status != http.StatusNotFound || foreign.Status != missing.Status || string(foreign.Body) != string(missing.Body) {
		t.Errorf("Hillcrest's owner downloads Riverside's export: %d %s; a missing one: %d %s", foreign.Status, foreign.Body, missing.Status, missing.Body)
	}
	if r := oa.Do(t, "GET", archive, desk, nil); r.Status != http.StatusForbidden {
		t.Errorf("the front desk downloads: %d", r.Status)
	}
	dl := oa.Do(t, "GET", archive, owner, nil)
	if dl.Status != http.StatusOK || dl.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("download: %d %s", dl.Status, dl.Header)
	}
	dir := untar(t, dl.Body)

	// The archive verifies (signed with the app's audit key), and holds
	// Riverside's rows only.
	man, err := tenantarchive.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := os.ReadFile(filepath.Join(oa.Dir, app.AuditKeyFile+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := man.Verify(pub); err != nil {
		t.Fatalf("the manifest: %v", err)
	}
	if err := tenantarchive.VerifyFiles(dir, man); err != nil {
		t.Fatalf("the files: %v", err)
	}
	if man.Tenant != riverside.ID.String() || man.Digest != ex.Digest || man.SchemaVersion != strconv.Itoa(migrations.Latest) {
		t.Errorf("manifest: tenant %s, digest %s (the export says %s), schema %s", man.Tenant, man.Digest, ex.Digest, man.SchemaVersion)
	}
	all := readAll(t, dir)
	if strings.Contains(all, hillcrest.ID.String()) {
		t.Error("the archive names Hillcrest")
	}
	var hillIDs []string
	rows, err := oa.DB.Conn(t, pgtest.Admin).Query(context.Background(), `select id::text from patients where clinic_id = $1`, hillcrest.ID)
	if err != nil {
		t.Fatal(err)
	}
	if hillIDs, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	for _, id := range hillIDs {
		if strings.Contains(all, id) {
			t.Fatalf("the archive holds Hillcrest's patient %s", id)
		}
	}

	// It imports into a fresh database with the same migrations: every
	// one of Riverside's patients and appointments, and its audit chain.
	target := pgtest.New(t)
	target.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{target.RoleName(pgtest.Owner)}.Sanitize()+" bypassrls")
	roles := migrations.Roles{Owner: target.RoleName(pgtest.Owner), App: target.RoleName(pgtest.App), Platform: target.RoleName(pgtest.Platform), Audit: target.RoleName(pgtest.Audit)}
	ctx := context.Background()
	if _, err := migrations.Up(ctx, migrations.Conns{Owner: target.ConnString(pgtest.Owner), AuditAdmin: target.ConnString(pgtest.Admin)}, roles); err != nil {
		t.Fatal(err)
	}
	model, err := migrations.Model(roles)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tenantarchive.Import(ctx, target.Conn(t, pgtest.Admin), model, dir, tenantarchive.ImportConfig{
		SchemaVersion: strconv.Itoa(migrations.Latest), PublicKey: pub}); err != nil {
		t.Fatalf("import: %v", err)
	}
	for _, table := range []string{"patients", "appointments", "invoices", "staff"} {
		var in int
		if err := target.Conn(t, pgtest.Admin).QueryRow(ctx, `select count(*) from `+table+` where clinic_id = $1`, riverside.ID).Scan(&in); err != nil {
			t.Fatal(err)
		}
		// The source as of the export: rows made since would differ, and
		// none were (the test's own app).
		if want := oa.SuperCount(t, `select count(*) from `+table+` where clinic_id = $1`, riverside.ID); in != want || want == 0 {
			t.Errorf("%s: %d imported, %d in the source", table, in, want)
		}
	}
	if rep, err := audit.Verify(ctx, target.Pool(t, pgtest.Platform), riverside.ID); err != nil || rep.Events == 0 {
		t.Errorf("the imported chain: %+v, %v", rep, err)
	}

	// The owner reads all three in the clinic's audit log.
	var log struct {
		Items []struct {
			Action       string `json:"action"`
			ResourceType string `json:"resource_type"`
		} `json:"items"`
	}
	oa.Do(t, "GET", "/api/v1/audit?limit=50", owner, nil).JSON(t, &log)
	seen := map[string]bool{}
	for _, e := range log.Items {
		seen[e.Action] = true
	}
	for _, want := range []string{"clinic.export.request", "clinic.export.download"} {
		if !seen[want] {
			t.Errorf("the owner's audit log lacks %s: %+v", want, log.Items)
		}
	}
	if n := oa.SuperCount(t, `select count(*) from audit.events where tenant_id = $1 and reason like '%export '||$2||'%'`, riverside.ID, ex.ID.String()); n != 1 {
		t.Errorf("%d audit events of the export's read, want 1", n)
	}
}

// untar extracts a gzipped tar into a new directory and returns the one
// directory it holds.
func untar(t *testing.T, b []byte) string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	root := t.TempDir()
	top := ""
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !filepath.IsLocal(h.Name) || h.Typeflag != tar.TypeReg {
			t.Fatalf("archive entry %q (%c)", h.Name, h.Typeflag)
		}
		top = strings.SplitN(h.Name, "/", 2)[0]
		path := filepath.Join(root, h.Name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(root, top)
}

// readAll is every file of dir, concatenated.
func readAll(t *testing.T, dir string) string {
	t.Helper()
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		sb.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}
