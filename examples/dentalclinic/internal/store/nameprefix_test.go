package store

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNamePrefixBounds(t *testing.T) {
	max := string(unicode.MaxRune)
	for _, c := range []struct {
		prefix, lo, hi string
		hasHi          bool
	}{
		{"wil", "wil", "wim", true},
		{"WIL", "wil", "wim", true},
		{"O'Br", "o'br", "o'bs", true},
		{"Zz", "zz", "z{", true},                    // 'z'+1 is '{': still above every key starting "zz"
		{"Müll", "müll", "mülm", true},              // non-ASCII kept, last rune incremented
		{"MÜ", "mÜ", "mÝ", true},                    // only A-Z are folded, as lower(x COLLATE "C") does
		{"Øst", "Øst", "Øsu", true},                 // Ø stays: the database does not fold it either
		{"李", "李", "杏", true},                       // U+674E -> U+674F
		{"a\U0000D7FF", "a\uD7FF", "a\uE000", true}, // the surrogates are skipped
		{"ab" + max, "ab" + max, "ac", true},        // a trailing maximum rune is dropped, then the next one is incremented
		{"a" + max + max, "a" + max + max, "b", true},
		{max, max, "", false}, // nothing above: no upper bound
		{"", "", "", false},
	} {
		lo, hi, hasHi := NamePrefixBounds(c.prefix)
		if lo != c.lo || hi != c.hi || hasHi != c.hasHi {
			t.Errorf("NamePrefixBounds(%q) = %q, %q, %v; want %q, %q, %v", c.prefix, lo, hi, hasHi, c.lo, c.hi, c.hasHi)
		}
		if hasHi && !utf8.ValidString(hi) {
			t.Errorf("NamePrefixBounds(%q): hi %q is not valid UTF-8", c.prefix, hi)
		}
	}
}

// TestNamePrefixBoundsRange: for every name, FoldName(name) starts with the
// folded prefix exactly when it lies in [lo, hi) in byte order, which is
// how the text_pattern_ops operators compare.
func TestNamePrefixBoundsRange(t *testing.T) {
	names := []string{"Williams", "wilson", "WILL", "Wim", "Wik", "Wil", "Wi", "wil\U0010FFFF", "Wilm\u00e9", "Zoë", "Zoe", "Zoëy",
		"Zz", "Z{", "z|", "\U0010FFFF", "\U0010FFFFa", "a\uD7FF", "a\uD7FFb", "a\uE000", "李", "李明", "杏", "Østergaard", "østergaard"}
	prefixes := []string{"wil", "WIL", "Wil", "wi", "Zo", "Zoë", "zz", "\U0010FFFF", "a\uD7FF", "李", "Øst", "øst", "w"}
	for _, p := range prefixes {
		lo, hi, hasHi := NamePrefixBounds(p)
		for _, n := range names {
			key := FoldName(n)
			want := strings.HasPrefix(key, FoldName(p))
			got := key >= lo && (!hasHi || key < hi)
			if got != want {
				t.Errorf("prefix %q, name %q: in [%q, %q) = %v, has the prefix = %v", p, n, lo, hi, got, want)
			}
		}
	}
}
