package problem

import (
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name                string
		status              int
		title, code, detail string
		want                string
	}{
		{"every member", 401, "Unauthorized", "unauthorized", "A valid access token is required.",
			`{"type":"about:blank","title":"Unauthorized","status":401,"code":"unauthorized","detail":"A valid access token is required."}`},
		{"default title, no code", 503, "", "", "Try again.",
			`{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"Try again."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("Retry-After", "2")
			Write(rec, tt.status, tt.title, tt.code, tt.detail)
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("body %s, want %s", got, tt.want)
			}
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			for k, want := range map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store",
				"X-Content-Type-Options": "nosniff", "Retry-After": "2"} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if got, want := rec.Header().Get("Content-Length"), strconv.Itoa(len(tt.want)); got != want {
				t.Errorf("Content-Length %q, want %q", got, want)
			}
		})
	}
}
