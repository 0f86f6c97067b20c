package store

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Date is a calendar date without a time zone, as "2006-01-02" in JSON.
type Date struct{ time.Time }

// DateOf returns the calendar date of t (in t's location).
func DateOf(t time.Time) Date {
	return Date{time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}

// ParseDate parses "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	return Date{t}, err
}

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.Format(time.DateOnly)), nil }

// MarshalJSON writes "2006-01-02" (time.Time's own method would be
// promoted otherwise).
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.Format(time.DateOnly) + `"`), nil }

// UnmarshalJSON reads "2006-01-02".
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return invalid("", "dates are written \"YYYY-MM-DD\"")
	}
	return d.UnmarshalText(b[1 : len(b)-1])
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(b []byte) error {
	t, err := time.Parse(time.DateOnly, string(b))
	if err != nil {
		return invalid("", "dates are written YYYY-MM-DD")
	}
	d.Time = t
	return nil
}

func (d *Date) timePtr() *time.Time {
	if d == nil {
		return nil
	}
	return &d.Time
}

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// limitSQL is the LIMIT clause of a list query that reads a page of n rows
// (n from pageLimit) and one more, to know whether there is a next page.
// The number is written into the SQL text as an integer literal, not sent
// as a parameter: with "limit $n", PostgreSQL keeps choosing a custom plan
// for the prepared statement and so plans it again at every execution,
// which under row-level security means planning every policy's
// sub-selects again each time (docs/benchmarks.md, "Row-level security at
// scale"). With a literal it switches to the cached generic plan after five
// executions. n is an int validated by pageLimit, never request text, and
// it is clamped here as well, so that the text is one of at most
// maxPageSize forms.
func limitSQL(n int) string {
	return " limit " + strconv.Itoa(min(max(n, 1), maxPageSize)+1)
}

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return defaultPageSize
	case n > maxPageSize:
		return maxPageSize
	}
	return n
}

// encodeCursor and decodeCursor make opaque page cursors. A cursor holds
// only sort keys of the caller's own clinic; it cannot widen a query,
// because every query is scoped by the token's tenant anyway.
func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, v any) error {
	if s == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 1024 || json.Unmarshal(b, v) != nil {
		return invalid("cursor", "cursor is not one this server gave")
	}
	return nil
}

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
