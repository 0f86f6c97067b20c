package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantarchive"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// envPlatformURL is the environment variable of the platform role's DSN.
const envPlatformURL = "PLATFORM_DATABASE_URL"

func tenantCommand() *command {
	return &command{
		name:  "tenant",
		short: "Export, import and erase one tenant, each with its proof.",
		sub:   []*command{tenantExportCommand(), tenantImportCommand(), tenantEraseCommand(), tenantVerifyCommand()},
	}
}

// tenantFlags are the flags that export and erase share: the model, the
// two roles' DSNs, the tenant and the reason.
type tenantFlags struct {
	spec, dsn, platformDSN, tenant, reason, sign *string
}

func addTenantFlags(fs *flag.FlagSet) tenantFlags {
	return tenantFlags{
		spec:        fs.String("spec", "", "the JSON spec `FILE` of the isolation model (the one \"rls generate\" reads), or - for standard input (required)"),
		dsn:         fs.String("dsn", "", "the app role's database `DSN` (default $DATABASE_URL)"),
		platformDSN: fs.String("platform-dsn", "", "the platform role's database `DSN` (default $"+envPlatformURL+")"),
		tenant:      fs.String("tenant", "", "the tenant's `ID`, of the model's tenant key type (required)"),
		reason:      fs.String("reason", "", "why, in words an auditor can read; recorded in the tenant's audit chain (required)"),
		sign:        fs.String("sign", "", "sign with the Ed25519 private key `FILE` (tenancy audit keygen; mode 0600)"),
	}
}

// open checks the flags and opens the tenantdb pool of the app role with
// the platform role's system pool and the audit recorder. close releases
// both.
func (f tenantFlags) open(ctx context.Context, e env) (db *tenantdb.Pool, tenant tenancy.ID, key ed25519.PrivateKey, closeAll func(), err error) {
	switch {
	case *f.spec == "":
		return nil, tenancy.ID{}, nil, nil, usageError("--spec is required: the isolation model says which relations hold the tenant's rows")
	case *f.tenant == "":
		return nil, tenancy.ID{}, nil, nil, usageError("--tenant is required")
	case tenantdb.CheckReason(*f.reason) != nil:
		return nil, tenancy.ID{}, nil, nil, usageError("--reason is required")
	}
	if *f.dsn == "" {
		*f.dsn = e.getenv("DATABASE_URL")
	}
	if *f.platformDSN == "" {
		*f.platformDSN = e.getenv(envPlatformURL)
	}
	if *f.dsn == "" || *f.platformDSN == "" {
		return nil, tenancy.ID{}, nil, nil, usageError("--dsn (or $DATABASE_URL) and --platform-dsn (or $%s) are required", envPlatformURL)
	}
	m, err := readModel(*f.spec, e)
	if err != nil {
		return nil, tenancy.ID{}, nil, nil, err
	}
	if tenant, err = m.TenantKey().Parse(*f.tenant); err != nil {
		return nil, tenancy.ID{}, nil, nil, usageError("--tenant: %v", err)
	}
	if *f.sign != "" {
		if key, err = readPrivateKey("--sign", *f.sign); err != nil {
			return nil, tenancy.ID{}, nil, nil, err
		}
	}
	app, err := connectPool(ctx, *f.dsn, "--dsn")
	if err != nil {
		return nil, tenancy.ID{}, nil, nil, err
	}
	platform, err := connectPool(ctx, *f.platformDSN, "--platform-dsn")
	if err != nil {
		app.Close()
		return nil, tenancy.ID{}, nil, nil, err
	}
	closeAll = func() { app.Close(); platform.Close() }
	db, err = tenantdb.New(ctx, app, tenantdb.Config{Model: m, System: platform, OnSystem: audit.OnSystem})
	if err != nil {
		closeAll()
		return nil, tenancy.ID{}, nil, nil, err
	}
	return db, tenant, key, closeAll, nil
}

// readModel reads the spec at path and builds its model.
func readModel(path string, e env) (*rls.Model, error) {
	spec, err := readSpec(path, e)
	if err != nil {
		return nil, err
	}
	m, err := spec.Model()
	if err != nil {
		return nil, usageError("%s: %v", path, err)
	}
	return m, nil
}

