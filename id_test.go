package tenancy_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
)

func TestParseID(t *testing.T) {
	const canonical = "0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f"
	tests := []struct {
		name, in string
		want     string // "" means an error is wanted
	}{
		{"canonical", canonical, canonical},
		{"upper case", strings.ToUpper(canonical), canonical},
		{"max", "ffffffff-ffff-ffff-ffff-ffffffffffff", "ffffffff-ffff-ffff-ffff-ffffffffffff"},
		{"zero", "00000000-0000-0000-0000-000000000000", ""},
		{"empty", "", ""},
		{"braces", "{" + canonical + "}", ""},
		{"urn", "urn:uuid:" + canonical, ""},
		{"no hyphens", strings.ReplaceAll(canonical, "-", ""), ""},
		{"leading space", " " + canonical[1:], ""},
		{"trailing newline", canonical[:35] + "\n", ""},
		{"hyphen moved", "0195f1c27-b3a-7c4d-8e5f-6a7b8c9d0e1f", ""},
		{"non hex", "0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1g", ""},
		{"plus sign", "+195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f", ""},
		{"multibyte", "0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0eé", ""},
		{"sql", "' or 1=1 --                         ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tenancy.ParseID(tt.in)
			if tt.want == "" {
				if !errors.Is(err, tenancy.ErrInvalidID) {
					t.Fatalf("ParseID(%q) = %v, %v; want ErrInvalidID", tt.in, id, err)
				}
				if !id.IsZero() {
					t.Errorf("ParseID(%q) returned non-zero %v with an error", tt.in, id)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseID(%q): %v", tt.in, err)
			}
			if got := id.String(); got != tt.want {
				t.Errorf("ParseID(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseIDErrorDoesNotEchoInput(t *testing.T) {
	secret := "patient-jane-doe-1970-01-01-xxxxxxxx"
	_, err := tenancy.ParseID(secret)
	if err == nil {
		t.Fatal("ParseID accepted a non-UUID")
	}
	if strings.Contains(err.Error(), "jane") {
		t.Errorf("error %q echoes its input", err)
	}
}

func TestIDJSON(t *testing.T) {
	id := tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f")
	b, err := json.Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `"0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f"`; got != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	var back tenancy.ID
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != id {
		t.Errorf("round trip = %v, want %v", back, id)
	}

	if _, err := json.Marshal(tenancy.ID{}); !errors.Is(err, tenancy.ErrInvalidID) {
		t.Errorf("json.Marshal(zero ID) error = %v, want ErrInvalidID", err)
	}
	for _, in := range []string{`"00000000-0000-0000-0000-000000000000"`, `"x"`, `12`, `null`} {
		got := id
		err := json.Unmarshal([]byte(in), &got)
		if in == `null` {
			// encoding/json leaves the value alone for null; it must stay as it was.
			if err != nil || got != id {
				t.Errorf("json.Unmarshal(null) = %v, %v; want unchanged", got, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("json.Unmarshal(%s) accepted it as %v", in, got)
		}
		if got != id {
			t.Errorf("json.Unmarshal(%s) changed the target to %v despite the error", in, got)
		}
	}
}

func TestNewID(t *testing.T) {
	const n = 10000
	seen := make(map[tenancy.ID]bool, n)
	prev := ""
	for range n {
		id := tenancy.NewID()
		if id.IsZero() {
			t.Fatal("NewID returned the zero ID")
		}
		if seen[id] {
			t.Fatalf("NewID repeated %v", id)
		}
		seen[id] = true
		s := id.String()
		if s[14] != '7' {
			t.Fatalf("NewID %s is not version 7", s)
		}
		if v := s[19]; v != '8' && v != '9' && v != 'a' && v != 'b' {
			t.Fatalf("NewID %s has the wrong variant", s)
		}
		if s <= prev {
			t.Fatalf("NewID %s is not after %s", s, prev)
		}
		prev = s
		if back, err := tenancy.ParseID(s); err != nil || back != id {
			t.Fatalf("ParseID(%s) = %v, %v", s, back, err)
		}
	}
}

func FuzzParseID(f *testing.F) {
	f.Add("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f")
	f.Add("00000000-0000-0000-0000-000000000000")
	f.Add("0195F1C2-7B3A-7C4D-8E5F-6A7B8C9D0E1F")
	f.Add("{0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1}")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := tenancy.ParseID(s)
		if err != nil {
			if !errors.Is(err, tenancy.ErrInvalidID) {
				t.Fatalf("error %v does not wrap ErrInvalidID", err)
			}
			return
		}
		if id.IsZero() {
			t.Fatal("parsed the zero ID")
		}
		// Only the canonical form, in either case, parses: the output is the
		// input lower-cased, byte for byte.
		if got := id.String(); got != strings.ToLower(s) {
			t.Fatalf("ParseID(%q).String() = %q", s, got)
		}
		b, err := id.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back tenancy.ID
		if err := back.UnmarshalText(b); err != nil || back != id {
			t.Fatalf("text round trip: %v, %v", back, err)
		}
	})
}
