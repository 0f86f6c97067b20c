package tenantdb

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// CheckReason reports whether reason can stand in an audit record as the
// reason for work without a verified principal: it returns nil, or an
// error wrapping [ErrNoReason] when reason is not valid UTF-8, holds a
// control character, or holds no visible character (a letter, digit,
// punctuation or symbol that renders as something). Spaces, format
// characters (U+200B ZERO WIDTH SPACE, U+2060 WORD JOINER, U+00AD SOFT
// HYPHEN, bidirectional marks), lone combining marks and the blank
// "letters" (U+3164 HANGUL FILLER, U+2800 BRAILLE PATTERN BLANK, …) do
// not count. Every entry point of tenantdb that takes a reason calls it.
// It is safe for concurrent use.
func CheckReason(reason string) error {
	if !utf8.ValidString(reason) {
		return fmt.Errorf("%w: not valid UTF-8", ErrNoReason)
	}
	visible := false
	for _, r := range reason {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: it holds the control character %U", ErrNoReason, r)
		}
		if isVisible(r) {
			visible = true
		}
	}
	if !visible {
		return fmt.Errorf("%w: %q has no visible character", ErrNoReason, reason)
	}
	return nil
}

// isVisible reports whether r renders as a mark of its own.
func isVisible(r rune) bool {
	switch r {
	case '\u115f', '\u1160', '\u3164', '\uffa0', // Hangul fillers (letters that draw nothing)
		'\u2800',           // braille pattern blank
		'\u180e',           // Mongolian vowel separator
		'\u17b4', '\u17b5', // Khmer inherent vowels
		'\ufeff': // zero width no-break space
		return false
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S)
}
