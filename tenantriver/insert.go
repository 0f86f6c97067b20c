package tenantriver

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/internal/tenanttx"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Insert enqueues one job in tx, the caller's tenant transaction, with
// River's InsertTx on that same transaction: the job exists if and only
// if tx commits. The job carries the principal tx was begun with (the
// verified principal of [tenantdb.Pool.Tx]'s context, or
// [tenantdb.Pool.InTenant]'s), sealed by the Jobs' key, never anything
// from args or opts; its workers run in that principal's context
// ([Jobs.Middleware]). client must be built with the Jobs' middleware; it
// may connect as any role (River's own, for its workers): the insert runs
// on tx, as the app role.
//
// River's insert statement is sent on tx's raw transaction, past the
// guard, which cannot parse-scope it: the database's row-level security
// on River's job table fences it (its tenant column is the sealed tenant,
// and the tenant policy's WITH CHECK binds it to the transaction's
// tenant), and the SDK builds the seal itself.
//
// Insert refuses, before any network use, a tx that is not a tenant
// transaction in progress ([ErrNotTenantTx]), a transaction whose model
// lacks River's tables ([ErrModel]), an impersonating principal, opts
// whose Metadata holds [MetadataKey], and unique jobs ([ErrRefused]). When
// the client does not run the middleware, the database refuses the
// insert and Insert returns [ErrNotInstalled]; the transaction is then
// aborted. Its other errors are River's (invalid options, refused before
// anything is sent: the transaction stays usable) and the database's. Like tx, it
// is not safe for concurrent use with tx's other statements.
func (j *Jobs) Insert(ctx context.Context, client *river.Client[pgx.Tx], tx *tenantdb.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := j.InsertMany(ctx, client, tx, []river.InsertManyParams{{Args: args, InsertOpts: opts}})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// InsertMany is [Jobs.Insert] for several jobs, inserted in one statement
// (River's InsertManyTx).
func (j *Jobs) InsertMany(ctx context.Context, client *river.Client[pgx.Tx], tx *tenantdb.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil River client", ErrNotInstalled)
	}
	t, err := tenanttx.Open(tx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotTenantTx, err)
	}
	if err := checkModel(t.Model, j.schema); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModel, err)
	}
	if t.Principal.Impersonation != nil {
		return nil, fmt.Errorf("%w: the principal is an impersonation, which a job would outlive", ErrRefused)
	}
	for _, p := range params {
		if p.InsertOpts != nil && hasSeal(p.InsertOpts.Metadata) {
			return nil, fmt.Errorf("%w: InsertOpts.Metadata holds %q, which only the SDK writes", ErrRefused, MetadataKey)
		}
	}
	ins := &insertion{jobs: j, principal: t.Principal}
	defer func() { ins.done = true }()
	res, err := client.InsertManyTx(context.WithValue(ctx, insertKey{}, ins), t.Raw, params)
	switch {
	case errors.Is(err, ErrRefused), ins.reached && err != nil:
		// Refused by the SDK, or the middleware ran and then sealing or
		// the insert failed: the error says which.
		return nil, err
	case err != nil && !refusedByRLS(err):
		// River refused the params before any middleware ran (an invalid
		// option, args that do not encode): nothing was sent, and tx is
		// as it was.
		return nil, err
	case ins.sealed < len(params) && err != nil:
		// No middleware sealed the job, and row-level security refused it.
		return nil, fmt.Errorf("%w: %w", ErrNotInstalled, err)
	case ins.sealed < len(params):
		return nil, ErrNotInstalled // unreachable: row-level security refuses an unsealed job
	}
	return res, err
}

// insertKey is the context key of an insertion in progress.
type insertKey struct{}

// insertion is Insert's request to the middleware: seal the jobs of this
// insert with principal. It lives only while Insert runs.
type insertion struct {
	jobs      *Jobs
	principal tenancy.Principal
	reached   bool // the middleware saw the insertion
	sealed    int
	done      bool
}

// sealMany seals every job of an insertion: a random id, and the seal in
// the metadata. It refuses unique jobs.
func (j *Jobs) sealMany(ins *insertion, many []*rivertype.JobInsertParams) error {
	for _, p := range many {
		if len(p.UniqueKey) > 0 {
			return fmt.Errorf("%w: unique job (kind %s): River's unique index spans every tenant", ErrRefused, p.Kind)
		}
		if hasSeal(p.Metadata) {
			return fmt.Errorf("%w: the metadata of a job of kind %s holds %q, which only the SDK writes", ErrRefused, p.Kind, MetadataKey)
		}
		id, err := randomID()
		if err != nil {
			return err
		}
		s, err := sealFor(j.key, id, p.Kind, p.EncodedArgs, ins.principal)
		if err != nil {
			return fmt.Errorf("tenantriver: sealing a job of kind %s: %w", p.Kind, err)
		}
		meta, err := withSeal(p.Metadata, s)
		if err != nil {
			return fmt.Errorf("tenantriver: metadata of a job of kind %s: %w", p.Kind, err)
		}
		p.ID, p.Metadata = &id, meta
	}
	ins.sealed += len(many)
	return nil
}

// randomID returns a job id in [2^62, 2^63): drawn at random, so that ids
// tell no tenant how many jobs the others enqueue, bound into the seal
// before the insert, and apart from the small ids of River's sequence,
// which other inserts (River's own role) still use.
func randomID() (int64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("tenantriver: drawing a job id: %w", err)
	}
	return int64(1<<62 | binary.BigEndian.Uint64(b[:])&(1<<62-1)), nil
}

// hasSeal reports whether metadata (a JSON object, or empty) holds
// MetadataKey. Metadata that is not an object counts as holding it: it
// cannot be checked.
func hasSeal(metadata []byte) bool {
	if len(metadata) == 0 {
		return false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(metadata, &m); err != nil {
		return true
	}
	_, ok := m[MetadataKey]
	return ok
}

// withSeal returns metadata (a JSON object, or empty) with s at
// MetadataKey.
func withSeal(metadata []byte, s seal) ([]byte, error) {
	m := map[string]json.RawMessage{}
	if len(metadata) > 0 {
		if err := json.Unmarshal(metadata, &m); err != nil {
			return nil, errors.New("not a JSON object")
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	m[MetadataKey] = b
	return json.Marshal(m)
}

// refusedByRLS reports whether err is the database's refusal of a row by
// row-level security (42501), as an unsealed job's insert gets.
func refusedByRLS(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "42501"
}
