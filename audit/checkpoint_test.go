package audit_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// testKey is a fixed signing key; otherKey another.
var (
	testKey  = ed25519.NewKeyFromSeed(make([]byte, 32))
	otherKey = ed25519.NewKeyFromSeed([]byte("another key of thirty-two bytes!"))
	registry = audit.Config{TenantRegistry: "public.tenants.id"}
)

// withRegistry adds the tenant registry public.tenants, readable by the
// platform role, holding tenants.
func withRegistry(t testing.TB, f *fixture, tenants ...tenancy.ID) {
	t.Helper()
	f.db.Exec(t, pgtest.Owner, `create table public.tenants (id uuid primary key)`)
	f.db.Exec(t, pgtest.Owner, `grant select on public.tenants to `+f.db.RoleName(pgtest.Platform))
	for _, id := range tenants {
		f.db.Exec(t, pgtest.Owner, `insert into public.tenants (id) values ($1)`, id)
	}
}

// signedCheckpoint reads and signs a checkpoint with testKey.
func signedCheckpoint(t testing.TB, f *fixture) audit.Checkpoint {
	t.Helper()
	cp, err := audit.ReadCheckpoint(context.Background(), f.platform, registry, tenancy.KeyUUID)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	return cp
}

func TestReadCheckpoint(t *testing.T) {
	f := setup(t)
	clinicC := tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000c")
	withRegistry(t, f, clinicA, clinicB, clinicC)
	a := f.record(t, staff(clinicA, ownerA, "owner"), 3, "patient.read")
	b := f.record(t, staff(clinicB, ownerB, "owner"), 2, "patient.read")
	// A chain whose tenant left the registry is still pinned.
	gone := tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000dd")
	g := f.record(t, staff(gone, ownerA, "owner"), 1, "patient.read")
	before := time.Now().Add(-time.Minute)
	cp := signedCheckpoint(t, f)
	want := []audit.TenantHead{
		{Tenant: clinicA, Head: audit.Head{Seq: 3, Hash: a[2].Hash}},
		{Tenant: clinicB, Head: audit.Head{Seq: 2, Hash: b[1].Hash}},
		{Tenant: clinicC},
		{Tenant: gone, Head: audit.Head{Seq: 1, Hash: g[0].Hash}},
	}
	if diff := cmp.Diff(want, cp.Tenants); diff != "" {
		t.Errorf("tenants (-want +got):\n%s", diff)
	}
	if cp.Registry != "public.tenants.id" || cp.KeyType != tenancy.KeyUUID || cp.Platform != (audit.Head{}) ||
		cp.Time.Before(before) || cp.Time.Location() != time.UTC || cp.KeyID != audit.KeyID(testKey.Public().(ed25519.PublicKey)) {
		t.Errorf("checkpoint %+v", cp)
	}
	if err := cp.Verify(testKey.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("Verify: %v", err)
	}
	for _, cfg := range []audit.Config{{}, {TenantRegistry: "tenants.id"}, {TenantRegistry: `public.tenants.id;drop`}} {
		if _, err := audit.ReadCheckpoint(context.Background(), f.platform, cfg, tenancy.KeyUUID); !errors.Is(err, audit.ErrInvalidRegistry) {
			t.Errorf("registry %q: %v, want ErrInvalidRegistry", cfg.TenantRegistry, err)
		}
	}
	if _, err := audit.ReadCheckpoint(context.Background(), f.platform, registry, tenancy.KeyBigint); !errors.Is(err, tenancy.ErrInvalidID) {
		t.Errorf("uuid keys read as bigint: %v, want ErrInvalidID", err)
	}
}

