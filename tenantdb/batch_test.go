package tenantdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestPoolSendBatch: a batch on the Pool is one transaction with the
// tenant context, in one round trip; it commits whole or not at all; a
// refused statement anywhere in it sends nothing.
func TestPoolSendBatch(t *testing.T) {
	db := schema(t)
	pool, rt := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	// A deadline, so that a connection the batch kept fails the test
	// instead of hanging it.
	ctx, cancel := context.WithTimeout(staffCtx(clinicA, staffA), 20*time.Second)
	defer cancel()
	admin := db.Conn(t, pgtest.Admin)
	named := func(name string) int {
		t.Helper()
		var n int
		if err := admin.QueryRow(context.Background(), "select count(*) from patients where name = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const insert = "insert into patients (clinic_id, id, name) values ($1, gen_random_uuid(), $2)"

	batch := func(name string) *pgx.Batch {
		b := &pgx.Batch{}
		b.Queue(insert, clinicA, name)
		b.Queue("select current_setting('tenancy.tenant_id')")
		b.Queue("select count(*) from patients") // RLS alone: A's rows only
		return b
	}
	for i, name := range []string{"warm", "batched"} {
		rt.reset()
		br := p.SendBatch(ctx, batch(name))
		if _, err := br.Exec(); err != nil {
			t.Fatal(err)
		}
		var tenant string
		var n int
		if err := br.QueryRow().Scan(&tenant); err != nil {
			t.Fatal(err)
		}
		if err := br.QueryRow().Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := br.Close(); err != nil {
			t.Fatal(err)
		}
		// B's 7 patients exist (schema proves it as Admin) and are not seen.
		if tenant != clinicA.String() || n != 5+i+1 {
			t.Errorf("in the batch: tenant %q, %d patients; want %s and %d (A's only)", tenant, n, clinicA, 5+i+1)
		}
		if got := rt.count(); i == 1 && got != 1 {
			t.Errorf("a batch of three took %d round trips, want 1", got)
		}
		if named(name) != 1 {
			t.Errorf("the batch's insert of %q did not commit", name)
		}
	}

	// A failure inside rolls back the whole batch.
	b := &pgx.Batch{}
	b.Queue(insert, clinicA, "rolled-back")
	b.Queue("select 1 / 0")
	if err := p.SendBatch(ctx, b).Close(); err == nil {
		t.Error("a batch with a division by zero succeeded")
	}
	if named("rolled-back") != 0 {
		t.Error("the insert before a failed statement of the batch committed")
	}

	// The connection went back to the pool (MaxConns 1): the next call works.
	if _, err := p.Exec(ctx, "select 1"); err != nil {
		t.Fatalf("after closing the batches: %v", err)
	}

	// Refused statements: nothing is sent, every result says why.
	refusing := newPool(t, pool, tenantdb.Config{Guard: refuseDeletes{}})
	for _, c := range []struct {
		name string
		sql  string
		p    *tenantdb.Pool
		want error
	}{
		{"guard", "delete from patients", refusing, errRefused},
		{"commit", "commit", p, tenantdb.ErrTxControl},
		{"rollback", "rollback", p, tenantdb.ErrTxControl},
		{"begin", "begin", p, tenantdb.ErrTxControl},
	} {
		b := &pgx.Batch{}
		b.Queue(insert, clinicA, "before-"+c.name)
		b.Queue(c.sql)
		b.Queue(insert, clinicA, "after-"+c.name)
		rt.reset()
		br := c.p.SendBatch(ctx, b)
		_, err1 := br.Exec()
		_, err2 := br.Query()
		if err := br.Close(); !errors.Is(err, c.want) || !errors.Is(err1, c.want) || !errors.Is(err2, c.want) {
			t.Errorf("%s: results %v, %v, %v; want %v", c.name, err1, err2, err, c.want)
		}
		if got := rt.count(); got != 0 {
			t.Errorf("%s: %d round trips for a refused batch", c.name, got)
		}
		if named("before-"+c.name)+named("after-"+c.name) != 0 {
			t.Errorf("%s: a statement of the refused batch ran", c.name)
		}
	}

	// No principal, an unverified one, an empty batch: nothing is sent.
	rt.reset()
	if err := p.SendBatch(context.Background(), batch("no-tenant")).Close(); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Errorf("SendBatch without a principal = %v, want ErrNoTenant", err)
	}
	unverified := tenancy.NewContext(context.Background(), tenancy.Principal{Kind: "staff", Tenant: clinicA, Subject: staffA})
	if err := p.SendBatch(unverified, batch("unverified")).Close(); !errors.Is(err, tenantdb.ErrUnverifiedPrincipal) {
		t.Errorf("SendBatch with an unverified principal = %v, want ErrUnverifiedPrincipal", err)
	}
	empty := p.SendBatch(ctx, &pgx.Batch{})
	if _, err := empty.Exec(); err == nil {
		t.Error("Exec of an empty batch's results succeeded")
	}
	if err := empty.Close(); err != nil {
		t.Errorf("Close of an empty batch's results = %v, want nil as pgx's", err)
	}
	if got := rt.count(); got != 0 {
		t.Errorf("%d round trips without a principal or statements", got)
	}
}
