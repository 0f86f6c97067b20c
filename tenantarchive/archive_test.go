package tenantarchive_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantarchive"
)

// exported seeds clinics A (plan basic) and B (plan pro) in a fresh
// database, proves B's rows are there, and exports A.
func exported(t *testing.T) (src *pgtest.DB, dir string, man *tenantarchive.Manifest) {
	t.Helper()
	src, m := migrated(t)
	p := pool(t, src, m)
	seed(t, src, p, clinicA, 12, "basic")
	seed(t, src, p, clinicB, 7, "pro")
	for rel, col := range tenantColumns {
		if len(rowsOf(t, src, rel, col, clinicB)) == 0 {
			t.Fatalf("fixture: no row of clinic B in %s", rel)
		}
	}
	dir = filepath.Join(t.TempDir(), "clinic-a")
	var progress []tenantarchive.Progress
	man, err := tenantarchive.Export(staff(clinicA, staffA), p, clinicA, dir, tenantarchive.ExportConfig{
		Reason: "the clinic asked for its records", SchemaVersion: "3",
		Progress: func(p tenantarchive.Progress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	var done int
	for _, p := range progress {
		if p.Done {
			done++
		}
	}
	if done != len(man.Tables) {
		t.Errorf("progress reported %d tables done, the archive has %d", done, len(man.Tables))
	}
	return src, dir, man
}

// TestRoundTrip exports clinic A (the app role reads its tables, the
// platform role its audit log, in one snapshot), checks that nothing of
// clinic B is in the archive, imports it into a fresh database with the
// same migrations (as a role that is no superuser, writing each row as
// the app or platform role), and compares every table row by row.
func TestRoundTrip(t *testing.T) {
	src, dir, man := exported(t)

	// The archive: every tenant relation and the registries referenced.
	var names []string
	for _, tb := range man.Tables {
		names = append(names, tb.Class+" "+tb.Name)
	}
	want := []string{"registry public.clinics", "registry public.plans", "tenant audit.chain_heads", "tenant audit.events",
		"tenant audit.impersonation_grants", "tenant public.accounts", "tenant public.patients", "tenant public.staff_notes", "tenant public.transfers"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("archive's tables (-want +got):\n%s", diff)
	}
	for _, tb := range man.Tables {
		b, err := os.ReadFile(filepath.Join(dir, tb.File))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(clinicB.String())) || bytes.Contains(b, []byte("pro")) {
			t.Errorf("%s (%s) holds clinic B's key or B's plan", tb.File, tb.Name)
		}
	}
	if got := len(readCSV(t, dir, man, "public.plans")) - 1; got != 1 {
		t.Errorf("plans in the archive: %d, want basic only", got)
	}
	// The chain's head includes the export's own record.
	events := readCSV(t, dir, man, "audit.events")
	if man.AuditHead == nil || man.AuditHead.Seq != int64(len(events)-1) {
		t.Fatalf("audit head %+v with %d events", man.AuditHead, len(events)-1)
	}

	// A target that already holds clinic C: imported beside it.
	dst, m := migrated(t)
	seed(t, dst, pool(t, dst, m), clinicC, 3, "gold")
	before := rowsOf(t, dst, "public.patients", "clinic_id", clinicC)
	got, err := tenantarchive.Import(context.Background(), importer(t, dst), m, dir, tenantarchive.ImportConfig{SchemaVersion: "3"})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if got.Digest != man.Digest {
		t.Errorf("Import returned another manifest")
	}
	for rel, col := range tenantColumns {
		if diff := cmp.Diff(rowsOf(t, src, rel, col, clinicA), rowsOf(t, dst, rel, col, clinicA)); diff != "" {
			t.Errorf("%s, source (-) and target (+):\n%s", rel, diff)
		}
		if rows := rowsOf(t, dst, rel, col, clinicB); len(rows) != 0 {
			t.Errorf("clinic B has %d rows of %s in the target", len(rows), rel)
		}
	}
	if diff := cmp.Diff(rowsOf(t, src, "public.clinics", "id", clinicA), rowsOf(t, dst, "public.clinics", "id", clinicA)); diff != "" {
		t.Errorf("clinic A's registry row (-source +target):\n%s", diff)
	}
	if diff := cmp.Diff(before, rowsOf(t, dst, "public.patients", "clinic_id", clinicC)); diff != "" {
		t.Errorf("clinic C's rows changed (-before +after):\n%s", diff)
	}
	// The chain verifies on the target, as the platform role, at the head.
	rep, err := audit.Verify(context.Background(), dst.Pool(t, pgtest.Platform), clinicA)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Head.Seq != man.AuditHead.Seq || hex.EncodeToString(rep.Head.Hash[:]) != man.AuditHead.Hash {
		t.Errorf("target's head %d %x, manifest's %+v", rep.Head.Seq, rep.Head.Hash, man.AuditHead)
	}
	// Imported once: a second import is refused.
	if _, err := tenantarchive.Import(context.Background(), dst.Conn(t, pgtest.Admin), m, dir, tenantarchive.ImportConfig{}); !errors.Is(err, tenantarchive.ErrTenantExists) {
		t.Errorf("second Import = %v, want ErrTenantExists", err)
	}
}
