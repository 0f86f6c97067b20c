package store

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// ExportEvery is how often a clinic may ask for an export of its records.
const ExportEvery = time.Hour

// The states of an export.
const (
	ExportPending = "pending"
	ExportReady   = "ready"
	ExportFailed  = "failed"
)

// ExportArgs are the arguments of a clinic export's job: which export. The
// clinic is the job's, sealed beside it.
type ExportArgs struct {
	ExportID tenancy.ID `json:"export_id"`
}

// Kind is the export job's kind in River.
func (ExportArgs) Kind() string { return "clinic_export" }

// Export is one export of a clinic's records: an archive of every table
// the isolation model says holds the clinic's rows (package tenantarchive).
type Export struct {
	ID          tenancy.ID `json:"id"`
	ClinicID    tenancy.ID `json:"clinic_id"`
	RequestedBy tenancy.ID `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
	Status      string     `json:"status"`
	FinishedAt  *time.Time `json:"finished_at"`
	Tables      int        `json:"tables"`
	Rows        int64      `json:"rows"`
	Bytes       int64      `json:"bytes"`
	Digest      string     `json:"digest"` // the manifest's SHA-256, hex
}

const exportColumns = `id, clinic_id, requested_by, requested_at, status, finished_at, tables, rows, bytes, digest`

func scanExport(row pgx.Row) (Export, error) {
	var e Export
	err := row.Scan(&e.ID, &e.ClinicID, &e.RequestedBy, &e.RequestedAt, &e.Status, &e.FinishedAt, &e.Tables, &e.Rows, &e.Bytes, &e.Digest)
	return e, err
}

// RequestExport asks for an export of the caller's clinic, made by a
// background job in the clinic's context. A clinic may ask once per
// ExportEvery (ErrTooSoon otherwise, with the wait); the request is
// recorded in the clinic's audit log, and so is the export itself (by
// tenantdb.Pool.ReadTenant, with the requester as its actor).
func (s *Store) RequestExport(ctx context.Context) (Export, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Export{}, err
	}
	if s.jobs == nil || s.exportDir == "" {
		return Export{}, errors.New("store: exports need Options.Jobs and Options.ExportDir")
	}
	var out Export
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		// One request at a time per clinic: the settings row is the lock.
		if _, err := tx.Exec(ctx, `select 1 from clinic_settings where clinic_id = $1 for update`, p.Tenant); err != nil {
			return err
		}
		var last *time.Time
		if err := tx.QueryRow(ctx, `select max(requested_at) from clinic_exports where clinic_id = $1`, p.Tenant).Scan(&last); err != nil {
			return err
		}
		if last != nil {
			if wait := time.Until(last.Add(ExportEvery)); wait > 0 {
				return &Error{Kind: ErrTooSoon, Code: "rate_limited", Detail: wait,
					Msg: fmt.Sprintf("The clinic's records were exported less than %v ago; try again later.", ExportEvery)}
			}
		}
		id := tenancy.NewID()
		var err error
		out, err = scanExport(tx.QueryRow(ctx, `insert into clinic_exports (clinic_id, id, requested_by) values ($1, $2, $3)
			returning `+exportColumns, p.Tenant, id, p.Subject))
		if err != nil {
			return err
		}
		if err := record(ctx, tx, "clinic.export.request", "clinic_export", id); err != nil {
			return err
		}
		return s.jobs.Enqueue(ctx, tx, ExportArgs{ExportID: id})
	})
	return out, wrap("request export", err)
}

// Exports lists the caller's clinic's exports, newest first (at most 50).
func (s *Store) Exports(ctx context.Context) ([]Export, error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var out []Export
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		rows, err := tx.Query(ctx, `select `+exportColumns+` from clinic_exports where clinic_id = $1
			order by requested_at desc, id desc limit 50`, p.Tenant)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Export, error) { return scanExport(r) })
		return err
	})
	return out, wrap("list exports", err)
}

// ExportDir is where the archive of the caller's clinic's export id is
// written (by the export job) and read (by WriteExportArchive).
func (s *Store) ExportDir(clinic, id tenancy.ID) string {
	return filepath.Join(s.exportDir, clinic.String(), id.String())
}

// PendingExport returns the caller's clinic's export id if it is still to
// be made, for its job; ErrNotFound if there is none, ErrConflict
// "not_pending" if it was made or failed already.
func (s *Store) PendingExport(ctx context.Context, id tenancy.ID) (Export, error) {
	p, err := tenant(ctx)
	if err != nil {
		return Export{}, err
	}
	var out Export
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		var err error
		out, err = scanExport(tx.QueryRow(ctx, `select `+exportColumns+` from clinic_exports where clinic_id = $1 and id = $2`, p.Tenant, id))
		if err != nil {
			return notFound(err)
		}
		if out.Status != ExportPending {
			return conflict("not_pending", "The export was made already.")
		}
		return nil
	})
	return out, wrap("pending export", err)
}

// ExportDone records how the caller's clinic's export id ended: ready
// with what the archive holds, or failed (tables, rows and bytes zero).
func (s *Store) ExportDone(ctx context.Context, id tenancy.ID, failed bool, tables int, rows, bytes int64, digest string) error {
	p, err := tenant(ctx)
	if err != nil {
		return err
	}
	status := ExportReady
	if failed {
		status, tables, rows, bytes, digest = ExportFailed, 0, 0, 0, ""
	}
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		tag, err := tx.Exec(ctx, `update clinic_exports set status = $3, finished_at = now(), tables = $4, rows = $5, bytes = $6, digest = $7
			where clinic_id = $1 and id = $2 and status = 'pending'`, p.Tenant, id, status, tables, rows, bytes, digest)
		if err == nil && tag.RowsAffected() == 0 {
			return conflict("not_pending", "The export was made already.")
		}
		return err
	})
	return wrap("finish export", err)
}

// WriteExportArchive writes the archive of the caller's clinic's export
// id to w as a gzipped tar (the archive's directory, its manifest first),
// after recording the download in the clinic's audit log. It answers
// ErrNotFound for an export the clinic does not have, ErrConflict
// "not_ready" for one not made (yet).
func (s *Store) WriteExportArchive(ctx context.Context, id tenancy.ID, w io.Writer) error {
	p, err := tenant(ctx)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *tenantdb.Tx) error {
		e, err := scanExport(tx.QueryRow(ctx, `select `+exportColumns+` from clinic_exports where clinic_id = $1 and id = $2`, p.Tenant, id))
		if err != nil {
			return notFound(err)
		}
		if e.Status != ExportReady {
			return conflict("not_ready", "The export is not ready: it is "+e.Status+".")
		}
		if _, err := os.Stat(filepath.Join(s.ExportDir(p.Tenant, id), "manifest.json")); err != nil {
			return conflict("archive_missing", "The export's files are not on this server; ask for a new export.")
		}
		return record(ctx, tx, "clinic.export.download", "clinic_export", id)
	})
	if err != nil {
		return wrap("download export", err)
	}
	return writeTarGz(w, s.ExportDir(p.Tenant, id))
}

// writeTarGz writes dir's regular files to w as a gzipped tar,
// manifest.json first, under the directory's name.
func writeTarGz(w io.Writer, dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			if rel == "manifest.json" {
				files = append([]string{rel}, files...)
			} else {
				files = append(files, rel)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export archive: %w", err)
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	base := filepath.Base(dir)
	for _, rel := range files {
		if err := addFile(tw, filepath.Join(dir, rel), filepath.ToSlash(filepath.Join(base, rel))); err != nil {
			return fmt.Errorf("export archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func addFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
