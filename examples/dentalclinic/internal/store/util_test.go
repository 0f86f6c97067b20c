package store

import (
	"encoding/json"
	"testing"
)

func TestDateJSON(t *testing.T) {
	var v struct{ D *Date }
	if err := json.Unmarshal([]byte(`{"D":"1975-02-03"}`), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) != `{"D":"1975-02-03"}` {
		t.Errorf("round trip = %s, %v", b, err)
	}
	for _, bad := range []string{`{"D":"1975-02-30"}`, `{"D":"03/02/1975"}`, `{"D":19750203}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestLimitSQL(t *testing.T) {
	for n, want := range map[int]string{1: " limit 2", 50: " limit 51", 200: " limit 201", 0: " limit 2", 1000: " limit 201", -5: " limit 2"} {
		if got := limitSQL(n); got != want {
			t.Errorf("limitSQL(%d) = %q, want %q", n, got, want)
		}
	}
}
