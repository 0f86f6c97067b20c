package scale

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// sqlRecorder records the SQL text of every statement, alone or batched.
type sqlRecorder struct {
	mu  sync.Mutex
	sql []string
}

func (r *sqlRecorder) add(s string) { r.mu.Lock(); r.sql = append(r.sql, s); r.mu.Unlock() }

func (r *sqlRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.add(d.SQL)
	return ctx
}
func (r *sqlRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *sqlRecorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (r *sqlRecorder) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.add(d.SQL)
}
func (r *sqlRecorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TestQueriesAreTheStores: the benchmarked queries are, word for word, the
// SQL the app's store sends for the same screens, so that what dentalrls
// measures is what the app runs (the page size literal included).
func TestQueriesAreTheStores(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	conns, _ := generated(t, db, tiny)
	rec := &sqlRecorder{}
	cfg, err := pgxpool.ParseConfig(conns.App)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = rec
	raw, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	model, err := Model(conns, cfg.ConnConfig.User)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := tenantdb.New(ctx, raw, tenantdb.Config{Model: model, Sources: []tenancy.Source{benchAuth.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(pool, nil, store.Options{})
	pctx := principal(ctx, 1)
	day := time.Now().Truncate(24 * time.Hour)
	to := day.Add(24 * time.Hour)
	calls := map[string]func() error{
		"day schedule": func() error {
			_, _, err := st.ListAppointments(pctx, store.AppointmentFilter{From: &day, To: &to, Limit: 100})
			return err
		},
		"patient name prefix": func() error {
			_, _, err := st.ListPatients(pctx, store.PatientFilter{NamePrefix: "wil", Limit: 50})
			return err
		},
		"patient search (app's substring match)": func() error {
			_, _, err := st.ListPatients(pctx, store.PatientFilter{Query: "wil", Limit: 50})
			return err
		},
		"invoice list": func() error {
			_, _, err := st.ListInvoices(pctx, store.InvoiceFilter{Limit: 50})
			return err
		},
	}
	words := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, q := range Queries {
		call := calls[q.Name]
		if call == nil {
			t.Errorf("%s: no store call to compare with", q.Name)
			continue
		}
		rec.mu.Lock()
		rec.sql = nil
		rec.mu.Unlock()
		if err := call(); err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		found := false
		for _, s := range rec.sql {
			found = found || words(s) == words(q.SQL)
		}
		if !found {
			t.Errorf("%s: the benchmark's SQL\n%s\nis not among the store's statements:\n%s", q.Name, words(q.SQL), strings.Join(rec.sql, "\n---\n"))
		}
	}
}