// TestVerifyCheckpointFindsTampering: each attack on the chains, by
// someone who can write the audit tables (a superuser, or an owner role
// that disables the triggers), is found by VerifyCheckpoint; the attacks
// that recompute hashes and heads pass Verify and VerifyAll, which is what
// the checkpoint adds.
func TestVerifyCheckpointFindsTampering(t *testing.T) {
	pub := testKey.Public().(ed25519.PublicKey)
	clinicC := tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000c")
	type state struct {
		f    *fixture
		a, b []audit.Event
		// rewritten is clinic A's head after a rewrite.
		rewritten audit.Hash
	}
	tests := []struct {
		name string
		// tamper changes the database after the checkpoint; chainsVerify
		// says whether VerifyAll still passes after it.
		tamper       func(t *testing.T, s *state)
		chainsVerify bool
		want         func(s *state) []*audit.CheckpointProblem
	}{
		{name: "intact", tamper: func(*testing.T, *state) {}, chainsVerify: true},
		{
			name: "extended after the checkpoint",
			tamper: func(t *testing.T, s *state) {
				s.f.record(t, staff(clinicA, ownerA, "owner"), 2, "patient.read")
			},
			chainsVerify: true,
		},
		{
			name: "truncated tail, head moved back",
			tamper: func(t *testing.T, s *state) {
				s.f.tamper(t, `delete from audit.events where tenant_id = $1 and seq > 3`, clinicA)
				s.f.tamper(t, `update audit.chain_heads set seq = 3, hash = $2 where tenant_id = $1`, clinicA, s.a[2].Hash[:])
			},
			chainsVerify: true,
			want: func(s *state) []*audit.CheckpointProblem {
				return []*audit.CheckpointProblem{{Kind: audit.Truncated, Tenant: clinicA,
					Checkpointed: audit.Head{Seq: 5, Hash: s.a[4].Hash}, Found: audit.Head{Seq: 3, Hash: s.a[2].Hash}}}
			},
		},
		{
			name: "event rewritten, later hashes and the head recomputed",
			tamper: func(t *testing.T, s *state) {
				prev := s.a[0].Hash
				for i := 1; i < len(s.a); i++ {
					e := s.a[i]
					if i == 1 {
						e.ResourceID = "someone else"
					}
					e.PrevHash = prev
					e.Hash = e.Sum()
					s.f.tamper(t, `update audit.events set resource_id = $3, prev_hash = $4, hash = $5 where tenant_id = $1 and seq = $2`,
						clinicA, e.Seq, e.ResourceID, e.PrevHash[:], e.Hash[:])
					prev = e.Hash
				}
				s.f.tamper(t, `update audit.chain_heads set hash = $2 where tenant_id = $1`, clinicA, prev[:])
				s.rewritten = prev
			},
			chainsVerify: true,
			want: func(s *state) []*audit.CheckpointProblem {
				return []*audit.CheckpointProblem{{Kind: audit.Rewritten, Tenant: clinicA,
					Checkpointed: audit.Head{Seq: 5, Hash: s.a[4].Hash}, Found: audit.Head{Seq: 5, Hash: s.rewritten}}}
			},
		},
		{
			name: "whole chain deleted, events and head",
			tamper: func(t *testing.T, s *state) {
				s.f.tamper(t, `delete from audit.events where tenant_id = $1`, clinicB)
				s.f.tamper(t, `delete from audit.chain_heads where tenant_id = $1`, clinicB)
			},
			chainsVerify: true,
			want: func(s *state) []*audit.CheckpointProblem {
				return []*audit.CheckpointProblem{{Kind: audit.ChainMissing, Tenant: clinicB, Checkpointed: audit.Head{Seq: 2, Hash: s.b[1].Hash}}}
			},
		},
		{
			name: "whole chain deleted and its tenant taken out of the registry",
			tamper: func(t *testing.T, s *state) {
				s.f.tamper(t, `delete from audit.events where tenant_id = $1`, clinicB)
				s.f.tamper(t, `delete from audit.chain_heads where tenant_id = $1`, clinicB)
				s.f.tamper(t, `delete from public.tenants where id = $1`, clinicB)
			},
			chainsVerify: true,
			want: func(s *state) []*audit.CheckpointProblem {
				return []*audit.CheckpointProblem{{Kind: audit.ChainMissing, Tenant: clinicB, Checkpointed: audit.Head{Seq: 2, Hash: s.b[1].Hash}}}
			},
		},
		{
			name: "a tenant of the registry without a chain",
			tamper: func(t *testing.T, s *state) {
				s.f.tamper(t, `insert into public.tenants (id) values ($1)`, clinicC)
			},
			chainsVerify: true,
			want: func(*state) []*audit.CheckpointProblem {
				return []*audit.CheckpointProblem{{Kind: audit.ChainMissing, Tenant: clinicC}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			withRegistry(t, f, clinicA, clinicB)
			s := &state{f: f, a: f.record(t, staff(clinicA, ownerA, "owner"), 5, "patient.read"),
				b: f.record(t, staff(clinicB, ownerB, "owner"), 2, "patient.read")}
			cp := signedCheckpoint(t, f)
			tt.tamper(t, s)
			if _, err := audit.VerifyAll(context.Background(), f.platform); (err == nil) != tt.chainsVerify {
				t.Fatalf("VerifyAll after tampering: %v; want it to pass: %v", err, tt.chainsVerify)
			}
			rep, err := audit.VerifyCheckpoint(context.Background(), f.platform, cp, pub, audit.Config{})
			var want []*audit.CheckpointProblem
			if tt.want != nil {
				want = tt.want(s)
			}
			if diff := cmp.Diff(want, rep.Problems, cmpopts.IgnoreFields(audit.CheckpointProblem{}, "Err")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if len(want) == 0 {
				if err != nil {
					t.Errorf("VerifyCheckpoint: %v, want nil", err)
				}
				if len(rep.Chains) != 3 {
					t.Errorf("%d chains verified, want 3 (the platform's, A and B)", len(rep.Chains))
				}
				return
			}
			var p *audit.CheckpointProblem
			if !errors.Is(err, audit.ErrCheckpointMismatch) || !errors.As(err, &p) || p != rep.Problems[0] {
				t.Errorf("VerifyCheckpoint error %v, want the report's *CheckpointProblem wrapping ErrCheckpointMismatch", err)
			}
			t.Logf("found: %v", err)
		})
	}
}

func TestVerifyCheckpointRefusesABadSignature(t *testing.T) {
	f := setup(t)
	withRegistry(t, f, clinicA)
	f.record(t, staff(clinicA, ownerA, "owner"), 2, "patient.read")
	pub := testKey.Public().(ed25519.PublicKey)
	good := signedCheckpoint(t, f)
	if _, err := audit.VerifyCheckpoint(context.Background(), f.platform, good, pub, audit.Config{}); err != nil {
		t.Fatalf("the good checkpoint: %v", err)
	}
	tests := []struct {
		name string
		cp   func() audit.Checkpoint
		pub  ed25519.PublicKey
	}{
		{"head changed after signing", func() audit.Checkpoint {
			cp := good
			cp.Tenants = []audit.TenantHead{{Tenant: clinicA, Head: audit.Head{Seq: 1, Hash: cp.Tenants[0].Head.Hash}}}
			return cp
		}, pub},
		{"tenant dropped after signing", func() audit.Checkpoint { cp := good; cp.Tenants = nil; return cp }, pub},
		{"time changed after signing", func() audit.Checkpoint { cp := good; cp.Time = cp.Time.Add(time.Second); return cp }, pub},
		{"signed by another key", func() audit.Checkpoint {
			cp := good
			if err := cp.Sign(otherKey); err != nil {
				t.Fatal(err)
			}
			return cp
		}, pub},
		{"another key's id claimed", func() audit.Checkpoint {
			cp := good
			cp.KeyID = audit.KeyID(otherKey.Public().(ed25519.PublicKey))
			return cp
		}, otherKey.Public().(ed25519.PublicKey)},
		{"signature flipped", func() audit.Checkpoint {
			cp := good
			cp.Signature = append([]byte(nil), cp.Signature...)
			cp.Signature[0] ^= 1
			return cp
		}, pub},
		{"no signature", func() audit.Checkpoint { cp := good; cp.Signature = nil; return cp }, pub},
		{"not a key", func() audit.Checkpoint { return good }, pub[:16]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := audit.VerifyCheckpoint(context.Background(), f.platform, tt.cp(), tt.pub, audit.Config{})
			var p *audit.CheckpointProblem
			if !errors.Is(err, audit.ErrBadSignature) || !errors.As(err, &p) || p.Kind != audit.BadSignature || len(rep.Chains) != 0 {
				t.Errorf("got %v (%d chains read), want a BadSignature problem and nothing read", err, len(rep.Chains))
			}
		})
	}
}

func TestReceipt(t *testing.T) {
	f := setup(t)
	events := f.record(t, staff(clinicA, ownerA, "owner"), 3, "patient.read")
	pub := testKey.Public().(ed25519.PublicKey)
	var r audit.Receipt
	err := f.app.Tx(staff(clinicA, ownerA, "owner"), func(tx *tenantdb.Tx) error {
		var err error
		r, err = audit.ReadReceipt(staff(clinicA, ownerA, "owner"), tx, clinicA)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Tenant != clinicA || r.Head != (audit.Head{Seq: 3, Hash: events[2].Hash}) || r.Time.IsZero() {
		t.Fatalf("receipt %+v, want clinic A at seq 3 with the last event's hash", r)
	}
	if err := r.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := audit.ParseReceipt(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := got.Verify(pub); err != nil {
		t.Errorf("Verify: %v", err)
	}
	tampered := []struct {
		name string
		r    func() audit.Receipt
		pub  ed25519.PublicKey
	}{
		{"seq", func() audit.Receipt { x := r; x.Head.Seq = 2; return x }, pub},
		{"hash", func() audit.Receipt { x := r; x.Head.Hash = events[1].Hash; return x }, pub},
		{"tenant", func() audit.Receipt { x := r; x.Tenant = clinicB; return x }, pub},
		{"time", func() audit.Receipt { x := r; x.Time = x.Time.Add(-time.Hour); return x }, pub},
		{"another key", func() audit.Receipt { return r }, otherKey.Public().(ed25519.PublicKey)},
	}
	for _, tt := range tampered {
		if err := tt.r().Verify(tt.pub); !errors.Is(err, audit.ErrBadSignature) {
			t.Errorf("tampered %s: %v, want ErrBadSignature", tt.name, err)
		}
	}

	// Only the tenant's readers get one; a tenant without a chain none.
	for name, ctx := range map[string]context.Context{
		"dentist":         staff(clinicA, dentistA, "dentist"),
		"no chain":        staff(clinicB, ownerB, "owner"),
		"patient of A":    as(tenancy.Principal{Kind: "patient", Tenant: clinicA, Subject: patientA}),
		"owner of B at A": staff(clinicB, ownerB, "owner"),
	} {
		tenant := clinicA
		if name == "no chain" {
			tenant = clinicB
		}
		err := f.app.Tx(ctx, func(tx *tenantdb.Tx) error {
			_, err := audit.ReadReceipt(ctx, tx, tenant)
			return err
		})
		if !errors.Is(err, audit.ErrNoChain) {
			t.Errorf("%s: %v, want ErrNoChain", name, err)
		}
	}
}

func TestCheckpointer(t *testing.T) {
	f := setup(t)
	withRegistry(t, f, clinicA)
	f.record(t, staff(clinicA, ownerA, "owner"), 1, "patient.read")
	store, err := audit.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.NewCheckpointer(audit.CheckpointerConfig{DB: f.platform, Key: testKey, Store: store}); !errors.Is(err, audit.ErrInvalidRegistry) {
		t.Errorf("no registry: %v, want ErrInvalidRegistry", err)
	}
	c, err := audit.NewCheckpointer(audit.CheckpointerConfig{DB: f.platform, Audit: registry, Key: testKey, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 20*time.Millisecond, func(err error) { t.Errorf("checkpoint: %v", err) }) }()
	var got audit.Checkpoint
	for got.Time.IsZero() && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
		got, _ = store.Latest(ctx)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	if _, err := audit.VerifyCheckpoint(context.Background(), f.platform, got, c.Public(), audit.Config{}); err != nil {
		t.Errorf("the scheduled checkpoint does not verify: %v", err)
	}
}
