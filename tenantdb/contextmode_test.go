package tenantdb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// setLocalPool builds a ContextSetLocal Pool over pool, whatever the
// suite's mode.
func setLocalPool(t testing.TB, pool *pgxpool.Pool, db *pgtest.DB) *tenantdb.Pool {
	t.Helper()
	p, err := tenantdb.New(context.Background(), pool, tenantdb.Config{
		Model: testModel(t, db), Guard: allowAll{}, Sources: []tenancy.Source{tenancytest.Source()},
		ContextMode: tenantdb.ContextSetLocal,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sentSQL records the SQL of every statement the pool's connections send
// in batches.
type sentSQL struct {
	mu  sync.Mutex
	sql []string
}

func (s *sentSQL) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range data.Batch.QueuedQueries {
		s.sql = append(s.sql, q.SQL)
	}
	return ctx
}
func (*sentSQL) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (*sentSQL) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (s *sentSQL) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sql = append(s.sql, data.SQL)
	return ctx
}
func (*sentSQL) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (s *sentSQL) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sql
	s.sql = nil
	return out
}

// freshCtx is a context of a staff member of clinic A never seen before
// (its own subject and request id), so that its SET LOCAL text is new to
// the connection: a caching exec mode would prepare it first.
func freshCtx(i int) context.Context {
	return tenancytest.Context(context.Background(), tenancy.Principal{
		Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: tenancy.NewID(), Roles: []string{"dentist"},
		RequestID: fmt.Sprintf("req-%d", i),
	})
}

// TestSetLocalRoundTrips: in the SET LOCAL mode the context still costs no
// round trip, for principals the connection has never seen: a
// one-statement call (BEGIN, the session check, the SET LOCALs, the
// statement and COMMIT) is one round trip, a Tx of three statements five,
// as in the default mode; and what is sent is SET LOCAL in an explicit
// transaction, never set_config.
func TestSetLocalRoundTrips(t *testing.T) {
	db := schema(t)
	for _, mode := range []string{"exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			pool, rt := appPool(t, db, 1, " default_query_exec_mode="+mode)
			p := setLocalPool(t, pool, db)
			const q = "select name from patients where clinic_id = $1 limit 1"
			i := 0
			for _, c := range []struct {
				name string
				want int
				f    func(ctx context.Context) error
			}{
				{"QueryRow", 1, func(ctx context.Context) error { return p.QueryRow(ctx, q, clinicA).Scan(new(string)) }},
				{"Exec", 1, func(ctx context.Context) error {
					_, err := p.Exec(ctx, "update patients set name = name where clinic_id = $1", clinicA)
					return err
				}},
				{"Query", 1, func(ctx context.Context) error {
					rows, err := p.Query(ctx, q, clinicA)
					if err != nil {
						return err
					}
					rows.Close()
					return rows.Err()
				}},
				{"SendBatch", 1, func(ctx context.Context) error {
					b := &pgx.Batch{}
					b.Queue(q, clinicA)
					b.Queue(q, clinicA)
					return p.SendBatch(ctx, b).Close()
				}},
				{"Tx of three statements", 5, func(ctx context.Context) error {
					return p.Tx(ctx, func(tx *tenantdb.Tx) error {
						for range 3 {
							if err := tx.QueryRow(ctx, q, clinicA).Scan(new(string)); err != nil {
								return err
							}
						}
						return nil
					})
				}},
			} {
				for range 3 { // each time a principal new to the connection
					i++
					rt.reset()
					if err := c.f(freshCtx(i)); err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
					if got := rt.count(); got != c.want {
						t.Errorf("%s: %d round trips, want %d", c.name, got, c.want)
					}
				}
			}
		})
	}
}

