package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
)

func auditCommand() *command {
	return &command{
		name:  "audit",
		short: "Verify the hash chains of the audit log.",
		sub:   []*command{auditVerifyCommand()},
	}
}

func auditVerifyCommand() *command {
	c := &command{
		name:  "verify",
		short: "Report the first edited, deleted, inserted or reordered audit event.",
		usage: `
Usage: tenancy audit verify --dsn DSN [--tenant ID [--key-type uuid|bigint|text]]

Reads the audit log in one snapshot, recomputes every event's hash and link,
and reports, per chain (the platform-wide chain and each tenant's), the number
of events and the head, or the first edited, deleted, inserted or reordered
event. With --tenant only that tenant's chain is verified; its key is read as
--key-type (the model's tenant_key, default uuid).

Connect as the platform role (or a superuser): through the app role row-level
security hides the events. The DSN may also come from $DATABASE_URL, which
keeps a password out of the process list; it is never printed.

Keep the printed heads somewhere else: a chain rewritten wholesale by someone
who can recompute every hash still verifies, but its head will differ.

Exit status: 0 when every chain verifies, 1 when one is broken or the check
cannot run, 2 on bad usage.

Examples:

  tenancy audit verify --dsn postgres://app_platform@db/app
  tenancy audit verify --dsn "$DSN" --tenant 0195f1c2-0000-7000-8000-00000000000a
  tenancy audit verify --dsn "$DSN" --tenant 42 --key-type bigint
`,
	}
	c.run = func(ctx context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy audit verify", e)
		dsn := fs.String("dsn", "", "the database `DSN` (default $DATABASE_URL)")
		tenantFlag := fs.String("tenant", "", "verify only the chain of the tenant with this `ID`")
		keyFlag := fs.String("key-type", "uuid", "the `type` of tenant keys: uuid, bigint or text")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		keyType, err := tenancy.ParseKeyType(*keyFlag)
		if err != nil {
			return usageError("--key-type: %v", err)
		}
		var tenant tenancy.ID
		if *tenantFlag != "" {
			if tenant, err = keyType.Parse(*tenantFlag); err != nil {
				return usageError("--tenant: %v", err)
			}
		}
		if *dsn == "" {
			*dsn = e.getenv("DATABASE_URL")
		}
		if *dsn == "" {
			return usageError("--dsn (or $DATABASE_URL) is required")
		}
		conn, err := connect(ctx, *dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var reports []audit.Report
		if tenant.IsZero() {
			reports, err = audit.VerifyAll(ctx, conn)
		} else {
			var rep audit.Report
			rep, err = audit.Verify(ctx, conn, tenant)
			reports = []audit.Report{rep}
		}
		if err != nil && !errors.Is(err, audit.ErrBroken) {
			return err
		}
		if werr := writeReports(e.stdout, reports); werr != nil {
			return werr
		}
		if err != nil {
			return errFindings
		}
		return nil
	}
	return c
}

func writeReports(w io.Writer, reports []audit.Report) error {
	broken := 0
	for _, r := range reports {
		chain := "platform"
		if !r.Tenant.IsZero() {
			chain = "tenant " + r.Tenant.String()
		}
		if r.Problem != nil {
			broken++
			if _, err := fmt.Fprintf(w, "BROKEN %s: %s: seq %d, event %s\n       %v\n",
				chain, r.Problem.Kind, r.Problem.Seq, r.Problem.Event, r.Problem); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintf(w, "ok     %s: %d events, head seq %d hash %s\n", chain, r.Events, r.Head.Seq, r.Head.Hash); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%d chains, %d broken\n", len(reports), broken)
	return err
}
