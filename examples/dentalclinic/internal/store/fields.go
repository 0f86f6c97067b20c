package store

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func itoa(n int) string { return strconv.Itoa(n) }

func oneOf(s string, allowed []string) bool { return slices.Contains(allowed, s) }

// textField checks an optional text field's length in characters and that
// it is valid UTF-8 without control characters other than newlines.
func textField(field string, v *string, minLen, maxLen int) error {
	if v == nil {
		return nil
	}
	if !utf8.ValidString(*v) {
		return invalid(field, field+" is not valid UTF-8")
	}
	n := utf8.RuneCountInString(*v)
	if n < minLen || n > maxLen {
		if minLen > 0 {
			return invalid(field, field+" must be "+itoa(minLen)+" to "+itoa(maxLen)+" characters")
		}
		return invalid(field, field+" must be at most "+itoa(maxLen)+" characters")
	}
	for _, r := range *v {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return invalid(field, field+" contains control characters")
		}
	}
	return nil
}