// TestSetLocalSendsSetLocal: the statements of the SET LOCAL mode, in
// order, for a one-statement call and a Tx; each is IsContextSQL, and
// the context they set is the principal's, for the transaction only.
func TestSetLocalSendsSetLocal(t *testing.T) {
	db := schema(t)
	cfg, err := pgxpool.ParseConfig(db.ConnString(pgtest.App) + " default_query_exec_mode=exec")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	sent := &sentSQL{}
	cfg.ConnConfig.Tracer = sent
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	p := setLocalPool(t, pool, db)
	pr := tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staffA, Roles: []string{"dentist"}, RequestID: `it's a \ "request"`}
	ctx := tenancytest.Context(context.Background(), pr)
	packed, err := rls.EncodePrincipal(pr)
	if err != nil {
		t.Fatal(err)
	}
	sent.take()
	var tenant, principal string
	const read = "select current_setting('tenancy.tenant_id'), current_setting('tenancy.principal')"
	if err := p.QueryRow(ctx, read).Scan(&tenant, &principal); err != nil {
		t.Fatal(err)
	}
	if tenant != clinicA.String() || principal != packed {
		t.Errorf("the statement saw tenant %q principal %q, want %q and %q", tenant, principal, clinicA, packed)
	}
	got := sent.take()
	if len(got) != 6 || got[0] != "begin" || got[4] != read || got[5] != "commit" ||
		!strings.HasPrefix(got[1], "select 1 where") ||
		!strings.HasPrefix(got[2], "set local tenancy.tenant_id = E'") ||
		!strings.HasPrefix(got[3], "set local tenancy.principal = E'") {
		t.Errorf("a one-statement call sent %q", got)
	}
	for _, s := range got[1:4] {
		if !tenantdb.IsContextSQL(s) {
			t.Errorf("IsContextSQL(%q) = false", s)
		}
	}
	for _, s := range got {
		if strings.Contains(s, "set_config") {
			t.Errorf("the SET LOCAL mode sent %q", s)
		}
	}

	err = p.Tx(ctx, func(tx *tenantdb.Tx) error { return tx.QueryRow(ctx, read).Scan(&tenant, &principal) })
	if err != nil {
		t.Fatal(err)
	}
	if tenant != clinicA.String() || principal != packed {
		t.Errorf("the Tx saw tenant %q principal %q", tenant, principal)
	}
	got = sent.take()
	if len(got) < 4 || got[0] != "begin" || !strings.HasPrefix(got[2], "set local tenancy.tenant_id") || !strings.HasPrefix(got[3], "set local tenancy.principal") {
		t.Errorf("a Tx began with %q", got)
	}

	// Nothing outlives the transaction: the connection's session has no
	// tenancy setting.
	if err := pool.QueryRow(context.Background(), "select coalesce(current_setting('tenancy.tenant_id', true), ''), coalesce(current_setting('tenancy.principal', true), '')").Scan(&tenant, &principal); err != nil {
		t.Fatal(err)
	}
	if tenant != "" || principal != "" {
		t.Errorf("after the work the session holds tenant %q principal %q", tenant, principal)
	}

	// A deadline sets statement_timeout for the transaction too.
	sent.take()
	dctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	var timeout string
	if err := p.QueryRow(dctx, "select current_setting('statement_timeout')").Scan(&timeout); err != nil {
		t.Fatal(err)
	}
	if timeout == "0" || timeout == "" {
		t.Errorf("statement_timeout under a deadline = %q", timeout)
	}
	got = sent.take()
	if len(got) != 7 || !strings.HasPrefix(got[4], "set local statement_timeout = ") || !tenantdb.IsContextSQL(got[4]) {
		t.Errorf("a call with a deadline sent %q", got)
	}
}

// TestSetLocalValues: principals whose values need quoting reach the
// server as they are, also on a connection whose
// standard_conforming_strings is off (where backslashes in plain literals
// are escapes); a value that cannot be carried is refused before the
// network.
func TestSetLocalValues(t *testing.T) {
	db := schema(t)
	for _, extra := range []string{"", " options='-c standard_conforming_strings=off'"} {
		pool, rt := appPool(t, db, 1, " default_query_exec_mode=exec"+extra)
		p := setLocalPool(t, pool, db)
		for _, id := range []string{
			`'`, `''`, `\`, `\'`, `'; select 1; --`, `\'; reset all; --`, "é, ü, 日本, 🦷", "tab\there\nnew line\r", "$$ $x$ E'", "\u2028\u00a0\x7f",
		} {
			pr := tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staffA, RequestID: id}
			packed, err := rls.EncodePrincipal(pr)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if err := p.QueryRow(tenancytest.Context(context.Background(), pr), "select current_setting('tenancy.principal')").Scan(&got); err != nil {
				t.Fatalf("%s request id %q: %v", extra, id, err)
			}
			if got != packed {
				t.Errorf("%s request id %q: the server holds %q, want %q", extra, id, got, packed)
			}
		}
		for _, id := range []string{"nul\x00byte", "bad \xff utf-8"} {
			rt.reset()
			ctx := tenancytest.Context(context.Background(), tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staffA, RequestID: id})
			_, err := p.Exec(ctx, "select 1")
			if !errors.Is(err, tenancy.ErrInvalidPrincipal) {
				t.Errorf("request id %q: %v, want ErrInvalidPrincipal", id, err)
			}
			if n := rt.count(); n != 0 {
				t.Errorf("request id %q: %d round trips before the refusal", id, n)
			}
		}
	}
}

