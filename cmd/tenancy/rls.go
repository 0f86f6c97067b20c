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
		sub:   []*command{rlsGenerateCommand(), rlsRolesCommand(), rlsCheckCommand()},
	}
}

func rlsGenerateCommand() *command {
	c := &command{
		name:  "generate",
		short: "Print the migration SQL for a JSON spec of tenant tables.",
		usage: `
Usage: tenancy rls generate --spec FILE [--citus]

Prints the migration SQL that isolates tenants in the tables of a JSON spec:
helper functions, grants, ENABLE and FORCE ROW LEVEL SECURITY and the
policies. Run the output as the owner role, in one transaction; running it
again is harmless. The roles and tables must already exist. With "citus":
true in the spec, the output ends with the Citus section.

With --citus it prints only the Citus section, for a migration of its own
run on the Citus coordinator after the row-level security one: the database's
citus.propagate_set_commands = 'local', create_reference_table for every
registry, and create_distributed_table on its tenant column for every tenant
table, co-located with the spec's first tenant table. Private tables stay
local. See docs/scaling.md: Citus is checked on paper only.

A spec (unknown fields are errors; omitted names take the defaults):

  {
    "schema": "tenancy",
    "tenant_column": "org_id",
    "tenant_key": "bigint",
    "subject_key": "bigint",
    "owner_role": "tracker_owner",
    "app_role": "tracker_app",
    "platform_role": "tracker_platform",
    "citus": false,
    "kinds": [
      {"name": "member", "access": "tenant"},
      {"name": "guest", "access": "subject"},
      {"name": "support", "access": "operator"}
    ],
    "tables": [
      {"name": "public.plans", "kind": "registry"},
      {"name": "public.members", "subject_column": "id"},
      {"name": "public.tasks", "subject_column": "member_id", "read_only": ["guest"]},
      {"name": "audit.events", "read_roles": ["owner"], "privileges": ["SELECT", "INSERT"]}
    ]
  }

Examples:

  tenancy rls generate --spec rls.json > migrations/0002_rls.sql
  tenancy rls generate --spec - < rls.json | psql --single-transaction "$OWNER_DSN"
  tenancy rls generate --spec rls.json --citus > migrations/0003_citus.sql
`,
	}
	c.run = func(_ context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy rls generate", e)
		specPath := fs.String("spec", "", "the JSON spec `FILE`, or - for standard input (required)")
		citus := fs.Bool("citus", false, "print only the Citus section: reference and distributed tables")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *specPath == "" {
			return usageError("--spec is required")
		}
		if *citus {
			return printSQL(*specPath, e, (*rls.Model).GenerateCitus)
		}
		return printSQL(*specPath, e, (*rls.Model).Generate)
	}
	return c
}

// printSQL reads the spec at specPath, builds its model, and prints the
// SQL that sql makes of it.
func printSQL(specPath string, e env, sql func(*rls.Model) (string, error)) error {
	spec, err := readSpec(specPath, e)
	if err != nil {
		return err
	}
	m, err := spec.Model()
	if err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	out, err := sql(m)
	if err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	_, err = io.WriteString(e.stdout, out)
	return err
}

func rlsRolesCommand() *command {
	c := &command{
		name:  "roles",
		short: "Print the SQL that makes the spec's four roles, for a cluster administrator.",
		usage: `
Usage: tenancy rls roles --spec FILE --database NAME

Prints the SQL that makes the owner, app, platform and audit roles of a JSON spec
(the same spec as "rls generate") with the attributes isolation needs, and
lets only them connect to the database. Run it once per cluster as a
superuser (roles are cluster-wide, creating them needs CREATEROLE, and
BYPASSRLS needs a superuser), not in the application's migrations.
Re-running it is harmless. It sets no password.

  the app role       LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION,
                     CONNECT only: row-level security binds it
  the platform role  the same
  the owner role     LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION, owns the
                     database; BYPASSRLS only when the spec has pre_auth functions,
                     which run as it before any tenant is known
  the audit role     NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION,
                     a member of no other role and none of them of it: it owns the
                     audit log, installed by an administrator who can SET ROLE to it

Example:

  tenancy rls roles --spec rls.json --database app | psql "$SUPERUSER_DSN"
`,
	}
	c.run = func(_ context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy rls roles", e)
		specPath := fs.String("spec", "", "the JSON spec `FILE`, or - for standard input (required)")
		database := fs.String("database", "", "the database `NAME` the roles connect to (required)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *specPath == "" || *database == "" {
			return usageError("--spec and --database are required")
		}
		return printSQL(*specPath, e, func(m *rls.Model) (string, error) { return m.RolesSQL(*database) })
	}
	return c
}

