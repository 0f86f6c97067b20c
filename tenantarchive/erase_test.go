package tenantarchive_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantarchive"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// erasable are the tenant relations of the fixture that erase empties,
// and kept those the retention rule keeps.
var (
	erasable = []string{"public.accounts", "public.patients", "public.staff_notes", "public.transfers"}
	kept     = []string{"audit.chain_heads", "audit.events", "audit.impersonation_grants"}
)

// fingerprint is clinic's rows in every tenant relation and its registry
// row, read as the superuser: per relation its count and the SHA-256 of
// its rows.
func fingerprint(t testing.TB, db *pgtest.DB, clinic tenancy.ID) map[string]string {
	t.Helper()
	out := map[string]string{}
	for rel, col := range tenantColumns {
		rows := rowsOf(t, db, rel, col, clinic)
		sum := sha256.Sum256([]byte(strings.Join(rows, "\n")))
		out[rel] = fmt.Sprintf("%d rows, %x", len(rows), sum[:8])
	}
	out["public.clinics"] = strings.Join(rowsOf(t, db, "public.clinics", "id", clinic), "\n")
	return out
}

func eraseConfig() tenantarchive.EraseConfig {
	return tenantarchive.EraseConfig{Reason: "the clinic left the platform (ticket 77)", Retention: tenantarchive.RetainAuditChain, BatchSize: 5}
}

// checkErased checks rec and the database after clinic A's erasure: the
// record lists every tenant relation of the model, each erased relation
// with deleted rows of A as seeded and none remaining (the superuser
// finds none either), the audit log kept, the registry row gone, the
// chain sealed by the erasure and verifying; and clinic B exactly as
// before.
func checkErased(t *testing.T, db *pgtest.DB, m *rls.Model, rec *tenantarchive.Erasure, seeded int64, bBefore map[string]string) {
	t.Helper()
	var names, want []string
	for _, r := range rec.Relations {
		names = append(names, r.Class+" "+r.Name)
	}
	for _, r := range m.TenantRelations() {
		class := tenantarchive.ClassErased
		if r.Table.Audit {
			class = tenantarchive.ClassKept
		}
		want = append(want, class+" "+r.Qualified())
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("the record's relations (-every tenant relation of the model +record):\n%s", diff)
	}
	for _, name := range erasable {
		r, _ := rec.Relation(name)
		if r.Deleted != seeded || r.Remaining != 0 {
			t.Errorf("%s: deleted %d, remaining %d; want %d and 0", name, r.Deleted, r.Remaining, seeded)
		}
		if got := len(rowsOf(t, db, name, "clinic_id", clinicA)); got != 0 {
			t.Errorf("%s still holds %d rows of clinic A (as the superuser)", name, got)
		}
	}
	for _, name := range kept {
		r, _ := rec.Relation(name)
		if r.Remaining == 0 || int64(len(rowsOf(t, db, name, "tenant_id", clinicA))) < r.Remaining {
			t.Errorf("%s: remaining %d in the record, %d in the database: the audit log was not kept", name, r.Remaining, len(rowsOf(t, db, name, "tenant_id", clinicA)))
		}
	}
	if got := rowsOf(t, db, "public.clinics", "id", clinicA); len(got) != 0 {
		t.Errorf("clinic A's registry row is still there")
	}
	if rec.Registry != "public.clinics" || !rec.Checked {
		t.Errorf("record: registry %q, checked %v", rec.Registry, rec.Checked)
	}
	platform := db.Pool(t, pgtest.Platform)
	if err := tenantarchive.VerifyErasure(context.Background(), platform, rec); err != nil {
		t.Errorf("VerifyErasure: %v", err)
	}
	// Clinic B: unchanged, its chain verifies.
	if diff := cmp.Diff(bBefore, fingerprint(t, db, clinicB)); diff != "" {
		t.Errorf("clinic B changed (-before +after):\n%s", diff)
	}
	if _, err := audit.Verify(context.Background(), platform, clinicB); err != nil {
		t.Errorf("clinic B's chain: %v", err)
	}
}

