package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/mydentalpractice/tenancy"
)

// CheckpointerConfig configures a [Checkpointer]. Every field is
// required but KeyType (default [tenancy.KeyUUID]).
type CheckpointerConfig struct {
	// DB reads the heads: the platform role's pool (see [ReadCheckpoint]).
	DB Beginner
	// Audit names the tenant registry ([Config.TenantRegistry]).
	Audit Config
	// KeyType is the type of the tenant keys.
	KeyType tenancy.KeyType
	// Key signs the checkpoints. Keep it out of the database and away from
	// its administrators.
	Key ed25519.PrivateKey
	// Store keeps the checkpoints, outside the database.
	Store Store
}

// Checkpointer writes signed checkpoints: [Checkpointer.Checkpoint] once,
// [Checkpointer.Run] on a schedule. It is safe for concurrent use.
type Checkpointer struct {
	cfg CheckpointerConfig
}

// NewCheckpointer checks cfg and returns its Checkpointer. It fails with
// an error wrapping [ErrInvalidRegistry] for a missing or malformed
// registry, or naming the missing field.
func NewCheckpointer(cfg CheckpointerConfig) (*Checkpointer, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("audit: checkpointer: DB is required")
	case cfg.Store == nil:
		return nil, errors.New("audit: checkpointer: Store is required")
	case len(cfg.Key) != ed25519.PrivateKeySize:
		return nil, errors.New("audit: checkpointer: Key must be an Ed25519 private key")
	case !cfg.KeyType.Valid():
		return nil, fmt.Errorf("audit: checkpointer: %w", tenancy.ErrInvalidKeyType)
	}
	if _, err := cfg.Audit.registry(); err != nil {
		return nil, err
	}
	return &Checkpointer{cfg: cfg}, nil
}

// Public returns the public key of the checkpointer's signing key, which
// verifies its checkpoints and receipts.
func (c *Checkpointer) Public() ed25519.PublicKey {
	return c.cfg.Key.Public().(ed25519.PublicKey)
}

// Checkpoint reads the heads ([ReadCheckpoint]), signs them and puts the
// checkpoint in the store, and returns it. It fails with the first error
// of those steps.
func (c *Checkpointer) Checkpoint(ctx context.Context) (Checkpoint, error) {
	cp, err := ReadCheckpoint(ctx, c.cfg.DB, c.cfg.Audit, c.cfg.KeyType)
	if err != nil {
		return Checkpoint{}, err
	}
	if err := cp.Sign(c.cfg.Key); err != nil {
		return Checkpoint{}, err
	}
	if err := c.cfg.Store.Put(ctx, cp); err != nil {
		return Checkpoint{}, err
	}
	return cp, nil
}

// Run writes a checkpoint every interval until ctx is done, the first
// one interval from now (call [Checkpointer.Checkpoint] first to write one
// at once and learn of a misconfiguration), and returns ctx's error. A
// failed checkpoint is passed to onFailure (if not nil) and the schedule
// goes on. It panics for an interval that is not positive.
func (c *Checkpointer) Run(ctx context.Context, interval time.Duration, onFailure func(error)) error {
	if interval <= 0 {
		panic("audit: Checkpointer.Run: interval must be positive")
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if _, err := c.Checkpoint(ctx); err != nil && onFailure != nil && ctx.Err() == nil {
			onFailure(err)
		}
	}
}
