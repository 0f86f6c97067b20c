package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
)

func auditCommand() *command {
	return &command{
		name:  "audit",
		short: "Verify the hash chains of the audit log; write and check signed checkpoints.",
		sub:   []*command{auditVerifyCommand(), auditCheckpointCommand(), auditKeygenCommand()},
	}
}

func auditVerifyCommand() *command {
	c := &command{
		name:  "verify",
		short: "Report the first edited, deleted, inserted or reordered audit event.",
		usage: `
Usage: tenancy audit verify --dsn DSN [--tenant ID [--key-type uuid|bigint|text]]
       tenancy audit verify --dsn DSN --checkpoint FILE --public-key FILE [--registry schema.table.column]

Reads the audit log in one snapshot, recomputes every event's hash and link,
and reports, per chain (the platform-wide chain and each tenant's), the number
of events and the head, or the first edited, deleted, inserted or reordered
event. With --tenant only that tenant's chain is verified; its key is read as
--key-type (the model's tenant_key, default uuid).

Connect as the platform role (or a superuser): through the app role row-level
security hides the events. The DSN may also come from $DATABASE_URL, which
keeps a password out of the process list; it is never printed.

Without a checkpoint, a chain rewritten wholesale by someone who can recompute
every hash still verifies, a truncated chain whose head was moved back too
verifies, and a chain deleted whole (events and head) is not listed at all.

With --checkpoint (a file written by "tenancy audit checkpoint") and
--public-key (its signer's PEM public key), it also proves the database
against the checkpoint: the signature is good; every chain extends its
checkpointed head (the event at the checkpointed seq still has the
checkpointed hash, so a truncated or rewritten tail fails); every tenant of
the checkpoint and of the registry (--registry, default the checkpoint's) has
a chain. Each difference is printed as MISMATCH.

Exit status: 0 when every chain verifies, 1 when one is broken or the check
cannot run, 2 on bad usage.

Examples:

  tenancy audit verify --dsn postgres://app_platform@db/app
  tenancy audit verify --dsn "$DSN" --tenant 0195f1c2-0000-7000-8000-00000000000a
  tenancy audit verify --dsn "$DSN" --tenant 42 --key-type bigint
  tenancy audit verify --dsn "$DSN" --checkpoint /witness/checkpoint-20250301T120000.000000Z.json \
      --public-key /witness/audit-key.pub
`,
	}
	c.run = func(ctx context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy audit verify", e)
		dsn := fs.String("dsn", "", "the database `DSN` (default $DATABASE_URL)")
		tenantFlag := fs.String("tenant", "", "verify only the chain of the tenant with this `ID`")
		keyFlag := fs.String("key-type", "uuid", "the `type` of tenant keys: uuid, bigint or text")
		cpFlag := fs.String("checkpoint", "", "verify the database against the checkpoint `FILE`")
		pubFlag := fs.String("public-key", "", "the checkpoint signer's PEM public key `FILE` (with --checkpoint)")
		regFlag := fs.String("registry", "", "the tenant registry as `schema.table.column` (with --checkpoint; default the checkpoint's)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *cpFlag != "" || *pubFlag != "" || *regFlag != "" {
			return verifyCheckpoint(ctx, e, *dsn, *cpFlag, *pubFlag, *regFlag, *tenantFlag)
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
		if _, werr := fmt.Fprint(e.stdout, unseenWithoutCheckpoint); werr != nil {
			return werr
		}
		if err != nil {
			return errFindings
		}
		return nil
	}
	return c
}

// unseenWithoutCheckpoint is what verify says it could not see when it
// ran without a checkpoint.
const unseenWithoutCheckpoint = `note: without --checkpoint this cannot see a tail truncated with its head moved
      back, a chain rewritten with every hash recomputed, or a chain deleted
      whole; verify against a signed checkpoint (tenancy audit checkpoint) for those
`

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

// verifyCheckpoint runs `tenancy audit verify --checkpoint`.
func verifyCheckpoint(ctx context.Context, e env, dsn, cpFile, pubFile, registry, tenant string) error {
	switch {
	case cpFile == "" || pubFile == "":
		return usageError("--checkpoint and --public-key go together")
	case tenant != "":
		return usageError("--tenant cannot be combined with --checkpoint: a checkpoint is verified against every chain")
	}
	if registry != "" {
		if _, err := audit.ParseRegistry(registry); err != nil {
			return usageError("--registry: %v", err)
		}
	}
	if dsn == "" {
		dsn = e.getenv("DATABASE_URL")
	}
	if dsn == "" {
		return usageError("--dsn (or $DATABASE_URL) is required")
	}
	cp, err := audit.ReadCheckpointFile(cpFile)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(pubFile)
	if err != nil {
		return fmt.Errorf("--public-key: %w", err)
	}
	pub, err := audit.ParsePublicKey(b)
	if err != nil {
		return fmt.Errorf("--public-key %s: %w", pubFile, err)
	}
	conn, err := connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rep, err := audit.VerifyCheckpoint(ctx, conn, cp, pub, audit.Config{TenantRegistry: registry})
	if err != nil && !errors.Is(err, audit.ErrBroken) && !errors.Is(err, audit.ErrCheckpointMismatch) && !errors.Is(err, audit.ErrBadSignature) {
		return err
	}
	if werr := writeCheckpointReport(e.stdout, cp, rep); werr != nil {
		return werr
	}
	if err != nil {
		return errFindings
	}
	return nil
}

func writeCheckpointReport(w io.Writer, cp audit.Checkpoint, rep audit.CheckpointReport) error {
	if len(rep.Chains) > 0 {
		if err := writeReports(w, rep.Chains); err != nil {
			return err
		}
	}
	for _, p := range rep.Problems {
		chain := "platform"
		if !p.Tenant.IsZero() {
			chain = "tenant " + p.Tenant.String()
		}
		if p.Kind == audit.BadSignature {
			chain = "checkpoint"
		}
		if _, err := fmt.Fprintf(w, "MISMATCH %s: %s\n         %v\n", chain, p.Kind, p); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "checkpoint of %s (key %s, %d tenants): %d mismatches\n",
		cp.Time.Format(time.RFC3339Nano), cp.KeyID, len(cp.Tenants), len(rep.Problems))
	return err
}

func auditCheckpointCommand() *command {
	c := &command{
		name:  "checkpoint",
		short: "Write a signed checkpoint of every chain's head to a directory.",
		usage: `
Usage: tenancy audit checkpoint --dsn DSN --key FILE --out DIR --registry schema.table.column [--key-type uuid|bigint|text]

Reads, in one snapshot, the head (seq and hash of the last event) of the
platform chain and of every tenant of the registry (the column of the table
that lists the application's tenants, such as public.clinics.id) and of every
tenant with a chain, signs them with the Ed25519 key in --key, and writes the
checkpoint to a new file of --out (mode 0600; an existing file is never
replaced). "tenancy audit verify --checkpoint FILE" later proves the
database against it.

The key file is a PEM "PRIVATE KEY" block of an Ed25519 PKCS#8 key (from
"tenancy audit keygen" or "openssl genpkey -algorithm ed25519"), readable by
its owner only. Keep the key and the checkpoints where the database's
administrators cannot write: whoever holds the key can sign a checkpoint of a
rewritten log, and whoever can replace the checkpoints can hide one.

Connect as the platform role, which must be able to read the registry. The
DSN may also come from $DATABASE_URL; it is never printed.

Exit status: 0 when the checkpoint was written, 1 when it could not be, 2 on
bad usage.

Example:

  tenancy audit checkpoint --dsn "$DSN" --key /secure/audit-key.pem \
      --out /witness/checkpoints --registry public.clinics.id
`,
	}
	c.run = func(ctx context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy audit checkpoint", e)
		dsn := fs.String("dsn", "", "the database `DSN` (default $DATABASE_URL)")
		keyFile := fs.String("key", "", "the signing key, a PEM PKCS#8 Ed25519 private key `FILE`")
		out := fs.String("out", "", "the `DIR`ectory to write the checkpoint to (made if missing)")
		regFlag := fs.String("registry", "", "the tenant registry as `schema.table.column`")
		keyFlag := fs.String("key-type", "uuid", "the `type` of tenant keys: uuid, bigint or text")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		keyType, err := tenancy.ParseKeyType(*keyFlag)
		if err != nil {
			return usageError("--key-type: %v", err)
		}
		switch {
		case *keyFile == "":
			return usageError("--key is required")
		case *out == "":
			return usageError("--out is required")
		case *regFlag == "":
			return usageError("--registry is required: the column that lists the tenants, such as public.clinics.id")
		}
		if _, err := audit.ParseRegistry(*regFlag); err != nil {
			return usageError("--registry: %v", err)
		}
		if *dsn == "" {
			*dsn = e.getenv("DATABASE_URL")
		}
		if *dsn == "" {
			return usageError("--dsn (or $DATABASE_URL) is required")
		}
		key, err := readPrivateKey("--key", *keyFile)
		if err != nil {
			return err
		}
		store, err := audit.NewDirStore(*out)
		if err != nil {
			return err
		}
		conn, err := connect(ctx, *dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		cp, err := audit.ReadCheckpoint(ctx, conn, audit.Config{TenantRegistry: *regFlag}, keyType)
		if err != nil {
			return err
		}
		if err := cp.Sign(key); err != nil {
			return err
		}
		if err := store.Put(ctx, cp); err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "wrote %s: platform head seq %d, %d tenants, key %s\n",
			store.Path(cp), cp.Platform.Seq, len(cp.Tenants), cp.KeyID)
		return err
	}
	return c
}

// readPrivateKey reads a signing key file that only its owner may read;
// errors name the flag it came from.
func readPrivateKey(flagName, path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s %s: mode %v lets others than its owner read or write it; chmod 600 it", flagName, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	key, err := audit.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	return key, nil
}

func auditKeygenCommand() *command {
	c := &command{
		name:  "keygen",
		short: "Make an Ed25519 key pair for signing checkpoints.",
		usage: `
Usage: tenancy audit keygen --out FILE

Writes a new Ed25519 private key to FILE (a PEM "PRIVATE KEY" block of
PKCS#8, mode 0600) and its public key to FILE.pub (a PEM "PUBLIC KEY" block
of PKIX, mode 0644), and prints the key id that checkpoints name. Existing
files are never replaced. The same formats as
"openssl genpkey -algorithm ed25519" and "openssl pkey -pubout".

Exit status: 0 when written, 1 when not, 2 on bad usage.
`,
	}
	c.run = func(ctx context.Context, args []string, e env) error {
		fs := newFlags(c, "tenancy audit keygen", e)
		out := fs.String("out", "", "the private key `FILE`; the public key goes to FILE.pub")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *out == "" {
			return usageError("--out is required")
		}
		pub, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		priv, err := audit.MarshalPrivateKey(key)
		if err != nil {
			return err
		}
		pubPEM, err := audit.MarshalPublicKey(pub)
		if err != nil {
			return err
		}
		if err := writeExclusive(*out, priv, 0o600); err != nil {
			return err
		}
		if err := writeExclusive(*out+".pub", pubPEM, 0o644); err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "wrote %s and %s.pub: key %s\n", *out, *out, audit.KeyID(pub))
		return err
	}
	return c
}

// writeExclusive writes a new file, never replacing one.
func writeExclusive(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
