package sqlguard

import (
	"github.com/mydentalpractice/tenancy"
)

// Guard checks SQL statements against the tenant-scoping rules before they
// are sent. It is safe for concurrent use; create one per isolation model
// and share it. It keeps the model it was made with: a relation created
// afterwards is refused until a Guard is made from a model that names it.
type Guard struct {
	cfg   *config
	cache *cache
}

// New returns a Guard for cfg, or an error wrapping [ErrInvalidConfig] when
// a field is missing or malformed. See [Config] for the defaults. It is
// safe for concurrent use; the Guard keeps its own copy of the settings,
// so cfg may be changed afterwards.
func New(cfg Config) (*Guard, error) {
	c, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	return &Guard{cfg: c, cache: newCache(c.cacheSize)}, nil
}

// Check checks one SQL text, with its arguments, for the given tenant. It
// parses sql once per distinct text (the analysis is cached, bounded by
// [Config.CacheSize]) and then compares, on every call, each parameter $n
// that the statement uses as the tenant with args[n-1] (every element of
// it, for tenant_col = ANY($n); see the package documentation for the Go
// types read), and the value of each string constant that it uses as the
// tenant (as bun writes arguments) with tenant.
//
// It returns nil when the statement may be sent. A refusal is a
// [*RefusalError] wrapping [ErrRefused] in [Enforce] mode; in [Report] mode
// Check passes it to [Config.OnReport] and returns nil. For the zero tenant
// it returns an error wrapping [tenancy.ErrNoTenant] in either mode.
//
// Check is safe for concurrent use. A cached check allocates nothing unless
// it refuses or must call a driver.Valuer.
func (g *Guard) Check(sql string, args []any, tenant tenancy.ID) error {
	if tenant.IsZero() {
		return errNoTenant
	}
	// A tenant that is not a key of the model's type matches no bound
	// value or constant (each is compared in the type's canonical form),
	// so such a statement is refused; one scoped by the helper alone
	// reads the transaction's own context, not this argument.
	p := g.cache.get(sql)
	if p == nil {
		p = g.cache.put(sql, compile(g.cfg, sql))
	}
	if p.refusal != nil {
		e := *p.refusal
		return g.refuse(&e)
	}
	k := tenantKey{t: g.cfg.key, s: tenant.String()}
	for i := range p.params {
		u := &p.params[i]
		if u.n > len(args) || (u.array && !isTenantArray(args[u.n-1], k)) || (!u.array && !isTenant(args[u.n-1], k)) {
			return g.refuse(&RefusalError{Table: u.table, Rule: RuleParamTenant, Pos: u.pos, Param: u.n})
		}
	}
	for i := range p.literals {
		u := &p.literals[i]
		if u.id != tenant {
			return g.refuse(&RefusalError{Table: u.table, Rule: RuleLiteralTenant, Pos: u.pos})
		}
	}
	return nil
}

func (g *Guard) refuse(e *RefusalError) error {
	if g.cfg.mode == Report {
		g.cfg.onReport(e)
		return nil
	}
	return e
}
