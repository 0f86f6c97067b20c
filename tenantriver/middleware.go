package tenantriver

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Middleware returns the River middleware of j, for river.Config's
// Middleware on every client that inserts or works the jobs:
//
//   - around an insert by [Jobs.Insert], it seals each job: a random id,
//     and the principal sealed at [MetadataKey]; other inserts (plain
//     River inserts, periodic jobs) it leaves as they are;
//   - around each job's work, it verifies the seal against the job's id,
//     kind and args, and runs the worker with the sealed principal in the
//     context, from [Source], so that the worker's tenantdb pool runs its
//     statements in the job's tenant. A job with no seal, or one that does
//     not verify, is cancelled (river.JobCancel, never retried) with an
//     error wrapping [ErrNoPrincipal] or [ErrForged], before the worker
//     runs: every job of the client must come from Jobs.Insert.
//
// Retries, snoozes and jobs rescued from a killed worker keep their
// metadata, so they run in the same principal's context. The middleware is
// safe for concurrent use.
func (j *Jobs) Middleware() rivertype.Middleware { return &middleware{jobs: j} }

type middleware struct {
	river.MiddlewareDefaults
	jobs *Jobs
}

var (
	_ rivertype.JobInsertMiddleware = (*middleware)(nil)
	_ rivertype.WorkerMiddleware    = (*middleware)(nil)
)

// InsertMany seals the jobs of an insertion of m's Jobs.
func (m *middleware) InsertMany(ctx context.Context, many []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	ins, ok := ctx.Value(insertKey{}).(*insertion)
	if ok && ins.jobs == m.jobs && !ins.done {
		ins.reached = true
		if err := m.jobs.sealMany(ins, many); err != nil {
			return nil, err
		}
	}
	return doInner(ctx)
}

// Work verifies the job's seal and runs it in its principal's context,
// then reports the run to Config.OnRun.
func (m *middleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	p, err := open(m.jobs.keys, m.jobs.principals, job.ID, job.Kind, job.EncodedArgs, job.Metadata)
	if err != nil {
		return river.JobCancel(fmt.Errorf("tenantriver: job %d of kind %s refused: %w", job.ID, job.Kind, err))
	}
	if on := m.jobs.onRun; on != nil {
		start := time.Now()
		done := false
		defer func() {
			r := Run{Tenant: p.Tenant, Kind: job.Kind, Attempt: job.Attempt, Err: err, Duration: time.Since(start)}
			if !done { // the worker panicked: report it, and let River recover it
				v := recover()
				r.Err = fmt.Errorf("%w: %v", ErrPanicked, v)
				on(r)
				panic(v)
			}
			on(r)
		}()
		err = doInner(authenticator.NewContext(ctx, p))
		done = true
		return err
	}
	return doInner(authenticator.NewContext(ctx, p))
}
