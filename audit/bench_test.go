package audit_test

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// BenchmarkAction compares an action (one insert in a tenant transaction)
// with the same action and its audit event, recorded at once (Record: one
// round trip more) and with the COMMIT (RecordAtCommit: none more).
// Every statement passes the model's guard, as in an application. Compare
// them with benchstat and report the ratios.
func BenchmarkAction(b *testing.B) {
	f := setupWith(b, "", nil) // the model's own guard checks every statement, as in an application
	ctx := staff(clinicA, ownerA, "owner")
	action := func(b *testing.B, audit func(tx *tenantdb.Tx, id tenancy.ID) error) {
		b.ReportAllocs()
		for b.Loop() {
			err := f.app.Tx(ctx, func(tx *tenantdb.Tx) error {
				id := tenancy.NewID()
				if _, err := tx.Exec(ctx, `insert into public.notes (tenant_id, id, body) values ($1, $2, 'x')`, clinicA, id); err != nil {
					return err
				}
				if audit == nil {
					return nil
				}
				return audit(tx, id)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	event := func(id tenancy.ID) audit.Event {
		return audit.Event{Action: "note.create", ResourceType: "note", ResourceID: id.String(), Outcome: audit.Success}
	}
	b.Run("bare", func(b *testing.B) { action(b, nil) })
	b.Run("audited", func(b *testing.B) {
		action(b, func(tx *tenantdb.Tx, id tenancy.ID) error {
			_, err := audit.Record(ctx, tx, event(id))
			return err
		})
	})
	b.Run("audited-at-commit", func(b *testing.B) {
		action(b, func(tx *tenantdb.Tx, id tenancy.ID) error { return audit.RecordAtCommit(ctx, tx, event(id)) })
	})
}

// BenchmarkReadCheckpoint reads the heads of 10,000 tenants (the registry
// joined with the chain heads, in one REPEATABLE READ, READ ONLY snapshot
// as the platform role) next to a baseline that reads only the chain
// heads in the same kind of transaction. Compare the two with benchstat.
func BenchmarkReadCheckpoint(b *testing.B) {
	const tenants = 10_000
	f := setup(b)
	withRegistry(b, f)
	f.db.Exec(b, pgtest.Admin, `insert into public.tenants (id)
		select ('0195f1c2-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid from generate_series(1, $1) n`, tenants)
	f.tamper(b, `insert into audit.chain_heads (tenant_id, seq, hash)
		select id, 3, sha256(convert_to(id::text, 'UTF8')) from public.tenants`)
	f.db.Exec(b, pgtest.Admin, `analyze public.tenants, audit.chain_heads`)
	ctx := context.Background()
	principal, err := rls.EncodePrincipal(tenancy.Principal{Kind: tenancy.KindSystem})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline-heads", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			err := pgx.BeginTxFunc(ctx, f.platform, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `select set_config('`+rls.SettingPrincipal+`', $1, true)`, principal); err != nil {
					return err
				}
				rows, err := tx.Query(ctx, `select tenant_id::text, seq, hash from audit.chain_heads`)
				if err != nil {
					return err
				}
				n := 0
				for rows.Next() {
					var (
						id   string
						seq  int64
						hash []byte
					)
					if err := rows.Scan(&id, &seq, &hash); err != nil {
						return err
					}
					n++
				}
				if n != tenants {
					b.Fatalf("%d heads, want %d", n, tenants)
				}
				return rows.Err()
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("checkpoint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cp, err := audit.ReadCheckpoint(ctx, f.platform, registry, tenancy.KeyUUID)
			if err != nil {
				b.Fatal(err)
			}
			if len(cp.Tenants) != tenants {
				b.Fatalf("%d tenants, want %d", len(cp.Tenants), tenants)
			}
		}
	})
	b.Run("checkpoint-signed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cp, err := audit.ReadCheckpoint(ctx, f.platform, registry, tenancy.KeyUUID)
			if err != nil {
				b.Fatal(err)
			}
			if err := cp.Sign(testKey); err != nil {
				b.Fatal(err)
			}
			if _, err := cp.Marshal(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The database's own time for the checkpoint's query.
	rows, err := f.db.Conn(b, pgtest.Admin).Query(ctx, `explain (analyze, format text) select coalesce(r.k, h.tenant_id::text), coalesce(h.seq, 0), h.hash
		from (select distinct id::text as k from public.tenants where id is not null) r full join audit.chain_heads h on h.tenant_id::text = r.k`)
	if err != nil {
		b.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("database time of the checkpoint's query: %s", plan[len(plan)-1])
}

// BenchmarkVerifyCheckpoint verifies the database against a checkpoint
// (every chain of every registry tenant read and rehashed) next to
// VerifyAll over the same chains, the baseline: 100 tenants of 10 events.
func BenchmarkVerifyCheckpoint(b *testing.B) {
	const tenants, events = 100, 10
	f := setup(b)
	withRegistry(b, f)
	for i := range tenants {
		id := tenancy.FromUUID([16]byte{0x01, 0x95, 15: byte(i + 1)})
		f.db.Exec(b, pgtest.Owner, `insert into public.tenants (id) values ($1)`, id)
		f.record(b, staff(id, ownerA, "owner"), events, "note.read")
	}
	cp := signedCheckpoint(b, f)
	ctx := context.Background()
	b.Run("baseline-verify-all", func(b *testing.B) {
		for b.Loop() {
			reports, err := audit.VerifyAll(ctx, f.platform)
			if err != nil || len(reports) < tenants {
				b.Fatalf("%d reports, %v", len(reports), err)
			}
		}
	})
	b.Run("verify-checkpoint", func(b *testing.B) {
		for b.Loop() {
			rep, err := audit.VerifyCheckpoint(ctx, f.platform, cp, testKey.Public().(ed25519.PublicKey), registry)
			if err != nil || len(rep.Problems) != 0 {
				b.Fatalf("%v, %v", rep.Problems, err)
			}
		}
	})
}
