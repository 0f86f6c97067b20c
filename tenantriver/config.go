package tenantriver

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// MinKeyLen is the shortest key [Config] accepts, in bytes.
const MinKeyLen = 32

// Config holds what [New] needs. Key and Model are required.
type Config struct {
	// Key is the secret that seals each job's principal (HMAC-SHA256 over
	// the job's id, kind, args and principal): at least [MinKeyLen] random
	// bytes, known to the processes that enqueue and work jobs and to no
	// one else. The database never sees it, so a role that writes River's
	// job table some other way cannot make a seal that verifies.
	Key []byte

	// PreviousKeys are keys that still verify seals but no longer make
	// them, for rotating Key without cancelling the jobs already queued:
	// add the old key here when a new Key takes its place, and drop it
	// once no job sealed with it can still run (River's retries run for
	// up to about three weeks with the default 25 attempts).
	PreviousKeys [][]byte

	// Model is the isolation model of the workers' tenantdb pool, built
	// with [Tables]: its declaration of principals checks every principal
	// a job carries before the job runs.
	Model *rls.Model

	// Schema is the schema of River's tables (River's Config.Schema).
	// Default [DefaultSchema].
	Schema string

	// OnRun, if set, is called by [Jobs.Middleware] after each run of a
	// job whose seal verified, with the tenant of its sealed principal
	// (never one its arguments give): for per-tenant metrics, such as
	// tenancyotel's Metrics.JobRun. It runs on the worker's goroutine, so
	// it must be quick and safe for concurrent use. Jobs refused for their
	// seal are not reported: they have no tenant to report.
	OnRun func(Run)
}

// Run is one run of a job, as [Config.OnRun] sees it.
type Run struct {
	Tenant   tenancy.ID    // the tenant of the job's sealed principal
	Kind     string        // the job's kind
	Attempt  int           // River's attempt number, 1 for the first run
	Duration time.Duration // from the seal's check to the worker's return
	// Err is what the worker returned (River's snooze and cancel results
	// included), or an error wrapping [ErrPanicked] when it panicked;
	// nil for a run that succeeded.
	Err error
}

// Failed reports whether the run failed: it returned an error, was
// cancelled (river.JobCancel: it will not run again) or panicked. A run
// that asked River to snooze the job (river.JobSnooze) did not fail: the
// job runs again later, by its own request.
func (r Run) Failed() bool {
	var snooze *rivertype.JobSnoozeError
	return r.Err != nil && !errors.As(r.Err, &snooze)
}

// Jobs seals the principal of each job a tenant transaction enqueues, and
// puts it back in the work context of each job whose seal verifies. Build
// it with [New], install [Jobs.Middleware] in the River client's
// configuration, and enqueue with [Jobs.Insert]. A Jobs is immutable and
// safe for concurrent use.
type Jobs struct {
	key        []byte
	keys       [][]byte // key, then the previous keys
	principals tenancy.Principals
	model      *rls.Model
	schema     string
	onRun      func(Run)
}

// New validates cfg and returns its Jobs. It returns an error wrapping
// [ErrInvalidConfig] for a key shorter than [MinKeyLen] (a previous key
// too), a missing model, or a model that does not classify River's job
// table as [Tables] does.
func New(cfg Config) (*Jobs, error) {
	if len(cfg.Key) < MinKeyLen {
		return nil, fmt.Errorf("%w: Key must be at least %d random bytes", ErrInvalidConfig, MinKeyLen)
	}
	for i, k := range cfg.PreviousKeys {
		if len(k) < MinKeyLen {
			return nil, fmt.Errorf("%w: PreviousKeys[%d] must be at least %d bytes", ErrInvalidConfig, i, MinKeyLen)
		}
	}
	if cfg.Model == nil {
		return nil, fmt.Errorf("%w: Model is required: the isolation model, built with tenantriver.Tables", ErrInvalidConfig)
	}
	schema := cmp.Or(cfg.Schema, DefaultSchema)
	if err := checkModel(cfg.Model, schema); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	key := slices.Clone(cfg.Key)
	keys := [][]byte{key}
	for _, k := range cfg.PreviousKeys {
		keys = append(keys, slices.Clone(k))
	}
	return &Jobs{key: key, keys: keys, principals: cfg.Model.Principals(), model: cfg.Model, schema: schema, onRun: cfg.OnRun}, nil
}
