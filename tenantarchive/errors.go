package tenantarchive

import "errors"

var (
	// ErrManifest is returned when an archive's manifest is missing or
	// malformed: not JSON of the format, another version, unknown or
	// missing fields.
	ErrManifest = errors.New("tenantarchive: malformed manifest")

	// ErrTampered is returned by [Import] and [VerifyFiles] when the files
	// do not match the manifest: a file missing, added, of another size,
	// SHA-256, row count or header, or a manifest whose digest does not
	// match its fields. Nothing is written then.
	ErrTampered = errors.New("tenantarchive: the archive does not match its manifest")

	// ErrSignature is returned when a signature is required and missing,
	// made with another key, or does not cover the manifest.
	ErrSignature = errors.New("tenantarchive: bad signature")

	// ErrIncomplete is returned by [Export] when the model would miss some
	// of the tenant's data: rls.CheckExport findings, or a tenant relation
	// with a foreign key to a relation that is neither a tenant relation
	// nor a registry of the model.
	ErrIncomplete = errors.New("tenantarchive: the model does not reach all of the tenant's data")

	// ErrExists is returned by [Export] when the archive's directory
	// exists and is not empty.
	ErrExists = errors.New("tenantarchive: the archive's directory is not empty")

	// ErrTenantExists is returned by [Import] when the target database
	// already holds the tenant: its row in the registry of tenants, its
	// audit chain, or any row of a tenant relation.
	ErrTenantExists = errors.New("tenantarchive: the tenant already exists in the target database")

	// ErrSchema is returned by [Import] when the archive does not fit the
	// target: another key type or schema version, a table the target's
	// model lacks or classifies otherwise, a tenant relation of the model
	// that the archive lacks, other columns, or tables whose foreign keys
	// form a cycle.
	ErrSchema = errors.New("tenantarchive: the archive does not fit the target schema")

	// ErrRegistryRow is returned by [Import] when a registry row that the
	// tenant's rows reference is missing from the target database (only the
	// tenant's own row of the registry of tenants is imported).
	ErrRegistryRow = errors.New("tenantarchive: a registry row the tenant references is missing")

	// ErrChain is returned by [Import] when the imported audit chain does
	// not verify (audit.Verify) or its head is not the manifest's.
	ErrChain = errors.New("tenantarchive: the imported audit chain does not verify")
)
