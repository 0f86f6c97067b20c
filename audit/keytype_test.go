package audit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// The audit tables take the model's key types: a deployment with bigint or
// text tenants and subjects records, reads and verifies its chains, and an
// edit is still found.
func TestChainsWithOtherKeyTypes(t *testing.T) {
	acme, _ := tenancy.TextID("acme")
	alice, _ := tenancy.TextID("alice@acme")
	for _, tc := range []struct {
		typ            tenancy.KeyType
		tenant, member tenancy.ID
	}{
		{tenancy.KeyBigint, tenancy.IntID(7), tenancy.IntID(70)},
		{tenancy.KeyText, acme, alice},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			ctx := context.Background()
			db := pgtest.New(t)
			cfg := rls.Config{
				OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
				AuditRole: db.RoleName(pgtest.Audit),
				TenantKey: tc.typ, SubjectKey: tc.typ,
				Kinds: []tenancy.KindSpec{{Name: "member", Access: tenancy.AccessTenant}, {Name: "support", Access: tenancy.AccessOperator}},
			}
			install(t, db, cfg, audit.Config{})
			model, err := rls.NewModel(cfg, audit.Tables(audit.Config{})...)
			if err != nil {
				t.Fatal(err)
			}
			pool, err := tenantdb.New(ctx, db.Pool(t, pgtest.App), tenantdb.Config{Model: model, Guard: allowAll{}, Sources: []tenancy.Source{tenancytest.Source()}})
			if err != nil {
				t.Fatal(err)
			}
			mctx := tenancytest.Context(ctx, tenancy.Principal{Kind: "member", Tenant: tc.tenant, Subject: tc.member, Roles: []string{audit.DefaultReaderRole}})
			var recorded []audit.Event
			for i := range 3 {
				err := pool.Tx(mctx, func(tx *tenantdb.Tx) error {
					e, err := audit.Record(mctx, tx, audit.Event{Action: "task.read", ResourceType: "task", ResourceID: fmt.Sprint(i), Outcome: audit.Success})
					recorded = append(recorded, e)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			// The reader of the tenant reads its own events, with their keys.
			var events []audit.Event
			err = pool.Tx(mctx, func(tx *tenantdb.Tx) error {
				var err error
				events, err = audit.List(mctx, tx, tc.tenant, 0, 10)
				return err
			})
			if err != nil || len(events) != 3 || events[0].Tenant != tc.tenant || events[0].Actor != tc.member {
				t.Fatalf("List: %d events (%v), first %+v", len(events), err, events)
			}
			rep, err := audit.Verify(ctx, db.Pool(t, pgtest.Platform), tc.tenant)
			if err != nil || rep.Events != 3 {
				t.Fatalf("Verify: %+v, %v", rep, err)
			}
			db.Exec(t, pgtest.Admin, `alter table audit.events disable trigger user`)
			db.Exec(t, pgtest.Admin, `update audit.events set resource_id = 'x' where tenant_id = $1 and seq = 2`, tc.tenant)
			if _, err := audit.Verify(ctx, db.Pool(t, pgtest.Platform), tc.tenant); !errors.Is(err, audit.ErrBroken) {
				t.Errorf("Verify after an edit: %v, want ErrBroken", err)
			}
		})
	}
}

// No two keys encode alike: a 16-byte text key and the UUID-shaped text
// key that spells the same bytes (both valid text keys) give different
// encodings, and so different hashes.
func TestEncodingKeysDoNotCollide(t *testing.T) {
	plain, _ := tenancy.TextID("abcdefghijklmnop")
	shaped, _ := tenancy.TextID("61626364-6566-6768-696a-6b6c6d6e6f70")
	sixteen := tenancy.IntID(1234567890123456)
	for _, pair := range [][2]tenancy.ID{{plain, shaped}, {sixteen, tenancy.FromUUID([16]byte([]byte("1234567890123456")))}} {
		a := audit.Event{Tenant: pair[0], Seq: 1, ID: tenancy.NewID(), Action: "task.read", Outcome: audit.Success, ActorKind: tenancy.KindSystem}
		b := a
		b.Tenant = pair[1]
		if a.Sum() == b.Sum() {
			t.Errorf("tenants %q and %q hash alike", pair[0], pair[1])
		}
	}
}
