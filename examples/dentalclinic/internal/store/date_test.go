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