// connectPool opens a pool on dsn. As with connect, its errors never hold
// the DSN's text.
func connectPool(ctx context.Context, dsn, flagName string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		var pe *pgconn.ParseConfigError
		reason := "malformed"
		if errors.As(err, &pe) {
			msg := pe.Error()
			if i := strings.LastIndex(msg, "`: "); i >= 0 && !strings.Contains(dsn, msg[i+3:]) && !containsAnyField(msg[i+3:], dsn) {
				reason = msg[i+3:]
			}
		}
		return nil, fmt.Errorf("connecting (%s): cannot parse the DSN (not shown, as it may hold a password): %s", flagName, reason)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = pool.Ping(ctx)
		if err != nil {
			pool.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("connecting (%s): %w", flagName, err)
	}
	return pool, nil
}

// isTerminal reports whether w is a terminal, where progress is shown.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func tenantExportCommand() *command {
	c := &command{
		name:  "export",
		short: "Write one tenant's rows into a verifiable archive, from one snapshot.",
		usage: `
Usage: tenancy tenant export --spec FILE --tenant ID --reason TEXT --out DIR
                             [--dsn DSN] [--platform-dsn DSN] [--sign KEYFILE]
                             [--schema-version V]

Writes every row of the tenant, from every tenant relation of the isolation
model of the JSON spec (the one "rls generate" reads), and the registry rows
they reference, into the archive directory DIR (created, or empty), from one
snapshot: one CSV file per relation and manifest.json with per-file row
counts and SHA-256, the tenant's audit chain head, and a digest; signed with
--sign (an Ed25519 key of "tenancy audit keygen"). It refuses, before reading
a row, when the catalog holds tenant data the model does not reach.

The use is recorded, with --reason, in the tenant's audit chain. Tenant
tables are read as the app role (--dsn, or $DATABASE_URL), under row-level
security; the audit log and the catalog as the platform role (--platform-dsn,
or $PLATFORM_DATABASE_URL). The DSNs are never printed. Progress goes to
standard error when it is a terminal.

Exit status: 0 when written, 1 when not, 2 on bad usage.

Example:

  tenancy tenant export --spec rls.json --tenant 0195f1c2-0000-7000-8000-00000000000a \
      --reason "the clinic asked for its records (ticket 1234)" --out /exports/clinic-a \
      --sign /secure/export-key.pem
`,
	}
	c.run = func(ctx context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy tenant export", e)
		tf := addTenantFlags(fs)
		out := fs.String("out", "", "the archive's `DIR`: new or empty (required)")
		version := fs.String("schema-version", "", "the schema's `VERSION` (say goose's latest), written to the manifest")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *out == "" {
			return usageError("--out is required")
		}
		db, tenant, key, closeAll, err := tf.open(ctx, e)
		if err != nil {
			return err
		}
		defer closeAll()
		cfg := tenantarchive.ExportConfig{Reason: *tf.reason, SchemaVersion: *version, SigningKey: key}
		if isTerminal(e.stderr) {
			cfg.Progress = func(p tenantarchive.Progress) {
				fmt.Fprintf(e.stderr, "\r[%d/%d] %s: %d MiB", p.Index, p.Tables, p.Table, p.Bytes>>20)
				if p.Done {
					fmt.Fprintf(e.stderr, ", %d rows\n", p.Rows)
				}
			}
		}
		man, err := tenantarchive.Export(ctx, db, tenant, *out, cfg)
		if err != nil {
			return err
		}
		var rows int64
		for _, t := range man.Tables {
			rows += t.Rows
		}
		signed := "unsigned"
		if man.KeyID != "" {
			signed = "signed by key " + man.KeyID
		}
		_, err = fmt.Fprintf(e.stdout, "wrote %s: tenant %s, %d files, %d rows, digest %s, %s\n", *out, man.Tenant, len(man.Tables), rows, man.Digest, signed)
		return err
	}
	return c
}

