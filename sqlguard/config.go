package sqlguard

import (
	"fmt"
	"strings"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// Mode says what [Guard.Check] does with a refused statement. Modes are
// plain values, safe to share between goroutines.
type Mode int

const (
	// Enforce, the zero value and default, returns the refusal as an error.
	Enforce Mode = iota
	// Report calls [Config.OnReport] with the refusal and lets the
	// statement run. It is meant for rolling the guard out on existing
	// code; row-level security still applies.
	Report
)

// String returns "enforce", "report" or "Mode(n)". It is safe for
// concurrent use.
func (m Mode) String() string {
	switch m {
	case Enforce:
		return "enforce"
	case Report:
		return "report"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// DefaultCacheSize is the cache size used when [Config.CacheSize] is zero.
const DefaultCacheSize = 4096

// Config configures a [Guard]. [New] copies what it needs, so a Config may
// be reused or changed after New returns; it is not otherwise safe for
// concurrent use while being changed.
type Config struct {
	// Model is the isolation model: every relation the guard lets a
	// statement name, each classified as tenant (scoped by its own tenant
	// column), registry or private, the helper schema and the functions
	// the application declares. Required. Relations the model does not
	// name are refused ([RuleUnknownRelation]); the guard never finds
	// tenant tables on its own. Build it with [rls.NewModel] from the same
	// table specs as the migration; list every view over tenant tables and
	// every partition or inheritance child too, since the guard cannot see
	// what a view or a parent reads.
	Model *rls.Model

	// TenantColumnDefault says that the tenant column of every tenant table
	// defaults to the helper, so an INSERT may leave it out or set it to
	// DEFAULT. The guard cannot see column defaults; row-level security's
	// WITH CHECK refuses a wrong one. Default false: an INSERT must set the
	// tenant column.
	TenantColumnDefault bool

	// Mode is [Enforce] (the default) or [Report].
	Mode Mode

	// OnReport receives each refusal in [Report] mode; required there. It
	// may be called concurrently, and must not keep the error after it
	// returns if it changes it.
	OnReport func(*RefusalError)

	// CacheSize bounds the number of distinct SQL texts whose analysis is
	// kept; default [DefaultCacheSize]. The least recently used are
	// evicted (approximately).
	CacheSize int
}

// config is a validated Config in the form the analysis uses.
type config struct {
	model     *rls.Model
	key       tenancy.KeyType     // the model's tenant key type
	declared  map[string]struct{} // names of the functions the model declares, in any schema
	funcParts [2]string           // the helper that returns the tenant, schema and name
	defaults  bool
	mode      Mode
	onReport  func(*RefusalError)
	cacheSize int
}

func (c Config) validate() (*config, error) {
	if c.Model == nil {
		return nil, fmt.Errorf("%w: Model is required: build it with rls.NewModel from the same table specs as the migration", ErrInvalidConfig)
	}
	mc := c.Model.Config()
	out := &config{
		model:     c.Model,
		key:       c.Model.TenantKey(),
		declared:  make(map[string]struct{}, len(mc.Functions)),
		funcParts: [2]string{mc.Schema, strings.TrimPrefix(c.Model.TenantFunc(), mc.Schema+".")},
		defaults:  c.TenantColumnDefault,
		mode:      c.Mode,
		onReport:  c.OnReport,
		cacheSize: c.CacheSize,
	}
	for _, f := range mc.Functions {
		// "schema.function", as rls.Config validates them.
		if _, name, ok := strings.Cut(f, "."); ok {
			out.declared[name] = struct{}{}
		}
	}
	switch c.Mode {
	case Enforce:
	case Report:
		if c.OnReport == nil {
			return nil, fmt.Errorf("%w: Report mode needs OnReport", ErrInvalidConfig)
		}
	default:
		return nil, fmt.Errorf("%w: unknown Mode %d", ErrInvalidConfig, int(c.Mode))
	}
	if out.cacheSize < 0 {
		return nil, fmt.Errorf("%w: negative CacheSize", ErrInvalidConfig)
	}
	if out.cacheSize == 0 {
		out.cacheSize = DefaultCacheSize
	}
	return out, nil
}