func rlsCheckCommand() *command {
	c := &command{
		name:  "check",
		short: "Report the ways a live database could leak rows across tenants.",
		usage: `
Usage: tenancy rls check --spec FILE --dsn DSN [--app-role NAME] [--schema NAME]
                         [--tenant-column NAME] [--format text|json]
                         [--allow-definer SCHEMA.FUNCTION]...
                         [--allow-cross-tenant SCHEMA.TABLE.POLICY]... [--citus]

Reads the catalog of a live database and reports, against the isolation model
of a JSON spec (the one "rls generate" reads), every way rows could cross
tenants. Every relation the app role can reach must be in the model: a tenant
table (with its own tenant column), a registry or a private table; the others
are reported (unknown-relation), and so are model tables missing from the
database or missing their tenant column. Tenant tables (partitions and
inheritance children included) are checked for ENABLE and FORCE ROW LEVEL
SECURITY and a tenant policy; then weak policies or permissive ones for roles
the tenant policy does not bind, helpers and policy functions with the wrong
volatility or SECURITY DEFINER, an app role that can bypass row-level
security, create roles, replicate, is in a predefined role such as
pg_execute_server_program, owns objects or may create them, default
privileges that open new tables, keys, indexes and exclusion constraints
without the tenant column, shared sequences, SECURITY DEFINER functions,
views that read tenant tables with their owner's rights, rewrite rules and
SECURITY DEFINER triggers, grants to PUBLIC, built-in functions granted beyond
PostgreSQL's defaults, and readable large objects. Each finding names the
object and the fix. The check needs the spec: without it, it could only guess
tenant tables by a column name, which misses tables whose column is named
otherwise.

The flags --app-role, --schema and --tenant-column override the spec's
app_role, schema and tenant_column (the tenant column of tables that do not
name their own); --allow-definer and --allow-cross-tenant add to its
allow_definer and allow_cross_tenant. Deliberate exceptions are accepted by
name: --allow-definer for a narrow SECURITY DEFINER function (the spec's
pre_auth functions count as allowed), --allow-cross-tenant for a permissive
policy meant to give a role other than the app role rows of every tenant.
Names are unquoted, as in the catalog. A listed policy is exempt from
policy-unbound-role only; unlisted ones, on the same table too, are still
reported. The audit schema's policies of that kind are:

  audit.chain_heads.audit_platform      audit.events.audit_platform
  audit.impersonation_grants.audit_platform

With --citus (or "citus": true in the spec) it also reports what Citus would
refuse when the tables are distributed, or would route badly: citus-* codes,
and Citus's reasons in the findings it shares with plain PostgreSQL. It reads
only PostgreSQL's catalog, so it runs before Citus is installed.

Any role may run it, the app role included; it only reads the catalog.
The DSN may also come from $DATABASE_URL, which keeps a password out of the
process list; pgx also reads ~/.pgpass and the PG* variables.

Exit status: 0 when there is no error-level finding (warnings are printed),
1 when there is one or the check cannot run, 2 on bad usage.

Examples:

  tenancy rls check --spec rls.json --dsn postgres://tracker_app@db/tracker
  tenancy rls check --spec rls.json --dsn "$DSN" --app-role tracker_app --allow-definer auth.sign_in --format json
  tenancy rls check --spec rls.json --dsn "$DSN" \
      --allow-cross-tenant audit.events.audit_platform \
      --allow-cross-tenant audit.chain_heads.audit_platform --allow-cross-tenant audit.impersonation_grants.audit_platform
`,
	}
	c.run = func(ctx context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy rls check", e)
		dsn := fs.String("dsn", "", "the database `DSN` (default $DATABASE_URL)")
		specPath := fs.String("spec", "", "the JSON spec `FILE` of the isolation model, or - for standard input (required)")
		var over rls.Config
		fs.StringVar(&over.TenantColumn, "tenant-column", "", "the tenant column `NAME` of tables that name none (default the spec's, else "+rls.DefaultTenantColumn+")")
		fs.StringVar(&over.AppRole, "app-role", "", "the application's login role `NAME` (default the spec's, else "+rls.DefaultAppRole+")")
		fs.StringVar(&over.Schema, "schema", "", "the `NAME` of the schema of the helper functions (default the spec's, else "+rls.DefaultSchema+")")
		format := fs.String("format", "text", "output `FORMAT`: text or json")
		var allow stringList
		fs.Var(&allow, "allow-definer", "a SECURITY DEFINER function to accept, as `SCHEMA.FUNCTION` (repeatable)")
		var crossTenant stringList
		fs.Var(&crossTenant, "allow-cross-tenant", "a permissive policy meant to cross tenants, as `SCHEMA.TABLE.POLICY` (repeatable)")
		citus := fs.Bool("citus", false, "also report what Citus would refuse or route badly")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *format != "text" && *format != "json" {
			return usageError("--format must be text or json, not %q", *format)
		}
		if *specPath == "" {
			return usageError("--spec is required: the check reads the isolation model (the JSON spec of \"rls generate\") to know every tenant table, registry and private table")
		}
		if *dsn == "" {
			*dsn = e.getenv("DATABASE_URL")
		}
		if *dsn == "" {
			return usageError("--dsn (or $DATABASE_URL) is required")
		}
		spec, err := readSpec(*specPath, e)
		if err != nil {
			return err
		}
		for _, f := range []struct{ over, spec *string }{
			{&over.TenantColumn, &spec.TenantColumn}, {&over.AppRole, &spec.AppRole}, {&over.Schema, &spec.Schema},
		} {
			if *f.over != "" {
				*f.spec = *f.over
			}
		}
		spec.AllowDefiner = append(spec.AllowDefiner, allow...)
		spec.AllowCrossTenant = append(spec.AllowCrossTenant, crossTenant...)
		spec.Citus = spec.Citus || *citus
		model, err := spec.Model()
		if err != nil {
			return usageError("%s: %v", *specPath, err)
		}
		conn, err := connect(ctx, *dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		findings, err := rls.Check(ctx, conn, model)
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

// readSpec reads the JSON spec at path, or standard input for "-".
func readSpec(path string, e env) (rls.Spec, error) {
	var r io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return rls.Spec{}, err
		}
		defer f.Close()
		r = f
	}
	spec, err := rls.ParseSpec(r)
	if err != nil {
		return rls.Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return spec, nil
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