func tenantImportCommand() *command {
	c := &command{
		name:  "import",
		short: "Load a tenant's archive into a database with the same migrations.",
		usage: `
Usage: tenancy tenant import --spec FILE --in DIR [--dsn DSN] [--verify PUBKEY]
                             [--schema-version V]

Verifies the archive in DIR (the manifest's digest, every file's size,
SHA-256, header and row count, the signature with --verify, the key type,
--schema-version, and that it fits the isolation model of the JSON spec)
before writing anything, then loads it in one transaction: all of it or
nothing. A tenant that exists in the target is refused. Every row is written
as the role the model gives it (tenant rows as the app role under row-level
security, the registry row and the audit log as the platform role), and the
audit chain is verified again before the commit.

--dsn (or $DATABASE_URL) is an administrator's DSN that can SET ROLE to the
app and platform roles (a member of both, or a superuser); it is never
printed. A signed archive needs --verify (the signer's PEM public key).

Exit status: 0 when imported, 1 when refused or failed, 2 on bad usage.

Example:

  tenancy tenant import --spec rls.json --in /exports/clinic-a --verify /secure/export-key.pem.pub
`,
	}
	c.run = func(ctx context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy tenant import", e)
		specPath := fs.String("spec", "", "the JSON spec `FILE` of the target's isolation model, or - for standard input (required)")
		dsn := fs.String("dsn", "", "the administrator's database `DSN` (default $DATABASE_URL)")
		in := fs.String("in", "", "the archive's `DIR` (required)")
		verify := fs.String("verify", "", "require a signature by the PEM public key `FILE`")
		version := fs.String("schema-version", "", "the target schema's `VERSION`, which the archive's must equal")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *specPath == "" || *in == "" {
			return usageError("--spec and --in are required")
		}
		if *dsn == "" {
			*dsn = e.getenv("DATABASE_URL")
		}
		if *dsn == "" {
			return usageError("--dsn (or $DATABASE_URL) is required")
		}
		m, err := readModel(*specPath, e)
		if err != nil {
			return err
		}
		cfg := tenantarchive.ImportConfig{SchemaVersion: *version}
		if *verify != "" {
			b, err := os.ReadFile(*verify)
			if err != nil {
				return fmt.Errorf("--verify: %w", err)
			}
			if cfg.PublicKey, err = audit.ParsePublicKey(b); err != nil {
				return fmt.Errorf("--verify %s: %w", *verify, err)
			}
		}
		if isTerminal(e.stderr) {
			cfg.Progress = func(p tenantarchive.Progress) {
				fmt.Fprintf(e.stderr, "[%d/%d] %s: %d rows\n", p.Index, p.Tables, p.Table, p.Rows)
			}
		}
		conn, err := connect(ctx, *dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		man, err := tenantarchive.Import(ctx, conn, m, *in, cfg)
		if err != nil {
			return err
		}
		var rows int64
		for _, t := range man.Tables {
			rows += t.Rows
		}
		_, err = fmt.Fprintf(e.stdout, "imported tenant %s: %d files, %d rows, digest %s\n", man.Tenant, len(man.Tables), rows, man.Digest)
		return err
	}
	return c
}

func tenantEraseCommand() *command {
	c := &command{
		name:  "erase",
		short: "Delete all of one tenant's rows, in batches, and write the proof.",
		usage: `
Usage: tenancy tenant erase --spec FILE --tenant ID --reason TEXT --retention keep-audit-chain
                            [--dsn DSN] [--platform-dsn DSN] [--batch N] [--sign KEYFILE]
                            [--out FILE]

Deletes every row of the tenant from every tenant relation of the isolation
model of the JSON spec, children before parents, in transactions of at most
--batch rows (default 1000), each as the app role (--dsn, or $DATABASE_URL)
under row-level security with the tenant's context, each recorded in the
tenant's audit chain. Killed, run it again: it continues, and counts every
run. Then it counts the tenant's rows in every tenant relation in one
snapshot (none may be left), and, as the platform role (--platform-dsn, or
$PLATFORM_DATABASE_URL), appends the erasure's last event to the tenant's
chain and removes the tenant's row of the registry of tenants.

--retention must be declared: keep-audit-chain, the only rule, keeps the
audit log (ids and stated reasons, no tenant data) and seals it with the
erasure's event, which carries the record's digest.

The erasure record (JSON: every tenant relation with its rows deleted and
remaining, the chain's head, the digest, and a signature with --sign) goes to
--out (a new file, mode 0600) or standard output: keep it. It refuses, before
deleting anything, when the catalog holds tenant data the model does not
reach or a tenant relation cannot be emptied. Progress goes to standard error
when it is a terminal. The DSNs are never printed.

Exit status: 0 when erased, 1 when refused or failed, 2 on bad usage.

Example:

  tenancy tenant erase --spec rls.json --tenant 0195f1c2-0000-7000-8000-00000000000a \
      --reason "the clinic left the platform (ticket 1240)" --retention keep-audit-chain \
      --sign /secure/erasure-key.pem --out /records/clinic-a-erasure.json
`,
	}
	c.run = func(ctx context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy tenant erase", e)
		tf := addTenantFlags(fs)
		retention := fs.String("retention", "", "the audit chain's `RULE`: keep-audit-chain (required)")
		batch := fs.Int("batch", tenantarchive.DefaultBatchSize, "rows per delete transaction, `N` from 1 to 100000")
		out := fs.String("out", "", "write the erasure record to the new `FILE` (default standard output)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if tenantarchive.Retention(*retention) != tenantarchive.RetainAuditChain {
			return usageError("--retention %s is required: the audit chain is kept and sealed, never deleted silently", tenantarchive.RetainAuditChain)
		}
		if *batch < 1 || *batch > tenantarchive.MaxBatchSize {
			return usageError("--batch must be 1 to %d", tenantarchive.MaxBatchSize)
		}
		db, tenant, key, closeAll, err := tf.open(ctx, e)
		if err != nil {
			return err
		}
		defer closeAll()
		cfg := tenantarchive.EraseConfig{Reason: *tf.reason, Retention: tenantarchive.RetainAuditChain, BatchSize: *batch, SigningKey: key}
		if isTerminal(e.stderr) {
			cfg.Progress = func(p tenantarchive.EraseProgress) {
				fmt.Fprintf(e.stderr, "\r[%d/%d] %s: %d rows deleted", p.Index, p.Tables, p.Table, p.Deleted)
				if p.Done {
					fmt.Fprintln(e.stderr)
				}
			}
		}
		rec, err := tenantarchive.Erase(ctx, db, tenant, cfg)
		if err != nil {
			return err
		}
		b, err := rec.Marshal()
		if err != nil {
			return err
		}
		if *out == "" {
			_, err = e.stdout.Write(b)
			return err
		}
		if err := writeExclusive(*out, b, 0o600); err != nil {
			// The erasure is done and sealed; the record is in the chain by
			// its digest. Print it, so that it is not lost.
			_, _ = e.stdout.Write(b)
			return fmt.Errorf("--out: %w (the record was printed instead)", err)
		}
		_, err = fmt.Fprintf(e.stdout, "erased tenant %s: wrote %s, digest %s, audit head seq %d\n", rec.Tenant, *out, rec.Digest, rec.AuditHead.Seq)
		return err
	}
	return c
}

func tenantVerifyCommand() *command {
	c := &command{
		name:  "verify",
		short: "Check an erasure record against its signature and the tenant's audit chain.",
		usage: `
Usage: tenancy tenant verify --record FILE [--public-key FILE] [--dsn DSN]

Checks an erasure record written by "tenancy tenant erase": its form and
digest; its signature, with --public-key (the signer's PEM public key; a
signed record needs it); and, through the platform role (--dsn, or
$PLATFORM_DATABASE_URL), the tenant's audit chain: it verifies, it still ends
at the record's head (nothing was written for the tenant since it was erased),
and that head is the erasure's event carrying the record's digest. The DSN is
never printed.

Exit status: 0 when the record holds, 1 when it does not or the check cannot
run, 2 on bad usage.

Example:

  tenancy tenant verify --record /records/clinic-a-erasure.json --public-key /secure/erasure-key.pem.pub
`,
	}
	c.run = func(ctx context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy tenant verify", e)
		record := fs.String("record", "", "the erasure record `FILE` (required)")
		pubFile := fs.String("public-key", "", "the signer's PEM public key `FILE`")
		dsn := fs.String("dsn", "", "the platform role's database `DSN` (default $"+envPlatformURL+")")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *record == "" {
			return usageError("--record is required")
		}
		if *dsn == "" {
			*dsn = e.getenv(envPlatformURL)
		}
		if *dsn == "" {
			return usageError("--dsn (or $%s) is required", envPlatformURL)
		}
		b, err := os.ReadFile(*record)
		if err != nil {
			return fmt.Errorf("--record: %w", err)
		}
		rec, err := tenantarchive.ParseErasure(b)
		if err != nil {
			return err
		}
		switch {
		case *pubFile != "":
			pb, err := os.ReadFile(*pubFile)
			if err != nil {
				return fmt.Errorf("--public-key: %w", err)
			}
			pub, err := audit.ParsePublicKey(pb)
			if err != nil {
				return fmt.Errorf("--public-key %s: %w", *pubFile, err)
			}
			if err := rec.Verify(pub); err != nil {
				return err
			}
		case rec.Signature != "":
			return usageError("the record is signed: --public-key is required to check it")
		}
		pool, err := connectPool(ctx, *dsn, "--dsn")
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := tenantarchive.VerifyErasure(ctx, pool, rec); err != nil {
			return err
		}
		signed := "unsigned"
		if rec.KeyID != "" {
			signed = "signed by key " + rec.KeyID
		}
		_, err = fmt.Fprintf(e.stdout, "erasure of tenant %s holds: %d relations, digest %s, audit head seq %d, %s\n",
			rec.Tenant, len(rec.Relations), rec.Digest, rec.AuditHead.Seq, signed)
		return err
	}
	return c
}
