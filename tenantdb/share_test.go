package tenantdb_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestShareKeepsTheOthersGoing: a tenant holding its whole share of the
// pool makes its own further work wait, then fail with ErrBusy, and never
// the other tenants' work; once its connections come back it works again.
func TestShareKeepsTheOthersGoing(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 3, "")
	p := newPool(t, pool, tenantdb.Config{Share: tenantdb.Share{Conns: 2, Wait: 100 * time.Millisecond}})
	ctxA, ctxB := staffCtx(clinicA, staffA), staffCtx(clinicB, staffB)
	read := func(ctx context.Context, clinic tenancy.ID) error {
		var n int
		return p.QueryRow(ctx, "select count(*) from patients where clinic_id = $1", clinic).Scan(&n)
	}

	hold := make(chan struct{})
	var held, done sync.WaitGroup
	for range 2 { // A takes its whole share and keeps it
		held.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			err := p.Tx(ctxA, func(tx *tenantdb.Tx) error {
				held.Done()
				<-hold
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	held.Wait()
	if err := read(ctxA, clinicA); !errors.Is(err, tenantdb.ErrBusy) {
		t.Errorf("A beyond its share: %v, want ErrBusy", err)
	}
	for range 3 {
		if err := read(ctxB, clinicB); err != nil {
			t.Errorf("B while A holds its share: %v", err)
		}
	}
	close(hold)
	done.Wait()
	if err := read(ctxA, clinicA); err != nil {
		t.Errorf("A once its connections came back: %v", err)
	}
}

// TestShareFor: each tenant's own share, and its statement timeout.
func TestShareFor(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 4, "")
	p := newPool(t, pool, tenantdb.Config{
		Guard: allowAll{}, // pg_sleep below
		ShareFor: func(tenant tenancy.ID) tenantdb.Share {
			if tenant == clinicA {
				return tenantdb.Share{Conns: 1, Wait: 50 * time.Millisecond, StatementTimeout: 100 * time.Millisecond}
			}
			return tenantdb.Share{}
		},
	})
	ctxA, ctxB := staffCtx(clinicA, staffA), staffCtx(clinicB, staffB)
	var pgErr *pgconn.PgError
	if _, err := p.Exec(ctxA, "select pg_sleep(2)"); !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Errorf("A's slow statement: %v, want its statement timeout (57014)", err)
	}
	if _, err := p.Exec(ctxB, "select pg_sleep(0.3)"); err != nil {
		t.Errorf("B's statement, with no timeout of its share: %v", err)
	}
	err := p.Tx(ctxA, func(tx *tenantdb.Tx) error {
		_, err := p.Exec(ctxA, "select 1") // a second connection for A, beyond its share of one
		return err
	})
	if !errors.Is(err, tenantdb.ErrBusy) {
		t.Errorf("A's second connection: %v, want ErrBusy", err)
	}
}

// BenchmarkPointReadShare compares a point read through tenantdb with and
// without a share (the limiter taken and given back around each read),
// run alternately. Compare the two with benchstat.
func BenchmarkPointReadShare(b *testing.B) {
	db, id := benchSchema(b)
	pool, _ := appPool(b, db, 4, "")
	plain := newPool(b, pool, tenantdb.Config{})
	shared := newPool(b, pool, tenantdb.Config{Share: tenantdb.Share{Conns: 2}})
	ctx := staffCtx(clinicA, staffA)
	var name string
	for _, c := range []struct {
		name string
		p    *tenantdb.Pool
	}{{"without", plain}, {"with-share", shared}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.p.QueryRow(ctx, "select name from patients where clinic_id = $1 and id = $2", clinicA, id).Scan(&name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
