package app

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/tenantarchive"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// offboardDir holds the final exports of offboarded clinics, under the
// data directory: DataDir/offboarded/<clinic>/<offboarding>.
const offboardDir = "offboarded"

// offboarder offboards a clinic for a platform admin: it suspends the
// clinic and records the offboarding (store.StartOffboarding), then, in
// the background, exports the clinic's records (tenantarchive.Export,
// through the audited tenantdb.Pool.ReadTenant) and erases them
// (tenantarchive.Erase, through tenantdb.Pool.EraseTenant), both with the
// admin as actor and the reason, and keeps the signed erasure record in the
// platform's table. The clinic's audit chain is kept, sealed by the
// erasure's last event.
type offboarder struct {
	store *store.Store
	db    *tenantdb.Pool
	dir   string
	key   ed25519.PrivateKey
	log   *slog.Logger
	ctx   context.Context // the app's: offboardings under way stop with it
	wg    sync.WaitGroup
}

// Offboard starts the offboarding of clinic and returns its record,
// running; the work goes on after the request, and the console shows how
// it ended.
func (o *offboarder) Offboard(ctx context.Context, clinic tenancy.ID, reason string) (store.Offboarding, error) {
	ob, err := o.store.StartOffboarding(ctx, clinic, reason)
	if err != nil {
		return ob, err
	}
	// The admin's principal and request id go on with the work; the
	// request's end does not stop it, the app's does.
	bg := valuesOf{Context: o.ctx, values: ctx}
	o.wg.Go(func() { o.run(bg, ob) })
	return ob, nil
}

// wait waits for the offboardings under way.
func (o *offboarder) wait() { o.wg.Wait() }

func (o *offboarder) run(ctx context.Context, ob store.Offboarding) {
	reason := "offboarding: " + ob.Reason
	dir := filepath.Join(o.dir, ob.Clinic.String(), ob.ID.String())
	fail := func(step string, err error) {
		o.log.ErrorContext(ctx, "offboarding failed", "offboarding", ob.ID.String(), "clinic", ob.Clinic.String(), "step", step, "err", err)
		if ferr := o.store.FinishOffboarding(context.WithoutCancel(ctx), ob.ID, 0, "", nil, ""); ferr != nil {
			o.log.ErrorContext(ctx, "recording a failed offboarding", "offboarding", ob.ID.String(), "err", ferr)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		fail("export", err)
		return
	}
	man, err := tenantarchive.Export(ctx, o.db, ob.Clinic, dir, tenantarchive.ExportConfig{
		Reason: reason, SigningKey: o.key, SchemaVersion: strconv.FormatInt(migrations.Latest, 10)})
	if err != nil {
		fail("export", err)
		return
	}
	var rows int64
	for _, t := range man.Tables {
		rows += t.Rows
	}
	rec, err := tenantarchive.Erase(ctx, o.db, ob.Clinic, tenantarchive.EraseConfig{
		Reason: reason, Retention: tenantarchive.RetainAuditChain, SigningKey: o.key})
	if err != nil {
		fail("erase", err)
		return
	}
	b, err := json.Marshal(rec)
	if err != nil {
		fail("record", err)
		return
	}
	if err := o.store.FinishOffboarding(context.WithoutCancel(ctx), ob.ID, rows, man.Digest, b, rec.Digest); err != nil {
		fail("record", fmt.Errorf("the clinic is erased (record %s) but its record could not be kept: %w", rec.Digest, err))
		return
	}
	o.log.InfoContext(ctx, "clinic offboarded", "offboarding", ob.ID.String(), "clinic", ob.Clinic.String(), "exported_rows", rows, "erasure", rec.Digest)
}

// valuesOf is Context's deadline and cancellation with the values of
// values: work that outlives a request but acts for its caller.
type valuesOf struct {
	context.Context
	values context.Context
}

func (v valuesOf) Value(key any) any { return v.values.Value(key) }
