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
	// match its fields. Nothing is written then. [ParseErasure] returns it
	// for an erasure record whose digest does not match its fields.
	ErrTampered = errors.New("tenantarchive: the archive or record does not match its digests")

	// ErrSignature is returned when a signature is required and missing,
	// made with another key, or does not cover the manifest.
	ErrSignature = errors.New("tenantarchive: bad signature")

	// ErrIncomplete is returned by [Export] and [Erase] when the model would miss some
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

var (
	// ErrRetention is returned by [Erase] when [EraseConfig.Retention] is
	// not a rule it knows ([RetainAuditChain]): what happens to the audit
	// chain must be declared.
	ErrRetention = errors.New("tenantarchive: erase needs a declared retention rule for the audit chain")

	// ErrUnerasable is returned by [Erase] when a tenant relation could
	// not be emptied in batches: before anything is deleted for no primary
	// key, a cycle of foreign keys between relations, no DELETE privilege
	// for the app role, or a model without the audit tables; and when rows
	// of a table reference each other in a cycle that no batch can break.
	ErrUnerasable = errors.New("tenantarchive: erase cannot empty every tenant relation")

	// ErrNotErased is returned by [Erase] when its census still finds
	// rows of the tenant after the last delete (something wrote for the
	// tenant meanwhile). Nothing is sealed then; run Erase again.
	ErrNotErased = errors.New("tenantarchive: rows of the tenant are left after the erasure")

	// ErrErased is returned by [Erase] for a tenant that the registry of
	// tenants no longer lists and whose chain holds an erasure.
	ErrErased = errors.New("tenantarchive: the tenant was erased already")

	// ErrUnknownTenant is returned by [Erase] for a tenant that the
	// registry of tenants does not list and that was never erased.
	ErrUnknownTenant = errors.New("tenantarchive: the registry of tenants does not list the tenant")

	// ErrErasure is returned by [ParseErasure] and [VerifyErasure] for a
	// malformed erasure record.
	ErrErasure = errors.New("tenantarchive: malformed erasure record")
)
