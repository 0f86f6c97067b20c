package store

import (
	"time"
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
