package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
)

// EntryEveryTenant is the entry point's name ([SystemUse.Entry]) of each
// tenant's work under [Pool.EveryTenant], and the name of the source of
// the principal its function gets.
const EntryEveryTenant = "tenantdb.EveryTenant"

// everyTenantSource is the authenticator of EveryTenant's principals,
// unexported like InTenant's and never in a pool's Sources.
var everyTenantSource = tenancy.NewAuthenticator(EntryEveryTenant)

// MaxRunLen is the longest [EveryTenantConfig.Run] name, in bytes.
const MaxRunLen = 200

// ErrNoTenantList is returned by [Pool.Tenants], and by [Pool.EveryTenant]
// without a list of tenants, when no table of the model lists the tenants
// ([rls.Table.ListsTenants]).
var ErrNoTenantList = errors.New("tenantdb: no table of the model lists the tenants (rls.Table.ListsTenants)")

// Tenants returns the key of every tenant of the registry that the model
// names as the list of tenants ([rls.Table.ListsTenants]), in key order,
// read through [Pool.System] with reason (so the read is recorded as
// system work). It fails with [ErrNoTenantList] when the model names none,
// and as System does otherwise; a key that is not of the model's tenant
// key type fails it too, rather than being skipped.
func (p *Pool) Tenants(ctx context.Context, reason string) ([]tenancy.ID, error) {
	table, column, ok := p.model.TenantList()
	if !ok {
		return nil, ErrNoTenantList
	}
	var out []tenancy.ID
	err := p.System(ctx, reason, func(tx *SystemTx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, `select `+column+`::text from `+table+` order by `+column)
		if err != nil {
			return fmt.Errorf("tenantdb: listing tenants: %w", err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("tenantdb: listing tenants: %w", err)
		}
		for _, k := range keys {
			id, err := p.principals.TenantKey.Parse(k)
			if err != nil {
				return fmt.Errorf("tenantdb: listing tenants: a key of %s: %w", table, err)
			}
			out = append(out, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EveryTenantConfig says what [Pool.EveryTenant] runs for and how.
type EveryTenantConfig struct {
	// Run names the run, such as "nightly-summary 2026-12-02", in 1 to
	// [MaxRunLen] bytes of printable text. Each tenant's record carries it
	// ([SystemUse.Run]), and a run started again under the same name
	// skips the tenants that Completed reports: that is how a run stopped
	// by a crash resumes. Required.
	Run string
	// Tenants, if not nil, are the tenants to run for (in this order,
	// duplicates dropped); nil means every tenant of [Pool.Tenants].
	Tenants []tenancy.ID
	// Concurrency is how many tenants' work runs at once. Zero means 1.
	// Each tenant's transaction is subject to its share of the pool
	// ([Config.Share]) like any other work, so a run never takes more of
	// the pool than Concurrency connections, nor more than a tenant's
	// share in any tenant.
	Concurrency int
	// Completed, if set, returns the tenants whose work in run already
	// committed, read before any work starts: they are skipped. With it,
	// runs of the same name take turns (a session advisory lock of the
	// system pool's, held for the run): a second run started while the
	// first goes on waits, then skips what the first did. Package
	// audit's RunCompleted reads them from the audit chains, where each
	// tenant's record commits with its work, so nothing is done twice and
	// nothing is missed after a crash.
	Completed func(ctx context.Context, run string) ([]tenancy.ID, error)
	// Progress, if set, is called after each tenant's work ends (err nil
	// when it committed), from the goroutine that ran it: with Concurrency
	// above 1 its calls may be concurrent.
	Progress func(tenant tenancy.ID, err error)
}

// EveryTenantResult is what a run of [Pool.EveryTenant] did.
type EveryTenantResult struct {
	// Done are the tenants whose work committed in this call.
	Done []tenancy.ID
	// Skipped are the tenants that Completed reported, not run again.
	Skipped []tenancy.ID
	// Failed maps each tenant whose work failed (and rolled back) to its
	// error.
	Failed map[tenancy.ID]error
}

// EveryTenant runs fn once for each tenant, in that tenant's own context,
// for audited work across tenants: a nightly report, a backfill, a
// migration of data. Each tenant's work is an [Pool.InTenant]
// transaction: on the app role, under the guard and row-level security,
// with a principal of kind system whose tenant is that tenant, and
// [Config.OnSystem] recording it first in the same transaction (with
// [SystemUse.Entry] [EntryEveryTenant] and [SystemUse.Run] set; package
// audit writes it to the tenant's own chain, where the tenant's owner
// reads it). fn reaches no other tenant, and its context cannot be used
// for another one: the Pool's own methods refuse its principal.
//
// The tenants are cfg.Tenants, or every tenant of [Pool.Tenants] (read
// with the same reason), less those cfg.Completed reports. Up to
// cfg.Concurrency run at once; a tenant's failure rolls back that tenant's
// work only and the run goes on. EveryTenant returns when every tenant's
// work ended, or ctx ended (tenants not yet started are then neither done
// nor failed; run again with the same Run to finish). A panic of fn rolls
// back its tenant's work, stops the run (no tenant starts after it) and
// is raised again in the caller's goroutine once the work under way ended. Its error is nil
// when every tenant's work committed, or else says how many failed
// (errors.Is finds each tenant's error in it); the result tells which.
//
// It fails before any work with [ErrNoReason], [ErrNoRecorder],
// [ErrUnverifiedPrincipal] (as InTenant does), [ErrNoTenantList], or an
// error for an invalid cfg.
func (p *Pool) EveryTenant(ctx context.Context, reason string, cfg EveryTenantConfig, fn func(ctx context.Context, tx *Tx) error) (EveryTenantResult, error) {
	var res EveryTenantResult
	if p.onSystem == nil {
		return res, ErrNoRecorder
	}
	if err := checkRun(cfg.Run); err != nil {
		return res, err
	}
	if cfg.Concurrency < 0 {
		return res, fmt.Errorf("tenantdb: EveryTenant: Concurrency %d is negative", cfg.Concurrency)
	}
	if _, err := p.use(ctx, EntryEveryTenant, tenancy.ID{}, reason); err != nil {
		return res, err
	}
	tenants := cfg.Tenants
	if tenants == nil {
		var err error
		if tenants, err = p.Tenants(ctx, reason); err != nil {
			return res, err
		}
	}
	skip := map[tenancy.ID]bool{}
	if cfg.Completed != nil {
		// Runs of one name, from any process, take turns: a second run
		// reads what the first completed only once the first has ended,
		// so no tenant's work is done twice by two runs at once.
		unlock, err := p.lockRun(ctx, cfg.Run)
		if err != nil {
			return res, err
		}
		defer unlock()
		done, err := cfg.Completed(ctx, cfg.Run)
		if err != nil {
			return res, fmt.Errorf("tenantdb: EveryTenant: reading the tenants run %q completed: %w", cfg.Run, err)
		}
		for _, t := range done {
			skip[t] = true
		}
	}
	var todo []tenancy.ID
	seen := map[tenancy.ID]bool{}
	for _, t := range tenants {
		if t.IsZero() {
			return res, fmt.Errorf("%w: EveryTenant: a zero tenant in the list", tenancy.ErrNoTenant)
		}
		if seen[t] {
			continue
		}
		seen[t] = true
		if skip[t] {
			res.Skipped = append(res.Skipped, t)
		} else {
			todo = append(todo, t)
		}
	}

	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		next     = make(chan tenancy.ID)
		panicked any // the first panic of fn, raised again in the caller
		didPanic bool
	)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	res.Failed = map[tenancy.ID]error{}
	for range max(cfg.Concurrency, 1) {
		wg.Go(func() {
			for t := range next {
				if runCtx.Err() != nil {
					continue // not started: neither done nor failed
				}
				err, ok := p.everyOne(runCtx, t, reason, cfg.Run, fn)
				if !ok {
					mu.Lock()
					if !didPanic {
						didPanic, panicked = true, err
					}
					mu.Unlock()
					stop()
					continue
				}
				e, _ := err.(error)
				mu.Lock()
				if e == nil {
					res.Done = append(res.Done, t)
				} else {
					res.Failed[t] = e
				}
				mu.Unlock()
				if cfg.Progress != nil {
					cfg.Progress(t, e)
				}
			}
		})
	}
feed:
	for _, t := range todo {
		if runCtx.Err() != nil {
			break
		}
		select {
		case next <- t:
		case <-runCtx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if didPanic {
		// The tenant's transaction rolled back; the others' that committed
		// stay committed, as after a crash, and a run again resumes.
		panic(panicked)
	}
	// Done in the order of the list, whatever order the workers ended in.
	pos := make(map[tenancy.ID]int, len(todo))
	for i, t := range todo {
		pos[t] = i
	}
	slices.SortFunc(res.Done, func(a, b tenancy.ID) int { return pos[a] - pos[b] })
	if len(res.Failed) > 0 {
		errs := make([]error, 0, min(len(res.Failed), maxFailuresInError)+2)
		errs = append(errs, fmt.Errorf("tenantdb: EveryTenant %q: the work of %d of %d tenants failed", cfg.Run, len(res.Failed), len(todo)))
		for _, t := range todo {
			if err, ok := res.Failed[t]; ok && len(errs) <= maxFailuresInError {
				errs = append(errs, fmt.Errorf("tenant %s: %w", t, err))
			}
		}
		if more := len(res.Failed) - maxFailuresInError; more > 0 {
			errs = append(errs, fmt.Errorf("and %d more (EveryTenantResult.Failed has every one)", more))
		}
		return res, errors.Join(errs...)
	}
	if err := ctx.Err(); err != nil && len(res.Done) < len(todo) {
		return res, fmt.Errorf("tenantdb: EveryTenant %q: stopped after %d of %d tenants: %w", cfg.Run, len(res.Done), len(todo), err)
	}
	return res, nil
}

// maxFailuresInError bounds the tenants an EveryTenant error names: the
// result's Failed has them all.
const maxFailuresInError = 10

// everyOne runs fn in tenant t, and reports false with the panic's value
// when fn (or the work around it) panicked: the transaction rolled back.
func (p *Pool) everyOne(ctx context.Context, t tenancy.ID, reason, run string, fn func(ctx context.Context, tx *Tx) error) (result any, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			result, ok = v, false
		}
	}()
	if err := p.inTenant(ctx, EntryEveryTenant, everyTenantSource, t, reason, run, fn); err != nil {
		return err, true
	}
	return nil, true
}

// lockRun takes a session advisory lock of the system pool's for run,
// held on one of its connections until the returned function is called;
// another holder makes it wait, as long as ctx allows. Without a system
// pool there is no lock to take (Completed then decides alone).
func (p *Pool) lockRun(ctx context.Context, run string) (func(), error) {
	if p.system == nil {
		return func() {}, nil
	}
	conn, err := p.system.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("tenantdb: EveryTenant %q: %w", run, err)
	}
	h := fnv.New64a()
	h.Write([]byte("tenancy.every_tenant\x00" + run))
	key := int64(h.Sum64())
	if _, err := conn.Exec(ctx, "select pg_catalog.pg_advisory_lock($1)", key); err != nil {
		conn.Release()
		return nil, fmt.Errorf("tenantdb: EveryTenant %q: waiting for another run of the same name: %w", run, err)
	}
	return func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "select pg_catalog.pg_advisory_unlock($1)", key); err != nil {
			// A connection whose unlock failed may still hold the lock:
			// close it rather than give it back.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}, nil
}

// checkRun checks an EveryTenantConfig.Run name.
func checkRun(run string) error {
	if run == "" || len(run) > MaxRunLen || !utf8.ValidString(run) {
		return fmt.Errorf("tenantdb: EveryTenant: Run must be 1 to %d bytes of UTF-8", MaxRunLen)
	}
	for _, r := range run {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("tenantdb: EveryTenant: Run holds the unprintable character %U", r)
		}
	}
	if CheckReason(run) != nil {
		return fmt.Errorf("tenantdb: EveryTenant: Run %q has no visible character", run)
	}
	return nil
}
