package store

import (
	"errors"
	"testing"
	"time"
)

func TestParseLocal(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want string // UTC, or "" for an error
	}{
		{"2027-03-29T09:00:00", "2027-03-29T08:00:00Z"}, // BST
		{"2027-03-27T09:00:00", "2027-03-27T09:00:00Z"}, // GMT
		{"2027-03-28T01:30:00", ""},                     // skipped when the clocks go forward
		{"2027-10-31T01:30:00", "2027-10-31T00:30:00Z"}, // twice: the earlier, in BST
		{"2027-10-31T02:30:00", "2027-10-31T02:30:00Z"},
		{"2027-03-29 09:00", ""},
		{"2027-03-29T09:00:00Z", ""},
		{"1999-12-31T09:00:00", ""},
	}
	for _, tt := range tests {
		got, err := parseLocal(tt.in, london)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("parseLocal(%q) = %v, %v; want ErrInvalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || got.UTC().Format(time.RFC3339) != tt.want {
			t.Errorf("parseLocal(%q) = %v, %v; want %s", tt.in, got.UTC(), err, tt.want)
		}
	}
}

func TestTransitionsCoverEveryStatus(t *testing.T) {
	for _, s := range AppointmentStatuses {
		next, ok := Transitions[s]
		if !ok {
			t.Errorf("status %q has no row in Transitions", s)
		}
		for _, n := range next {
			if _, ok := Transitions[n]; !ok {
				t.Errorf("%s -> %q: unknown status", s, n)
			}
		}
	}
}
