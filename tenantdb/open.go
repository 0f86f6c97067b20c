package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Open builds the application role's pool from connString (a pgxpool
// connection string: pool_max_conns and the other pool_ settings apply)
// and returns [New]'s Pool over it. The Pool owns the pool: nothing else
// holds it, so no statement reaches its connections but the Pool's own,
// guarded ones, and none of those sets session state (tenant work sets its
// context for each transaction only; the guard refuses SET, set_config
// and the other session-changing statements). A connection that carries
// tenancy settings at session level all the same (a role's defaults, the
// connection string's options) is refused and closed at its next use
// ([ErrSessionState]). Close the Pool when done. Open fails as New does,
// or with the pool's error.
func Open(ctx context.Context, connString string, cfg Config) (*Pool, error) {
	pc, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("tenantdb: %w", err)
	}
	return OpenConfig(ctx, pc, cfg)
}

// OpenConfig is [Open] with a parsed pool configuration, for settings that
// a connection string cannot carry (a dialer, a tracer, a MaxConns chosen
// at run time). Its hooks run as the application's role outside the
// guard: use them for observation, never for statements.
func OpenConfig(ctx context.Context, pc *pgxpool.Config, cfg Config) (*Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("tenantdb: %w", err)
	}
	p, err := New(ctx, pool, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	p.owned = true
	return p, nil
}

// Close closes the pool that [Open] built, waiting for connections in use
// to be released, and stops the checks of [Config.Replicas]. A pool handed
// to [New], and the replicas' pools, are their caller's to close; Close
// leaves them open. Close is safe to call more than once. Call it for
// every Pool with replicas, whose checks run until then.
func (p *Pool) Close() {
	p.replicas.close()
	if p.owned {
		p.pool.Close()
	}
}

// Ping checks that the database answers on one of the Pool's connections.
// It needs no principal and sends no tenant statement.
func (p *Pool) Ping(ctx context.Context) error { return p.pool.Ping(ctx) }
