package tenantdb_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestDeadlineBoundsStatements: with a deadline in ctx, the transaction's
// statement_timeout is the time left; without one, the server's own
// setting stands. A slow statement then stops at the server and the
// connection serves the next request.
func TestDeadlineBoundsStatements(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{})
	base := staffCtx(clinicA, staffA)

	var v string
	if err := p.QueryRow(base, "select current_setting('statement_timeout')").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "0" {
		t.Errorf("without a deadline statement_timeout = %q, want the server's 0", v)
	}

	ctx, cancel := context.WithTimeout(base, 5*time.Second)
	defer cancel()
	err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
		return tx.QueryRow(ctx, "select current_setting('statement_timeout')").Scan(&v)
	})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := strconv.Atoi(strings.TrimSuffix(v, "ms"))
	if err != nil || ms <= 0 || ms > 5000 {
		t.Errorf("with 5s left statement_timeout = %q, want (0, 5000] ms", v)
	}

	short, cancel2 := context.WithTimeout(base, 300*time.Millisecond)
	defer cancel2()
	start := time.Now()
	_, err = p.Exec(short, "select pg_sleep(5)")
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("a 5 s sleep under a 300 ms deadline: %v after %v", err, time.Since(start))
	}
	if err := p.QueryRow(base, "select 'free'").Scan(&v); err != nil || v != "free" {
		t.Errorf("the connection after the timeout: %q, %v", v, err)
	}
}