// seeded prepares clinics A and B and proves that both have rows in every
// tenant relation; it returns B's fingerprint.
func seeded(t *testing.T, db *pgtest.DB, p *tenantdb.Pool, patientsA int) map[string]string {
	t.Helper()
	seed(t, db, p, clinicA, patientsA, "basic")
	seed(t, db, p, clinicB, 7, "pro")
	for rel, col := range tenantColumns {
		for _, c := range []tenancy.ID{clinicA, clinicB} {
			if len(rowsOf(t, db, rel, col, c)) == 0 {
				t.Fatalf("fixture: no row of %s in %s", c, rel)
			}
		}
	}
	return fingerprint(t, db, clinicB)
}

// TestErase erases clinic A beside clinic B: the proof lists every tenant
// relation, A's rows are gone (seen as the superuser, past row-level
// security), B's rows and chain are unchanged, the record parses, its
// signature and digest catch an edit, and the chain shows an event
// written after the erasure.
func TestErase(t *testing.T) {
	db, m := migrated(t)
	p := pool(t, db, m)
	bBefore := seeded(t, db, p, 12)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	cfg := eraseConfig()
	cfg.SigningKey = key
	var progress []tenantarchive.EraseProgress
	cfg.Progress = func(p tenantarchive.EraseProgress) { progress = append(progress, p) }
	rec, err := tenantarchive.Erase(context.Background(), p, clinicA, cfg)
	if err != nil {
		t.Fatalf("Erase: %v", err)
	}
	checkErased(t, db, m, rec, 12, bBefore)

	// Children before parents: transfers and the notes before accounts
	// and patients, patients last.
	var order []string
	for _, pr := range progress {
		if pr.Done {
			order = append(order, pr.Table)
		}
	}
	if len(order) != len(erasable) || order[len(order)-1] != "public.patients" ||
		strings.Index(strings.Join(order, " "), "public.transfers") > strings.Index(strings.Join(order, " "), "public.accounts") {
		t.Errorf("deletion order %v: children must come before their parents", order)
	}

	// The document: parses, verifies, and an edit is caught.
	b, err := rec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := tenantarchive.ParseErasure(b)
	if err != nil {
		t.Fatalf("ParseErasure: %v", err)
	}
	if err := got.Verify(key.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("Verify: %v", err)
	}
	edited := strings.Replace(string(b), `"deleted": 12`, `"deleted": 11`, 1)
	if _, err := tenantarchive.ParseErasure([]byte(edited)); !errors.Is(err, tenantarchive.ErrTampered) {
		t.Errorf("ParseErasure of an edited count = %v, want ErrTampered", err)
	}
	resealed := *got
	resealed.AuditHead = &tenantarchive.Head{Seq: got.AuditHead.Seq - 1, Hash: got.AuditHead.Hash}
	if err := resealed.Verify(key.Public().(ed25519.PublicKey)); !errors.Is(err, tenantarchive.ErrSignature) {
		t.Errorf("Verify with another audit head = %v, want ErrSignature", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil || doc["retention"] != string(tenantarchive.RetainAuditChain) {
		t.Errorf("the record's retention: %v (%v)", doc["retention"], err)
	}

	// Erased once: again is refused, and the chain stays sealed.
	if _, err := tenantarchive.Erase(context.Background(), p, clinicA, eraseConfig()); !errors.Is(err, tenantarchive.ErrErased) {
		t.Errorf("second Erase = %v, want ErrErased", err)
	}
	if err := tenantarchive.VerifyErasure(context.Background(), db.Pool(t, pgtest.Platform), rec); err != nil {
		t.Errorf("VerifyErasure after a refused second erasure: %v", err)
	}
	// Work recorded for A after its erasure: the chain moved, which
	// VerifyErasure reports.
	if err := p.InTenant(context.Background(), clinicA, "a job that still ran for A", func(context.Context, *tenantdb.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := tenantarchive.VerifyErasure(context.Background(), db.Pool(t, pgtest.Platform), rec); !errors.Is(err, tenantarchive.ErrChain) {
		t.Errorf("VerifyErasure after a later event = %v, want ErrChain", err)
	}
}

// TestEraseRefuses: what Erase refuses, and that a refusal deletes
// nothing.
func TestEraseRefuses(t *testing.T) {
	db, m := migrated(t)
	p := pool(t, db, m)
	seeded(t, db, p, 3)
	aBefore := fingerprint(t, db, clinicA)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		tenant tenancy.ID
		edit   func(*tenantarchive.EraseConfig)
		want   error
	}{
		{"zero tenant", tenancy.ID{}, func(*tenantarchive.EraseConfig) {}, tenancy.ErrNoTenant},
		{"no reason", clinicA, func(c *tenantarchive.EraseConfig) { c.Reason = " \t" }, tenantdb.ErrNoReason},
		{"no retention rule", clinicA, func(c *tenantarchive.EraseConfig) { c.Retention = "" }, tenantarchive.ErrRetention},
		{"a retention rule it does not know", clinicA, func(c *tenantarchive.EraseConfig) { c.Retention = "delete" }, tenantarchive.ErrRetention},
		{"unknown tenant", clinicC, func(*tenantarchive.EraseConfig) {}, tenantarchive.ErrUnknownTenant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := eraseConfig()
			tc.edit(&cfg)
			if _, err := tenantarchive.Erase(ctx, p, tc.tenant, cfg); !errors.Is(err, tc.want) {
				t.Errorf("Erase = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := tenantarchive.Erase(ctx, p, clinicA, tenantarchive.EraseConfig{Reason: "r", Retention: tenantarchive.RetainAuditChain, BatchSize: -1}); err == nil {
		t.Errorf("Erase with a negative batch size succeeded")
	}

	// A table that holds clinic data beside the model (a foreign key to
	// patients): the checker finds it, and nothing is erased.
	db.Exec(t, pgtest.Owner, `CREATE TABLE public.shadow_notes (clinic_id uuid NOT NULL, patient_id uuid NOT NULL,
		FOREIGN KEY (clinic_id, patient_id) REFERENCES public.patients (clinic_id, id))`)
	if _, err := tenantarchive.Erase(ctx, p, clinicA, eraseConfig()); !errors.Is(err, tenantarchive.ErrIncomplete) || !strings.Contains(err.Error(), "shadow_notes") {
		t.Errorf("Erase with a planted table = %v, want ErrIncomplete naming it", err)
	}
	db.Exec(t, pgtest.Owner, `DROP TABLE public.shadow_notes`)
	// A tenant relation the app role may not delete from.
	db.Exec(t, pgtest.Owner, `REVOKE DELETE ON public.staff_notes FROM `+db.RoleName(pgtest.App))
	if _, err := tenantarchive.Erase(ctx, p, clinicA, eraseConfig()); !errors.Is(err, tenantarchive.ErrUnerasable) {
		t.Errorf("Erase without DELETE on staff_notes = %v, want ErrUnerasable", err)
	}
	// Each refusal after the entry point's record left that record in A's
	// chain, and nothing else changed.
	aAfter := fingerprint(t, db, clinicA)
	for _, rel := range []string{"audit.events", "audit.chain_heads"} {
		delete(aBefore, rel)
		delete(aAfter, rel)
	}
	if diff := cmp.Diff(aBefore, aAfter); diff != "" {
		t.Errorf("a refused erasure changed clinic A (-before +after):\n%s", diff)
	}
	// The unknown tenant was refused before anything was recorded in a
	// chain of its own.
	if got := rowsOf(t, db, "audit.chain_heads", "tenant_id", clinicC); len(got) != 0 {
		t.Errorf("refusing an unknown tenant made it a chain")
	}
}

// TestEraseTenantStaysInItsTenant: the eraser's transactions are the
// app role's, under the guard and row-level security, so a DELETE that
// names another tenant is refused and one that names none deletes only
// the erased tenant's rows.
func TestEraseTenantStaysInItsTenant(t *testing.T) {
	db, m := migrated(t)
	p := pool(t, db, m)
	bBefore := seeded(t, db, p, 3)
	err := p.EraseTenant(context.Background(), clinicA, "prove the eraser's scope", func(ctx context.Context, e *tenantdb.TenantEraser) error {
		err := e.Tx(ctx, func(ctx context.Context, tx *tenantdb.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM public.transfers WHERE clinic_id = $1`, clinicB)
			return err
		})
		if err == nil {
			t.Errorf("a DELETE of clinic B's rows through A's eraser was not refused")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(bBefore, fingerprint(t, db, clinicB)); diff != "" {
		t.Errorf("clinic B changed (-before +after):\n%s", diff)
	}
}

// TestEraseCensus: rows of the tenant written after their relation was
// emptied are found by the census, which refuses to seal; a second run
// completes.
func TestEraseCensus(t *testing.T) {
	db, m := migrated(t)
	p := pool(t, db, m)
	seeded(t, db, p, 4)
	cfg := eraseConfig()
	cfg.Progress = func(pr tenantarchive.EraseProgress) {
		if pr.Table != "public.patients" || !pr.Done {
			return
		}
		err := p.InTenant(context.Background(), clinicA, "a late write", func(ctx context.Context, tx *tenantdb.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO public.patients (clinic_id, id, name) VALUES ($1, $2, 'late')`, clinicA, tenancy.NewID())
			return err
		})
		if err != nil {
			t.Errorf("late write: %v", err)
		}
	}
	if _, err := tenantarchive.Erase(context.Background(), p, clinicA, cfg); !errors.Is(err, tenantarchive.ErrNotErased) {
		t.Fatalf("Erase with a late write = %v, want ErrNotErased", err)
	}
	if got := rowsOf(t, db, "public.clinics", "id", clinicA); len(got) != 1 {
		t.Errorf("the registry row was removed before the proof")
	}
	rec, err := tenantarchive.Erase(context.Background(), p, clinicA, eraseConfig())
	if err != nil {
		t.Fatalf("second Erase: %v", err)
	}
	if r, _ := rec.Relation("public.patients"); r.Deleted != 5 {
		t.Errorf("patients deleted over both runs: %d, want 5", r.Deleted)
	}
}

// Environment of the erasure that TestEraseKilledMidway runs in a child
// process.
const (
	envEraseChild = "TENANTARCHIVE_ERASE_CHILD" // the app role's URL
	envPlatform   = "TENANTARCHIVE_ERASE_PLATFORM"
	envSpec       = "TENANTARCHIVE_ERASE_SPEC"
	batchLine     = "erase-batch "
)

// TestEraseKilledMidway starts clinic A's erasure in a child process (this
// test binary, re-executed), with batches of 2 rows and a pause after
// each, kills it with SIGKILL after some batches, proves that it stopped
// mid-way (some of A's rows gone, some left, the registry row there), and
// resumes in this process: the erasure completes, and the record counts
// every row deleted, the killed run's included.
func TestEraseKilledMidway(t *testing.T) {
	if os.Getenv(envEraseChild) != "" {
		eraseChild(t)
		return
	}
	db, m := migrated(t)
	p := pool(t, db, m)
	const patients = 15
	bBefore := seeded(t, db, p, patients)
	spec, err := json.Marshal(m.Spec())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEraseKilledMidway$", "-test.count=1")
	cmd.Env = append(os.Environ(), envEraseChild+"="+db.ConnString(pgtest.App), envPlatform+"="+db.ConnString(pgtest.Platform), envSpec+"="+string(spec))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	batches := 0
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), batchLine) {
			if batches++; batches == 12 {
				break
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(werr, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child ended with %v after %d batches, want killed by SIGKILL", werr, batches)
	}

	// Stopped mid-way: something deleted, something left.
	var gone, left int
	for _, name := range erasable {
		n := len(rowsOf(t, db, name, "clinic_id", clinicA))
		gone += patients - n
		left += n
	}
	if gone == 0 || left == 0 || len(rowsOf(t, db, "public.clinics", "id", clinicA)) != 1 {
		t.Fatalf("after the kill: %d rows of A gone, %d left, registry row present: %v; want a partial erasure",
			gone, left, len(rowsOf(t, db, "public.clinics", "id", clinicA)) == 1)
	}
	t.Logf("killed after %d batches: %d rows of clinic A deleted, %d left", batches, gone, left)

	rec, err := tenantarchive.Erase(context.Background(), p, clinicA, eraseConfig())
	if err != nil {
		t.Fatalf("resumed Erase: %v", err)
	}
	checkErased(t, db, m, rec, patients, bBefore)
}

// eraseChild is the child process of TestEraseKilledMidway: it erases
// clinic A in batches of 2, writing a line after each and pausing, until
// it is killed.
func eraseChild(t *testing.T) {
	ctx := context.Background()
	spec, err := rls.ParseSpec(strings.NewReader(os.Getenv(envSpec)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := spec.Model()
	if err != nil {
		t.Fatal(err)
	}
	appCfg, err := pgxpool.ParseConfig(os.Getenv(envEraseChild))
	if err != nil {
		t.Fatal(err)
	}
	pgtest.SetLocalExecMode(appCfg)
	app, err := pgxpool.NewWithConfig(ctx, appCfg)
	if err != nil {
		t.Fatal(err)
	}
	platform, err := pgxpool.New(ctx, os.Getenv(envPlatform))
	if err != nil {
		t.Fatal(err)
	}
	p, err := tenantdb.New(ctx, app, tenantdb.Config{Model: m, Sources: []tenancy.Source{tenancytest.Source()}, System: platform, OnSystem: audit.OnSystem, ContextMode: contextMode})
	if err != nil {
		t.Fatal(err)
	}
	cfg := eraseConfig()
	cfg.BatchSize = 2
	cfg.Progress = func(pr tenantarchive.EraseProgress) {
		fmt.Printf("%s%s %d\n", batchLine, pr.Table, pr.Deleted)
		time.Sleep(20 * time.Millisecond)
	}
	_, err = tenantarchive.Erase(ctx, p, clinicA, cfg)
	t.Fatalf("the child's erasure ended (%v) before it was killed", err)
}

// TestEraseTree erases a table whose rows reference each other (a tree of
// notes under each patient, four levels deep) in batches smaller than a
// level: each batch takes leaves only, so no foreign key fails; B's tree
// stays whole. A cycle of two rows cannot be erased in batches, and says
// so.
func TestEraseTree(t *testing.T) {
	db, _ := migrated(t)
	cfg := config(db)
	db.Exec(t, pgtest.Owner, `CREATE TABLE public.threads (clinic_id uuid NOT NULL, id bigint NOT NULL, parent_id bigint, body text NOT NULL,
		PRIMARY KEY (clinic_id, id), FOREIGN KEY (clinic_id, parent_id) REFERENCES public.threads (clinic_id, id));
		CREATE INDEX ON public.threads (clinic_id, parent_id)`)
	tree := rls.Table{Name: "public.threads"}
	sql, err := rls.Generate(cfg, tree)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	m, err := rls.NewModel(cfg, append(append(slices.Clone(appTables), tree), audit.Tables(audit.Config{})...)...)
	if err != nil {
		t.Fatal(err)
	}
	p := pool(t, db, m)
	seeded(t, db, p, 2)
	// 1 root, 3 children, 9 grandchildren, 27 great-grandchildren per
	// clinic: 40 rows, ids in breadth-first order.
	for _, c := range []tenancy.ID{clinicA, clinicB} {
		db.Exec(t, pgtest.Admin, `INSERT INTO public.threads SELECT $1, g, CASE WHEN g = 1 THEN NULL ELSE (g + 1) / 3 END, 'n' FROM generate_series(1, 40) AS g`, c)
	}
	bTree := rowsOf(t, db, "public.threads", "clinic_id", clinicB)
	if len(bTree) != 40 || len(rowsOf(t, db, "public.threads", "clinic_id", clinicA)) != 40 {
		t.Fatalf("fixture: want 40 thread rows per clinic")
	}
	rec, err := tenantarchive.Erase(context.Background(), p, clinicA, eraseConfig()) // batches of 5
	if err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if r, _ := rec.Relation("public.threads"); r.Deleted != 40 || r.Remaining != 0 {
		t.Errorf("threads: %+v, want 40 deleted", r)
	}
	if got := len(rowsOf(t, db, "public.threads", "clinic_id", clinicA)); got != 0 {
		t.Errorf("%d of A's thread rows left", got)
	}
	if diff := cmp.Diff(bTree, rowsOf(t, db, "public.threads", "clinic_id", clinicB)); diff != "" {
		t.Errorf("B's tree changed (-before +after):\n%s", diff)
	}

	// Two rows of B that reference each other: no batch can take either,
	// and the erasure stops there (what it deleted stays deleted; break
	// the cycle and run it again).
	db.Exec(t, pgtest.Admin, `INSERT INTO public.threads VALUES ($1, 100, NULL, 'x'), ($1, 101, 100, 'y')`, clinicB)
	db.Exec(t, pgtest.Admin, `UPDATE public.threads SET parent_id = 101 WHERE clinic_id = $1 AND id = 100`, clinicB)
	if _, err := tenantarchive.Erase(context.Background(), p, clinicB, eraseConfig()); !errors.Is(err, tenantarchive.ErrUnerasable) || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("Erase of a cycle = %v, want ErrUnerasable", err)
	}
}
