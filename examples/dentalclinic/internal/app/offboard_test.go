package app_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/app"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantarchive"
)

// TestOffboardClinic: a platform admin offboards Lakeside with a reason:
// the clinic is suspended at once, its records exported (a signed archive
// in the data directory) and erased; the console lists the offboarding
// with the signed erasure record, which verifies against Lakeside's kept,
// sealed audit chain; every tenant table holds none of Lakeside's rows,
// while Riverside's and Hillcrest's rows and chains are as they were.
func TestOffboardClinic(t *testing.T) {
	oa := apptest.Start(t, apptest.Options{})
	admin := oa.SignIn(t, seed.AdminEmail, tenancy.ID{}) // this app's own: adminSession caches the shared app's
	lake := seed.Clinics[2]
	ctx := context.Background()
	fingerprint := func(c tenancy.ID) string {
		var s string
		if err := oa.DB.Conn(t, pgtest.Admin).QueryRow(ctx, `select md5(string_agg(x, ',' order by x)) from (
			select 'p' || p::text as x from patients p where clinic_id = $1
			union all select 'a' || a::text from appointments a where clinic_id = $1
			union all select 'i' || i::text from invoices i where clinic_id = $1) q`, c).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	riverBefore, hillBefore := fingerprint(riverside.ID), fingerprint(hillcrest.ID)
	lakeRows := oa.SuperCount(t, `select count(*) from patients where clinic_id = $1`, lake.ID)
	if lakeRows == 0 || riverBefore == "" || hillBefore == "" {
		t.Fatal("fixture: a clinic has no rows, so the checks would pass vacuously")
	}
	owner := oa.SignIn(t, seed.StaffEmail("owner", lake), lake.ID)

	if r := oa.Do(t, "POST", "/api/v1/admin/clinics/"+lake.ID.String()+"/offboard", admin, map[string]any{"reason": "  "}); r.Status != http.StatusUnprocessableEntity || !r.IsProblem() {
		t.Errorf("offboarding without a reason: %d %s", r.Status, r.Body)
	}
	if r := oa.Do(t, "POST", "/api/v1/admin/clinics/"+tenancy.NewID().String()+"/offboard", admin, map[string]any{"reason": "gone"}); r.Status != http.StatusNotFound {
		t.Errorf("offboarding an unknown clinic: %d %s", r.Status, r.Body)
	}
	if r := oa.Do(t, "POST", "/api/v1/admin/clinics/"+lake.ID.String()+"/offboard", owner, map[string]any{"reason": "mine"}); r.Status != http.StatusForbidden {
		t.Errorf("a clinic owner offboards: %d %s", r.Status, r.Body)
	}
	r := oa.Do(t, "POST", "/api/v1/admin/clinics/"+lake.ID.String()+"/offboard", admin, map[string]any{"reason": "The clinic closed; contract ended 2026-11-30"})
	if r.Status != http.StatusAccepted {
		t.Fatalf("offboard: %d %s", r.Status, r.Body)
	}
	var ob store.Offboarding
	r.JSON(t, &ob)
	if r := oa.Do(t, "GET", "/api/v1/patients?q=a", owner, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the clinic's owner after the offboarding began: %d, want 401 (suspended)", r.Status)
	}

	deadline := time.Now().Add(90 * time.Second)
	for ob.Status == store.OffboardRunning && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		var list struct{ Items []store.Offboarding }
		oa.Do(t, "GET", "/api/v1/admin/offboardings", admin, nil).JSON(t, &list)
		if len(list.Items) != 1 {
			t.Fatalf("offboardings: %+v", list.Items)
		}
		ob = list.Items[0]
	}
	if ob.Status != store.OffboardErased || ob.ExportedRows == 0 || len(ob.Digest) != 64 || ob.Record == nil {
		t.Fatalf("the offboarding: %+v, want erased with its record", ob)
	}

	// The record: signed, verified against the kept chain, listing every
	// tenant relation with none of Lakeside's rows left.
	rec, err := tenantarchive.ParseErasure(ob.Record)
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
	if err := rec.Verify(pub); err != nil {
		t.Errorf("the record's signature: %v", err)
	}
	if err := tenantarchive.VerifyErasure(ctx, oa.DB.Pool(t, pgtest.Platform), rec); err != nil {
		t.Errorf("the record against the kept chain: %v", err)
	}
	model := oa.Model(t)
	if len(rec.Relations) != len(model.TenantRelations()) {
		t.Errorf("the record lists %d relations, the model has %d tenant relations", len(rec.Relations), len(model.TenantRelations()))
	}
	for _, rel := range model.TenantRelations() {
		if rel.Schema == "audit" {
			continue // kept, sealed (checked below)
		}
		if n := oa.SuperCount(t, `select count(*) from `+rel.Qualified()+` where `+rel.TenantColumn+` = $1`, lake.ID); n != 0 {
			t.Errorf("%s holds %d of Lakeside's rows after the erasure", rel.Qualified(), n)
		}
	}
	if n := oa.SuperCount(t, `select count(*) from clinics where id = $1`, lake.ID); n != 0 {
		t.Errorf("Lakeside's registry row: %d", n)
	}
	if n := oa.SuperCount(t, `select count(*) from audit.events where tenant_id = $1`, lake.ID); n == 0 {
		t.Error("Lakeside's audit chain is gone; the rule keeps it")
	}
	// The final export is in the data directory, and verifies.
	exportDir := filepath.Join(oa.Dir, app.OffboardDir, lake.ID.String(), ob.ID.String())
	man, err := tenantarchive.ReadManifest(exportDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := man.Verify(pub); err != nil || man.Digest != ob.ExportDigest {
		t.Errorf("the final export: %v, digest %s, the record says %s", err, man.Digest, ob.ExportDigest)
	}
	if err := tenantarchive.VerifyFiles(exportDir, man); err != nil {
		t.Errorf("the final export's files: %v", err)
	}

	// The other clinics are untouched, and their chains verify.
	if fingerprint(riverside.ID) != riverBefore || fingerprint(hillcrest.ID) != hillBefore {
		t.Error("Riverside's or Hillcrest's rows changed")
	}
	for _, c := range []tenancy.ID{riverside.ID, hillcrest.ID} {
		if _, err := audit.Verify(ctx, oa.DB.Pool(t, pgtest.Platform), c); err != nil {
			t.Errorf("the chain of %s: %v", c, err)
		}
	}
	// A second offboarding of the erased clinic: it is not in the registry.
	if r := oa.Do(t, "POST", "/api/v1/admin/clinics/"+lake.ID.String()+"/offboard", admin, map[string]any{"reason": "again"}); r.Status != http.StatusNotFound {
		t.Errorf("offboarding the erased clinic again: %d %s", r.Status, r.Body)
	}
}
