package tenancy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy"
)

func TestLogHandler(t *testing.T) {
	tenant := tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	subject := tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1")
	var buf bytes.Buffer
	log := slog.New(tenancy.LogHandler(slog.NewJSONHandler(&buf, nil))).With("app", "x").WithGroup("g")
	read := func() map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, buf.Bytes())
		}
		buf.Reset()
		delete(m, "time")
		return m
	}

	ctx := tenancy.NewContext(context.Background(), tenancy.Principal{Kind: "staff", Tenant: tenant, Subject: subject,
		Roles: []string{"owner"}, RequestID: "req-7"})
	log.InfoContext(ctx, "opened", "id", 42)
	want := map[string]any{"level": "INFO", "msg": "opened", "app": "x",
		"g": map[string]any{"id": float64(42), "tenant": tenant.String(), "principal_kind": "staff", "request_id": "req-7"}}
	if diff := cmp.Diff(want, read()); diff != "" {
		t.Errorf("record with a principal (-want +got):\n%s", diff)
	}
	if bytes.Contains(buf.Bytes(), []byte(subject.String())) {
		t.Error("the subject reached the log")
	}

	admin := tenancy.NewContext(context.Background(), tenancy.Principal{Kind: "platform_admin", Subject: subject,
		Tenant: tenant, Impersonation: &tenancy.Impersonation{GrantID: tenancy.NewID(), Admin: subject}})
	log.InfoContext(admin, "impersonated read")
	got := read()
	if g := got["g"].(map[string]any); g["impersonated"] != true || g["tenant"] != tenant.String() {
		t.Errorf("impersonated record: %v", got)
	}

	log.InfoContext(context.Background(), "no principal")
	if got := read(); got["g"] != nil {
		t.Errorf("record without a principal gained %v", got["g"])
	}
	log.Info("no context")
	if got := read(); got["g"] != nil {
		t.Errorf("record without a context gained %v", got["g"])
	}
}
