package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
                         [--allow-cross-tenant SCHEMA.TABLE.POLICY]...

Reads the catalog of a live database and reports every way rows could cross
tenants: tables (partitions and inheritance children included) with the
tenant column but without ENABLE or FORCE ROW LEVEL SECURITY or a tenant
policy, weak policies or permissive ones for roles the tenant policy does not
bind, helpers and policy functions with the wrong volatility or SECURITY
DEFINER, an app role that can bypass row-level security, owns objects or may
create them, default privileges that open new tables, keys and indexes
without the tenant column, shared sequences, SECURITY DEFINER functions, and
views that read tenant tables with their owner's rights. Each finding names
the object and the fix.

Deliberate exceptions are accepted by name, one flag each: --allow-definer
for the narrow SECURITY DEFINER sign-in lookup, --allow-cross-tenant for a
permissive policy meant to give a role other than the app role rows of every
tenant. Names are unquoted, as in the catalog. A listed policy is exempt from
policy-unbound-role only; unlisted ones, on the same table too, are still
reported. The audit schema's policies of that kind are:

  audit.chain_heads.audit_platform      audit.events.audit_platform
  audit.events.audit_owner_system       audit.impersonation_grants.audit_platform

Any role may run it, the app role included; it only reads the catalog.
The DSN may also come from $DATABASE_URL, which keeps a password out of the
process list; pgx also reads ~/.pgpass and the PG* variables.

Exit status: 0 when there is no error-level finding (warnings are printed),
1 when there is one or the check cannot run, 2 on bad usage.

Examples:

  tenancy rls check --dsn postgres://clinic_app@db/clinic --app-role clinic_app
  tenancy rls check --dsn "$DSN" --app-role clinic_app --allow-definer auth.sign_in --format json
  tenancy rls check --dsn "$DSN" --app-role clinic_app \
      --allow-cross-tenant audit.events.audit_platform --allow-cross-tenant audit.events.audit_owner_system \
      --allow-cross-tenant audit.chain_heads.audit_platform --allow-cross-tenant audit.impersonation_grants.audit_platform
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
		var crossTenant stringList
		fs.Var(&crossTenant, "allow-cross-tenant", "a permissive policy meant to cross tenants, as `SCHEMA.TABLE.POLICY` (repeatable)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		cfg.AllowDefiner = allow
		cfg.AllowCrossTenant = crossTenant
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
		conn, err := connect(ctx, *dsn)
		if err != nil {
			return err
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

// connect connects to dsn. Its errors never hold the DSN's text: pgx masks
// the passwords it recognizes in a DSN it cannot parse, but only on a
// best-effort basis ("password = x" or a stray quote defeats it), so a
// parse error is reported by its reason alone.
func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		reason := "malformed"
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) {
			// Error is "cannot parse `<DSN>`: <reason>"; the reason is
			// pgx's own text. Keep it only if it does not echo the DSN.
			msg := pe.Error()
			if i := strings.LastIndex(msg, "`: "); i >= 0 && !strings.Contains(dsn, msg[i+3:]) && !containsAnyField(msg[i+3:], dsn) {
				reason = msg[i+3:]
			}
		}
		return nil, fmt.Errorf("connecting: cannot parse the DSN (not shown, as it may hold a password): %s", reason)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		// A ConnectError names the user and database, never the password.
		return nil, fmt.Errorf("connecting: %w", err)
	}
	return conn, nil
}

// containsAnyField reports whether s contains one of the fields of dsn
// (split at spaces, quotes and URL punctuation) that is longer than three
// bytes and not a connection parameter's name, such as a password.
func containsAnyField(s, dsn string) bool {
	fields := strings.FieldsFunc(dsn, func(r rune) bool { return strings.ContainsRune(" \t\n'\"=@:/?&\\,", r) })
	for _, f := range fields {
		if len(f) > 3 && !dsnKeywords[strings.ToLower(f)] && strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// dsnKeywords are names in DSNs that pgx's parse errors may repeat.
var dsnKeywords = map[string]bool{
	"postgres": true, "postgresql": true, "host": true, "hostaddr": true, "port": true, "dbname": true,
	"user": true, "password": true, "passfile": true, "service": true, "servicefile": true,
	"connect_timeout": true, "sslmode": true, "sslkey": true, "sslcert": true, "sslrootcert": true,
	"sslpassword": true, "sslsni": true, "sslnegotiation": true, "target_session_attrs": true,
	"application_name": true, "options": true, "search_path": true, "min_read_buffer_size": true,
}
