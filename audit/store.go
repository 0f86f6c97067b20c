package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
)

// Store is where signed checkpoints are kept, outside the database: a
// directory ([DirStore]), an object store with retention, a witness's
// service. Implementations must be safe for concurrent use.
type Store interface {
	// Put keeps cp, which is signed, and never replaces a checkpoint
	// already kept.
	Put(ctx context.Context, cp Checkpoint) error
	// Latest returns the newest checkpoint kept (by Time), or an error
	// wrapping [ErrNoCheckpoint] when there is none. Verify its signature
	// before trusting it.
	Latest(ctx context.Context) (Checkpoint, error)
}

// DirStore keeps checkpoints as files of one directory, each named
// checkpoint-<time>.json (time as 20060102T150405.000000Z, so names sort by
// time), holding [Checkpoint.Marshal]'s form, with mode 0600. It is safe
// for concurrent use, also by several processes.
type DirStore struct {
	dir string
}

// NewDirStore returns the store of directory dir, making it (mode 0700)
// when it does not exist. It fails with the file system's error.
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: checkpoint directory: %w", err)
	}
	return &DirStore{dir: dir}, nil
}

var checkpointName = regexp.MustCompile(`^checkpoint-[0-9]{8}T[0-9]{6}\.[0-9]{6}Z\.json$`)

// Path returns the file that keeps cp: checkpoint-<cp.Time>.json in the
// directory.
func (s *DirStore) Path(cp Checkpoint) string {
	return filepath.Join(s.dir, "checkpoint-"+cp.Time.UTC().Format("20060102T150405.000000Z")+".json")
}

// Put writes cp's file ([DirStore.Path]) atomically: a temporary file in
// the directory, synced, then linked into place, so a reader never sees
// half a checkpoint. A file of that name that already exists is never
// replaced: Put fails with [ErrCheckpointExists]. It fails with
// [ErrUnsigned] for an unsigned checkpoint, or with the file system's
// error.
func (s *DirStore) Put(ctx context.Context, cp Checkpoint) error {
	b, err := cp.Marshal()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	path := s.Path(cp)
	if err := writeNew(path, b); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrCheckpointExists, path)
		}
		return fmt.Errorf("audit: writing checkpoint: %w", err)
	}
	return nil
}

// Latest reads and parses the newest checkpoint file of the directory;
// with none it fails with [ErrNoCheckpoint], and with an error wrapping
// [ErrMalformed] when that file does not parse.
func (s *DirStore) Latest(ctx context.Context) (Checkpoint, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: reading checkpoints: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && checkpointName.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return Checkpoint{}, fmt.Errorf("%w in %s", ErrNoCheckpoint, s.dir)
	}
	slices.Sort(names)
	return ReadCheckpointFile(filepath.Join(s.dir, names[len(names)-1]))
}

// MaxCheckpointSize is the largest checkpoint file [ReadCheckpointFile]
// reads: 256 MiB, some two million tenants.
const MaxCheckpointSize = 256 << 20

// ReadCheckpointFile reads and parses the checkpoint file at path (see
// [ParseCheckpoint]); it does not verify the signature.
func ReadCheckpointFile(path string) (Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: reading checkpoint: %w", err)
	}
	defer f.Close()
	b, err := readAll(f, MaxCheckpointSize)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: reading checkpoint %s: %w", path, err)
	}
	cp, err := ParseCheckpoint(b)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%s: %w", path, err)
	}
	return cp, nil
}

// readAll reads r to its end, refusing more than limit bytes.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, limit)
	}
	return b, nil
}
