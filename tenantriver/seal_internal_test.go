package tenantriver

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/mydentalpractice/tenancy"
)

func TestCanonicalJSON(t *testing.T) {
	same := [][]string{
		{`{"b":1,"a":[true,null,"x"]}`, `{"a": [true, null, "x"], "b": 1}`},
		{`1e2`, `100`, `1E+2`, `100.0`, `1.00e2`},
		{`1.50`, `1.5`, `15e-1`},
		{`0`, `-0`, `0.000`, `0e5`},
		{`"<&>"`, `"\u003c\u0026\u003e"`},
		{`"é"`, `"\u00e9"`},
		{`{"a":1,"a":2}`, `{"a":2}`}, // the last duplicate wins, as in jsonb
		{`1e21`, `1000000000000000000000`},
		{`123456789012345678901234567890`, `1.2345678901234567890123456789e29`},
	}
	for _, group := range same {
		want, err := canonicalJSON([]byte(group[0]))
		if err != nil {
			t.Fatalf("canonicalJSON(%s): %v", group[0], err)
		}
		for _, in := range group[1:] {
			got, err := canonicalJSON([]byte(in))
			if err != nil {
				t.Fatalf("canonicalJSON(%s): %v", in, err)
			}
			if string(got) != string(want) {
				t.Errorf("canonicalJSON(%s) = %s, canonicalJSON(%s) = %s, want equal", in, got, group[0], want)
			}
		}
	}
	differ := [][2]string{
		{`1`, `1.1`}, {`1`, `-1`}, {`10`, `1`}, {`"a"`, `"A"`}, {`[1,2]`, `[2,1]`}, {`{"a":1}`, `{"a":"1"}`},
		{`{}`, `[]`}, {`null`, `false`}, {`0.1`, `0.01`},
	}
	for _, d := range differ {
		a, err1 := canonicalJSON([]byte(d[0]))
		b, err2 := canonicalJSON([]byte(d[1]))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if string(a) == string(b) {
			t.Errorf("canonicalJSON(%s) = canonicalJSON(%s) = %s, want different", d[0], d[1], a)
		}
	}
	for _, bad := range []string{``, `{`, `1 2`, `{"a":1} x`, `nul`} {
		if _, err := canonicalJSON([]byte(bad)); err == nil {
			t.Errorf("canonicalJSON(%q) succeeded, want an error", bad)
		}
	}
}

