package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// openWithin reports whether [start, end) lies within one of week's
// opening ranges on one local day in loc that closed does not name. Times
// are compared as local wall-clock "HH:MM"; an end at midnight belongs to
// the day before. It is the one reading of opening hours: the portal's
// requests, the staff's bookings and the schedule's shading all use it.
func openWithin(week OpeningHours, closed func(day string) bool, loc *time.Location, start, end time.Time) bool {
	ls, le := start.In(loc), end.In(loc)
	day := ls.Format(time.DateOnly)
	if le.Format(time.DateOnly) != day && le.Format("15:04") != "00:00" {
		return false
	}
	if closed(day) {
		return false
	}
	from, to := ls.Format("15:04"), le.Format("15:04")
	if le.Format(time.DateOnly) != day {
		to = "24:00"
	}
	weekday := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}[ls.Weekday()]
	for _, r := range week[weekday] {
		if len(r) == 2 && r[0] <= from && to <= r[1] {
			return true
		}
	}
	return false
}

// Open reports whether the clinic is open for the whole of [start, end):
// within one of its opening ranges, on one local day in its time zone that
// is not a closure. A clinic that never set its hours is never open (its
// staff book with a reason until the owner sets them).
func (st Settings) Open(start, end time.Time) bool {
	loc, err := clinicLocation(st.TimeZone)
	if err != nil {
		return false
	}
	return openWithin(st.OpeningHours, st.Closed, loc, start, end)
}

// Closed reports whether day ("2006-01-02", local) is one of the clinic's
// closures.
func (st Settings) Closed(day string) bool {
	for _, c := range st.Closures {
		if c.Date.Format(time.DateOnly) == day {
			return true
		}
	}
	return false
}

// ClosureReason is the reason given for the closure on day, and whether
// there is one.
func (st Settings) ClosureReason(day string) (string, bool) {
	for _, c := range st.Closures {
		if c.Date.Format(time.DateOnly) == day {
			return c.Reason, true
		}
	}
	return "", false
}

// maxReasonLen is the longest override or cancellation reason, in
// characters (the database checks the same).
const maxReasonLen = 500

// reasonField checks an optional reason: when given, 1 to maxReasonLen
// characters and not blank.
func reasonField(field string, v *string, blank string) error {
	if v == nil {
		return nil
	}
	if strings.TrimSpace(*v) == "" {
		return invalid(field, blank)
	}
	return textField(field, v, 1, maxReasonLen)
}

// Codes of the appointment rules below.
const (
	// CodeOutsideHours: a staff booking or move outside the clinic's
	// opening hours or on a closure day, without hours_override.
	CodeOutsideHours = "outside_opening_hours"
	// CodeBeforeDay: arrived, completed or no-show set before the
	// appointment's day in the clinic's time zone.
	CodeBeforeDay = "before_appointment_day"
)

// hoursRule refuses a staff booking of [start, end) when the clinic is
// closed for any of it (ErrConflict CodeOutsideHours, Field
// "hours_override") unless override gives a reason, and refuses a reason
// where the clinic is open. It reports whether the override is used.
func hoursRule(ctx context.Context, tx *tenantdb.Tx, clinic tenancy.ID, start, end time.Time, override *string) (bool, error) {
	st, err := readSettings(ctx, tx, clinic)
	if err != nil {
		return false, err
	}
	open := st.Open(start, end)
	switch {
	case !open && override == nil:
		msg := "The clinic is not open for the whole of that time (it is outside its opening hours, or a closure day). Choose another time, or give a reason to book it anyway."
		if len(st.OpeningHours) == 0 || noHours(st.OpeningHours) {
			msg = "The clinic has no opening hours set (the owner sets them in Settings), so every time is outside them. Give a reason to book it anyway."
		}
		return false, &Error{Kind: ErrConflict, Code: CodeOutsideHours, Field: "hours_override", Msg: msg}
	case open && override != nil:
		return false, invalid("hours_override", "A reason to book outside opening hours is only for a time when the clinic is closed; this time is within its opening hours.")
	}
	return !open, nil
}

func noHours(h OpeningHours) bool {
	for _, r := range h {
		if len(r) > 0 {
			return false
		}
	}
	return true
}

// portalOpen reports whether [start, end) lies within one of the clinic's
// opening ranges on one local day that is not a closure. hours and
// closures are clinic_settings' JSON; times are compared as local
// wall-clock "HH:MM" in loc.
func portalOpen(hours, closures []byte, loc *time.Location, start, end time.Time) (bool, error) {
	var week OpeningHours
	if len(hours) > 0 {
		if err := json.Unmarshal(hours, &week); err != nil {
			return false, err
		}
	}
	var closed []struct {
		Date string `json:"date"`
	}
	if len(closures) > 0 {
		if err := json.Unmarshal(closures, &closed); err != nil {
			return false, err
		}
	}
	isClosed := func(day string) bool {
		for _, c := range closed {
			if c.Date == day {
				return true
			}
		}
		return false
	}
	return openWithin(week, isClosed, loc, start, end), nil
}
