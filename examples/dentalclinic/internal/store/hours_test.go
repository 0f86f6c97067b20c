package store

import (
	"testing"
	"time"
)

// TestSettingsOpen: a booking is within the hours only when the whole of
// it lies in one range of its local day; a closure day is closed all day;
// a clinic without hours is never open; local means the clinic's zone,
// across a daylight-saving change too.
func TestSettingsOpen(t *testing.T) {
	st := Settings{TimeZone: "Europe/London", OpeningHours: OpeningHours{
		"mon": {{"08:30", "12:00"}, {"13:00", "17:30"}}, "tue": {{"08:30", "17:30"}}, "sat": {{"20:00", "24:00"}},
	}, Closures: []Closure{{Date: Date{time.Date(2027, 3, 30, 0, 0, 0, 0, time.UTC)}, Reason: "Training"}}}
	london, _ := time.LoadLocation("Europe/London")
	at := func(d, h, m int) time.Time { return time.Date(2027, 3, d, h, m, 0, 0, london) } // 29 March 2027 is a Monday (BST)
	for _, c := range []struct {
		name       string
		start      time.Time
		minutes    int
		want       bool
		wantClosed bool
	}{
		{"Monday 09:00", at(29, 9, 0), 30, true, false},
		{"Monday from opening", at(29, 8, 30), 30, true, false},
		{"Monday before opening", at(29, 8, 0), 60, false, false},
		{"Monday over lunch", at(29, 11, 45), 30, false, false},
		{"Monday to closing", at(29, 17, 0), 30, true, false},
		{"Monday past closing", at(29, 17, 15), 30, false, false},
		{"Monday 21:00", at(29, 21, 0), 30, false, false},
		{"Tuesday, a closure", at(30, 10, 0), 30, false, true},
		{"Sunday", at(28, 10, 0), 30, false, false},
		{"Saturday to midnight", at(27, 23, 30), 30, true, false},
		{"Saturday past midnight", at(27, 23, 45), 30, false, false},
	} {
		end := c.start.Add(time.Duration(c.minutes) * time.Minute)
		if got := st.Open(c.start.UTC(), end.UTC()); got != c.want {
			t.Errorf("%s: Open = %v, want %v", c.name, got, c.want)
		}
		if got := st.Closed(c.start.Format(time.DateOnly)); got != c.wantClosed {
			t.Errorf("%s: Closed = %v, want %v", c.name, got, c.wantClosed)
		}
	}
	if (Settings{TimeZone: "Europe/London"}).Open(at(29, 9, 0), at(29, 9, 30)) {
		t.Error("a clinic without opening hours is open")
	}
	if (Settings{TimeZone: "Nowhere/Else", OpeningHours: st.OpeningHours}).Open(at(29, 9, 0), at(29, 9, 30)) {
		t.Error("a clinic of an unknown zone is open")
	}
}

// TestDayRule: arrived, completed and no-show wait for the appointment's
// day in the clinic's zone (Chicago's day, not UTC's); other statuses,
// and the status an appointment already has, do not.
func TestDayRule(t *testing.T) {
	chicago, _ := time.LoadLocation("America/Chicago")
	start := time.Date(2027, 6, 2, 9, 0, 0, 0, chicago)
	a := Appointment{Status: StatusScheduled, TimeZone: "America/Chicago", StartsAt: start.UTC()}
	for _, c := range []struct {
		name   string
		now    time.Time
		status string
		ok     bool
	}{
		{"arrived the day before, late evening (already the day in UTC)", time.Date(2027, 6, 1, 21, 0, 0, 0, chicago), StatusArrived, false},
		{"arrived on the day, early", time.Date(2027, 6, 2, 0, 5, 0, 0, chicago), StatusArrived, true},
		{"no-show a week ahead", start.AddDate(0, 0, -7), StatusNoShow, false},
		{"completed after", start.AddDate(0, 0, 3), StatusCompleted, true},
		{"confirmed ahead", start.AddDate(0, 0, -7), StatusConfirmed, true},
		{"cancelled ahead", start.AddDate(0, 0, -7), StatusCancelled, true},
	} {
		s := &Store{now: func() time.Time { return c.now }}
		err := s.dayRule(a, c.status, a.StartsAt)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
	s := &Store{now: func() time.Time { return start.AddDate(0, 0, -7) }}
	if err := s.dayRule(Appointment{Status: StatusArrived, TimeZone: "America/Chicago"}, StatusArrived, a.StartsAt); err != nil {
		t.Errorf("the status it already has: %v", err)
	}
}
