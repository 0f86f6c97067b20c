package signin

import (
	"slices"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
)

// TestLimiter: the eleventh attempt of one key within the window is
// refused with the time left, another key is not, and the window's end
// admits the key again.
func TestLimiter(t *testing.T) {
	l := newLimiter(10, time.Minute)
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	for i := range 10 {
		if ok, _ := l.allow("a", t0.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	ok, wait := l.allow("a", t0.Add(10*time.Second))
	if ok || wait != 50*time.Second {
		t.Fatalf("11th attempt: ok %v wait %v, want refused with 50s", ok, wait)
	}
	if ok, _ := l.allow("b", t0.Add(10*time.Second)); !ok {
		t.Fatal("another key refused")
	}
	if ok, _ := l.allow("a", t0.Add(time.Minute)); !ok {
		t.Fatal("refused after the window")
	}
}

// TestMatch: only an active account with the right password matches, a
// named clinic narrows the match, and no accounts match nothing.
func TestMatch(t *testing.T) {
	hash, err := passwords.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := tenancy.IntID(1), tenancy.IntID(2), tenancy.IntID(3)
	accounts := []account{
		{clinic: a, active: true, hash: hash},
		{clinic: b, active: true, hash: hash},
		{clinic: c, active: false, hash: hash}, // disabled, or its clinic suspended
	}
	clinics := func(m []account) []tenancy.ID {
		var out []tenancy.ID
		for _, x := range m {
			out = append(out, x.clinic)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		clinic   tenancy.ID
		password string
		want     []tenancy.ID
	}{
		{"both active clinics", tenancy.ID{}, "correct horse battery", []tenancy.ID{a, b}},
		{"one named clinic", b, "correct horse battery", []tenancy.ID{b}},
		{"an inactive account's clinic", c, "correct horse battery", nil},
		{"wrong password", tenancy.ID{}, "wrong horse battery", nil},
	} {
		if got := clinics(match(accounts, tc.clinic, tc.password)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: matched %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := match(nil, tenancy.ID{}, "pw"); got != nil {
		t.Fatalf("no accounts matched %v", got)
	}
}