// TestSetLocalNeedsExecMode: the caching exec modes would prepare each
// principal's SET LOCAL text in a round trip of its own; New refuses them,
// and an unknown mode.
func TestSetLocalNeedsExecMode(t *testing.T) {
	db := schema(t)
	for _, mode := range []string{"cache_statement", "cache_describe", "describe_exec"} {
		pool, _ := appPool(t, db, 1, " default_query_exec_mode="+mode)
		_, err := tenantdb.New(context.Background(), pool, tenantdb.Config{Model: testModel(t, db), ContextMode: tenantdb.ContextSetLocal})
		if !errors.Is(err, tenantdb.ErrInvalidConfig) {
			t.Errorf("New in the SET LOCAL mode on %s = %v, want ErrInvalidConfig", mode, err)
		}
	}
	pool, _ := appPool(t, db, 1, " default_query_exec_mode=exec")
	if _, err := tenantdb.New(context.Background(), pool, tenantdb.Config{Model: testModel(t, db), ContextMode: 7}); !errors.Is(err, tenantdb.ErrInvalidConfig) {
		t.Errorf("New with ContextMode(7) = %v, want ErrInvalidConfig", err)
	}
}

// TestParseContextMode: the names read back as the modes.
func TestParseContextMode(t *testing.T) {
	for _, m := range []tenantdb.ContextMode{tenantdb.ContextSetConfig, tenantdb.ContextSetLocal} {
		if got, err := tenantdb.ParseContextMode(m.String()); err != nil || got != m {
			t.Errorf("ParseContextMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if got, err := tenantdb.ParseContextMode(""); err != nil || got != tenantdb.ContextSetConfig {
		t.Errorf(`ParseContextMode("") = %v, %v, want the default`, got, err)
	}
	if _, err := tenantdb.ParseContextMode("SET LOCAL"); !errors.Is(err, tenantdb.ErrInvalidConfig) {
		t.Errorf("ParseContextMode of an unknown name = %v, want ErrInvalidConfig", err)
	}
}

// TestContextModeSQL: the integrations' statement of each mode sets the
// context inside an explicit transaction, and fails on a session-level
// setting.
func TestContextModeSQL(t *testing.T) {
	db := schema(t)
	conn := db.Conn(t, pgtest.App)
	ctx := context.Background()
	pr := tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staffA, RequestID: "it's"}
	packed, _ := rls.EncodePrincipal(pr)
	for _, m := range []tenantdb.ContextMode{tenantdb.ContextSetConfig, tenantdb.ContextSetLocal} {
		sql, args, err := m.ContextSQL(ctx, pr)
		if err != nil {
			t.Fatal(err)
		}
		if !tenantdb.IsContextSQL(sql) {
			t.Errorf("%v: IsContextSQL(%q) = false", m, sql)
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		var tenant, principal string
		if err := tx.QueryRow(ctx, "select current_setting('tenancy.tenant_id'), current_setting('tenancy.principal')").Scan(&tenant, &principal); err != nil {
			t.Fatal(err)
		}
		if tenant != clinicA.String() || principal != packed {
			t.Errorf("%v: tenant %q principal %q", m, tenant, principal)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, "select set_config('tenancy.tenant_id', $1, false)", clinicB.String()); err != nil {
		t.Fatal(err)
	}
	sql, _, _ := tenantdb.ContextSetLocal.ContextSQL(ctx, pr)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, sql); !tenantdb.IsSessionState(err) {
		t.Errorf("the SET LOCAL statements on a session-level setting = %v, want the session check's failure", err)
	}
}

// TestSetLocalFailureKeepsConnection: a one-statement call that fails in
// the SET LOCAL mode leaves its explicit transaction aborted (COMMIT is
// skipped); it is rolled back and the connection reused, not closed by the
// pool, and the next call works on it.
func TestSetLocalFailureKeepsConnection(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, " default_query_exec_mode=exec")
	p := setLocalPool(t, pool, db)
	ctx := staffCtx(clinicA, staffA)
	pid := func() (n int) {
		t.Helper()
		if err := p.QueryRow(ctx, "select pg_backend_pid()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := pid()
	for name, f := range map[string]func() error{
		"Exec":     func() error { _, err := p.Exec(ctx, "select 1 / 0"); return err },
		"QueryRow": func() error { return p.QueryRow(ctx, "select 1 / 0").Scan(new(int)) },
		"SendBatch": func() error {
			b := &pgx.Batch{}
			b.Queue("select 1")
			b.Queue("select 1 / 0")
			return p.SendBatch(ctx, b).Close()
		},
	} {
		if err := f(); err == nil {
			t.Fatalf("%s of a division by zero succeeded", name)
		}
		if after := pid(); after != before {
			t.Errorf("after a failed %s the pool's connection is backend %d, was %d: it was closed, not rolled back", name, after, before)
		}
	}
}
