package tenantarchive_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantarchive"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// column returns the values of column name in an archive file's records
// (header first).
func column(t *testing.T, recs [][]string, name string) []string {
	t.Helper()
	i := slices.Index(recs[0], name)
	if i < 0 {
		t.Fatalf("no column %s in %v", name, recs[0])
	}
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[i])
	}
	return out
}

// TestExportDuringWrites exports clinic A while writers commit to it:
// each writing transaction adds a patient with an account, a transfer and
// a staff note, and moves a unit of balance between two accounts, so in
// any one snapshot the four tables hold equally many rows, the balances
// sum to 1000 per account, and the chain's head is its last event. Export
// waits, after each file, until a writer has committed again, so the
// tables are read across many commits; the archive must still be one
// snapshot: the invariants hold in it, and it lacks the rows committed
// after it.
func TestExportDuringWrites(t *testing.T) {
	db, m := migrated(t)
	p := pool(t, db, m)
	seeded(t, db, p, 10)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var (
		commits atomic.Int64
		wg      sync.WaitGroup
		werr    error
	)
	accounts := []tenancy.ID{}
	write := func(ctx context.Context) error {
		return p.InTenant(ctx, clinicA, "a writer during the export", func(ctx context.Context, tx *tenantdb.Tx) error {
			pat, acc := tenancy.NewID(), tenancy.NewID()
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO public.patients (clinic_id, id, name) VALUES ($1, $2, 'written during the export')`, []any{clinicA, pat}},
				{`INSERT INTO public.accounts (clinic_id, id, patient_id, balance) VALUES ($1, $2, $3, 1000)`, []any{clinicA, acc, pat}},
				{`INSERT INTO public.transfers (clinic_id, id, from_account, to_account, amount) VALUES ($1, $2, $3, $3, 0)`, []any{clinicA, tenancy.NewID(), acc}},
				{`INSERT INTO public.staff_notes (clinic_id, id, patient_id, body) VALUES ($1, $2, $3, 'during')`, []any{clinicA, tenancy.NewID(), pat}},
			} {
				if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
					return err
				}
			}
			if len(accounts) > 0 {
				from := accounts[len(accounts)-1]
				if _, err := tx.Exec(ctx, `UPDATE public.accounts SET balance = balance - 1 WHERE clinic_id = $1 AND id = $2`, clinicA, from); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE public.accounts SET balance = balance + 1 WHERE clinic_id = $1 AND id = $2`, clinicA, acc); err != nil {
					return err
				}
			}
			accounts = append(accounts, acc)
			return nil
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			if err := write(ctx); err != nil {
				if ctx.Err() == nil {
					werr = err
				}
				return
			}
			commits.Add(1)
		}
	})
	// Writers are running before the export starts.
	for commits.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	waits := 0
	dir := filepath.Join(t.TempDir(), "clinic-a")
	man, err := tenantarchive.Export(context.Background(), p, clinicA, dir, tenantarchive.ExportConfig{
		Reason: "export while the clinic works",
		Progress: func(pr tenantarchive.Progress) {
			if !pr.Done {
				return
			}
			n := commits.Load()
			for deadline := time.Now().Add(10 * time.Second); commits.Load() == n && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if commits.Load() > n {
				waits++
			}
		},
	})
	stop()
	wg.Wait()
	if werr != nil && !errors.Is(werr, context.Canceled) {
		t.Fatalf("writer: %v", werr)
	}
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if waits != len(man.Tables) {
		t.Fatalf("writers committed between %d of %d files; the test needs a commit after each", waits, len(man.Tables))
	}

	counts := map[string]int64{}
	for _, name := range erasable {
		tb, _ := man.Table(name)
		counts[name] = tb.Rows
	}
	if counts["public.patients"] != counts["public.accounts"] || counts["public.patients"] != counts["public.transfers"] || counts["public.patients"] != counts["public.staff_notes"] {
		t.Errorf("the archive is not one snapshot: rows per table %v, want equal counts", counts)
	}
	var sum int64
	for _, b := range column(t, readCSV(t, dir, man, "public.accounts"), "balance") {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += n
	}
	if want := 1000 * counts["public.accounts"]; sum != want {
		t.Errorf("the archive's balances sum to %d, want %d for %d accounts", sum, want, counts["public.accounts"])
	}
	seqs := column(t, readCSV(t, dir, man, "audit.events"), "seq")
	heads := column(t, readCSV(t, dir, man, "audit.chain_heads"), "seq")
	if len(heads) != 1 || heads[0] != seqs[len(seqs)-1] || man.AuditHead.Seq != int64(len(seqs)) {
		t.Errorf("the chain's head %v and its last event %s (of %d) differ in the archive", heads, seqs[len(seqs)-1], len(seqs))
	}
	// The writers went on: the database holds more than the snapshot.
	if now := int64(len(rowsOf(t, db, "public.patients", "clinic_id", clinicA))); now <= counts["public.patients"] {
		t.Errorf("the database holds %d patients, the archive %d: no write came after the snapshot", now, counts["public.patients"])
	}
	t.Logf("archive: %d patients of A; %d commits during the export", counts["public.patients"], commits.Load())
}
