package tenantdb_test

import (
	"errors"
	"testing"

	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestCheckReason(t *testing.T) {
	for _, tc := range []struct {
		reason string
		ok     bool
	}{
		{"list clinics", true},
		{"x", true},
		{"§", true},
		{"7", true},
		{"réindexer", true},
		{"  падеж  ", true},
		{"", false},
		{"   ", false},
		{"\u200b", false},
		{"\u2060", false},
		{"\u00ad", false},
		{"\u200b\u2060\u00ad \u200e\u202e", false},
		{"\u3164", false},
		{"\u2800", false},
		{"\ufeff", false},
		{"\u0301", false}, // a combining mark alone
		{"\u00a0\u3000", false},
		{"migrate\n", false},
		{"a\x00", false},
		{"\xff", false},
	} {
		err := tenantdb.CheckReason(tc.reason)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, tenantdb.ErrNoReason)) {
			t.Errorf("CheckReason(%q) = %v, want ok %v", tc.reason, err, tc.ok)
		}
	}
}
