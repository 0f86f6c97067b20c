package tenancy_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/mydentalpractice/tenancy"
)

// Every record logged with the request's context names the tenant and the
// request, and nothing of the person.
func ExampleLogHandler() {
	plain := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a fixed output for the example
			}
			return a
		},
	})
	log := slog.New(tenancy.LogHandler(plain))
	ctx := tenancy.NewContext(context.Background(), tenancy.Principal{
		Kind: "member", Tenant: tenancy.IntID(42), Subject: tenancy.IntID(7), RequestID: "req-1",
	})
	log.InfoContext(ctx, "task created")
	// Output:
	// level=INFO msg="task created" tenant=42 principal_kind=member request_id=req-1
}