func TestSealOpen(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	old := []byte("fedcba9876543210fedcba9876543210")
	ps := tenancy.Principals{Kinds: []tenancy.KindSpec{{Name: "staff", Access: tenancy.AccessTenant}}}
	p := tenancy.Principal{Kind: "staff", Tenant: tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a"),
		Subject: tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1"), Roles: []string{"owner"}, RequestID: "r|1"}
	args := []byte(`{"b":2,"a":"x"}`)
	s, err := sealFor(old, 7, "kind", args, p)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := withSeal([]byte(`{"other":1}`), s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := open([][]byte{key, old}, ps, 7, "kind", []byte(`{"a": "x", "b": 2}`), meta)
	if err != nil {
		t.Fatalf("open with the previous key and args as jsonb writes them: %v", err)
	}
	if got.Tenant != p.Tenant || got.Subject != p.Subject || got.Kind != p.Kind || got.RequestID != p.RequestID || len(got.Roles) != 1 {
		t.Errorf("open = %+v, want %+v", got, p)
	}
	forged := func(f func(*seal)) []byte {
		c := s
		f(&c)
		m, err := withSeal(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	otherTenant := `{"kind":"staff","tenant":"0195f1c2-0000-7000-8000-00000000000b","subject":"0195f1c2-0000-7000-8000-0000000000a1"}`
	tests := []struct {
		name     string
		keys     [][]byte
		id       int64
		kind     string
		args     []byte
		metadata []byte
		want     error
	}{
		{"no key verifies", [][]byte{key}, 7, "kind", args, meta, ErrForged},
		{"other id", [][]byte{old}, 8, "kind", args, meta, ErrForged},
		{"other kind", [][]byte{old}, 7, "kind2", args, meta, ErrForged},
		{"other args", [][]byte{old}, 7, "kind", []byte(`{"a":"y","b":2}`), meta, ErrForged},
		{"other principal", [][]byte{old}, 7, "kind", args, forged(func(s *seal) { s.Principal = otherTenant }), ErrForged},
		{"other tenant column", [][]byte{old}, 7, "kind", args, forged(func(s *seal) { s.Tenant = "0195f1c2-0000-7000-8000-00000000000b" }), ErrForged},
		{"other version", [][]byte{old}, 7, "kind", args, forged(func(s *seal) { s.Version = 2 }), ErrForged},
		{"MAC not base64", [][]byte{old}, 7, "kind", args, forged(func(s *seal) { s.MAC = "!" }), ErrForged},
		{"no seal", [][]byte{old}, 7, "kind", args, []byte(`{"other":1}`), ErrNoPrincipal},
		{"metadata not an object", [][]byte{old}, 7, "kind", args, []byte(`[]`), ErrNoPrincipal},
		{"seal not an object", [][]byte{old}, 7, "kind", args, []byte(`{"tenancy":"x"}`), ErrForged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := open(tt.keys, ps, tt.id, tt.kind, tt.args, tt.metadata); !errors.Is(err, tt.want) {
				t.Errorf("open: %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("undeclared kind, validly sealed", func(t *testing.T) {
		q := p
		q.Kind = "patient"
		s, err := sealFor(key, 7, "kind", args, q)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := json.Marshal(map[string]seal{MetadataKey: s})
		if _, err := open([][]byte{key}, ps, 7, "kind", args, m); !errors.Is(err, ErrForged) || !errors.Is(err, tenancy.ErrInvalidKind) {
			t.Errorf("open: %v, want ErrForged wrapping tenancy.ErrInvalidKind", err)
		}
	})
}

func TestCanonicalNumberBounded(t *testing.T) {
	if _, err := canonicalNumber("1e99999999999"); err == nil {
		t.Error("an exponent beyond 32 bits was accepted")
	}
	got, err := canonicalNumber("-12.3400e-2")
	if err != nil || got != "-1234e-4" {
		t.Errorf("canonicalNumber(-12.3400e-2) = %q, %v, want -1234e-4", got, err)
	}
}

// BenchmarkSeal: what the middleware adds per job, before the worker's
// database work: sealing at insert, verifying at work.
func BenchmarkSeal(b *testing.B) {
	key := []byte("0123456789abcdef0123456789abcdef")
	ps := tenancy.Principals{Kinds: []tenancy.KindSpec{{Name: "staff", Access: tenancy.AccessTenant}}}
	p := tenancy.Principal{Kind: "staff", Tenant: tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a"),
		Subject: tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1"), Roles: []string{"dentist"}, RequestID: "req-1"}
	args := []byte(`{"appointment_id":"0195f1c2-0000-7000-8000-0000000000f1","minutes_before":60}`)
	s, err := sealFor(key, 4611686018427387905, "reminder", args, p)
	if err != nil {
		b.Fatal(err)
	}
	meta, err := withSeal(nil, s)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, _ := sealFor(key, 4611686018427387905, "reminder", args, p)
			_, _ = withSeal(nil, s)
		}
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := open([][]byte{key}, ps, 4611686018427387905, "reminder", args, meta); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzCanonicalJSON: the canonical form of any JSON text is JSON, and
// itself canonical.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x"]}`, `1e2`, `-0.50`, `"\u003c\u2028\\"`, `[{"":{}}]`, `123456789012345678901234567890e-40`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := canonicalJSON([]byte(in))
		if err != nil {
			return
		}
		again, err := canonicalJSON(c)
		if err != nil {
			t.Fatalf("canonicalJSON(%q) = %q, which does not parse again: %v", in, c, err)
		}
		if string(again) != string(c) {
			t.Fatalf("canonicalJSON(%q) = %q, but canonicalJSON of that = %q", in, c, again)
		}
		if !json.Valid(c) {
			t.Fatalf("canonicalJSON(%q) = %q, which is not JSON", in, c)
		}
	})
}
