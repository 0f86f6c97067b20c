package web

import "testing"

func TestInWords(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"amount_minor must be a positive integer in the currency's minor unit", "Amount must be more than zero"},
		{"starts_at (or local_start) is required", "Date and time is required"},
		{"method must be one of cash, card, bank_transfer, insurance, other", "Method must be one of cash, card, bank transfer, insurance, other"},
		{"status must be one of scheduled, confirmed, arrived, in_chair, completed, no_show", "Status must be one of scheduled, confirmed, arrived, in the chair, completed, no-show"},
		{"given_name and family_name are required", "First name and family name are required"},
		{"This patient's record is archived; reactivate it first.", "This patient's record is archived; reactivate it first."},
		{"some_new_field is wrong", "Some new field is wrong"},
		{"", ""},
	} {
		if got := inWords(c.in); got != c.want {
			t.Errorf("inWords(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
