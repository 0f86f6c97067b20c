package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/mydentalpractice/tenancy/rls"
)

func rlsCommand() *command {
	return &command{
		name:  "rls",
		short: "Generate row-level security migrations and check live databases.",
		sub:   []*command{rlsGenerateCommand(), rlsCheckCommand()},
	}
}

func rlsGenerateCommand() *command {
	c := &command{
		name:  "generate",
		short: "Print the migration SQL for a JSON spec of tenant tables.",
		usage: `
Usage: tenancy rls generate --spec FILE

Prints the migration SQL that isolates tenants in the tables of a JSON spec:
helper functions, grants, ENABLE and FORCE ROW LEVEL SECURITY and the
policies. Run the output as the owner role, in one transaction; running it
again is harmless. The roles and tables must already exist.

A spec (unknown fields are errors; omitted names take the defaults):

  {
    "schema": "tenancy",
    "tenant_column": "clinic_id",
    "owner_role": "clinic_owner",
    "app_role": "clinic_app",
    "platform_role": "clinic_platform",
    "citus": false,
    "tables": [
      {"name": "public.clinics", "kind": "registry"},
      {"name": "public.patients", "subject_column": "id"},
      {"name": "public.appointments", "subject_column": "patient_id", "read_only": ["patient"]},
      {"name": "audit.events", "read_roles": ["owner"], "privileges": ["SELECT", "INSERT"]}
    ]
  }

Examples:

  tenancy rls generate --spec rls.json > migrations/0002_rls.sql
  tenancy rls generate --spec - < rls.json | psql --single-transaction "$OWNER_DSN"
`,
	}
	c.run = func(_ context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy rls generate", e)
		specPath := fs.String("spec", "", "the JSON spec `FILE`, or - for standard input (required)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *specPath == "" {
			return usageError("--spec is required")
		}
		var r io.Reader = e.stdin
		if *specPath != "-" {
			f, err := os.Open(*specPath)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		spec, err := rls.ParseSpec(r)
		if err != nil {
			return fmt.Errorf("%s: %w", *specPath, err)
		}
		sql, err := rls.Generate(spec.Config, spec.Tables...)
		if err != nil {
			return fmt.Errorf("%s: %w", *specPath, err)
		}
		_, err = io.WriteString(e.stdout, sql)
		return err
	}
	return c
}

func rlsCheckCommand() *command {
	c := &command{
		name:  "check",
		short: "Report the ways a live database could leak rows across tenants.",
		usage: `
Usage: tenancy rls check --dsn DSN [--tenant-column NAME] [--app-role NAME] [--schema NAME]
                         [--format text|json] [--allow-definer SCHEMA.FUNCTION]...

Reads the catalog of a live database and reports every way rows could cross
tenants: tables with the tenant column but without ENABLE or FORCE ROW LEVEL
SECURITY or a tenant policy, weak policies, helpers with the wrong volatility,
an app role that can bypass row-level security, keys and indexes without the
tenant column, shared sequences, SECURITY DEFINER functions, and views that
read tenant tables with their owner's rights. Each finding names the object
and the fix.

Any role may run it, the app role included; it only reads the catalog.
The DSN may also come from $DATABASE_URL, which keeps a password out of the
process list; pgx also reads ~/.pgpass and the PG* variables.

Exit status: 0 when there is no error-level finding (warnings are printed),
1 when there is one or the check cannot run, 2 on bad usage.

Examples:

  tenancy rls check --dsn postgres://clinic_app@db/clinic --app-role clinic_app
  tenancy rls check --dsn "$DSN" --app-role clinic_app --allow-definer auth.sign_in --format json
`,
	}
	c.run = func(ctx context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy rls check", e)
		dsn := fs.String("dsn", "", "the database `DSN` (default $DATABASE_URL)")
		var cfg rls.Config
		fs.StringVar(&cfg.TenantColumn, "tenant-column", rls.DefaultTenantColumn, "the tenant column `NAME`; tables with it are tenant tables")
		fs.StringVar(&cfg.AppRole, "app-role", rls.DefaultAppRole, "the application's login role `NAME`")
		fs.StringVar(&cfg.Schema, "schema", rls.DefaultSchema, "the `NAME` of the schema of the helper functions")
		format := fs.String("format", "text", "output `FORMAT`: text or json")
		var allow stringList
		fs.Var(&allow, "allow-definer", "a SECURITY DEFINER function to accept, as `SCHEMA.FUNCTION` (repeatable)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		cfg.AllowDefiner = allow
		if err := cfg.Validate(); err != nil {
			return usageError("%v", err)
		}
		if *format != "text" && *format != "json" {
			return usageError("--format must be text or json, not %q", *format)
		}
		if *dsn == "" {
			*dsn = e.getenv("DATABASE_URL")
		}
		if *dsn == "" {
			return usageError("--dsn (or $DATABASE_URL) is required")
		}
		conn, err := pgx.Connect(ctx, *dsn)
		if err != nil {
			return fmt.Errorf("connecting: %w", err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		findings, err := rls.Check(ctx, conn, cfg)
		if err != nil {
			return err
		}
		if *format == "json" {
			err = writeJSON(e.stdout, findings)
		} else {
			err = writeText(e.stdout, findings)
		}
		if err != nil {
			return err
		}
		if rls.HasErrors(findings) {
			return errFindings
		}
		return nil
	}
	return c
}

func writeJSON(w io.Writer, findings []rls.Finding) error {
	if findings == nil {
		findings = []rls.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Findings []rls.Finding `json:"findings"`
	}{findings})
}

func writeText(w io.Writer, findings []rls.Finding) error {
	var errs, warns int
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for _, f := range findings {
		if f.Severity == rls.SeverityError {
			errs++
		} else {
			warns++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\n", strings.ToUpper(f.Severity.String()), f.Code, f.ObjectKind, f.Object)
		fmt.Fprintf(tw, "\t\t%s\n\t\tfix: %s\n", f.Message, f.Fix)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d errors, %d warnings\n", errs, warns)
	return err
}
