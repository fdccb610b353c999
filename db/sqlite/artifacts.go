package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"labreview/db"
)

// Runs' files on the embedded store: the bytes are content-addressed files
// beside the database, data_dir/artifacts/<2 hex>/<sha256> (0600 files in
// 0700 folders, like the database), and the artifacts table is the index.
// An upload is written to data_dir/artifacts/tmp first (hashing as it
// goes), synced, then moved to its address inside the writer's
// transaction that indexes it; a removal deletes the blob inside the
// transaction that drops its last index row. So index and files change
// together under the single writer: a blob exists while a row names it
// (a crash between a blob's move and the commit leaves an unindexed blob,
// which costs space, never a dangling row).

const artifactColumns = "run_id, path, project, size, sha256, content_type, created_at, created_by"

func scanArtifact(r rowScanner) (db.Artifact, error) {
	var a db.Artifact
	var created int64
	err := r.Scan(&a.RunID, &a.Path, &a.Project, &a.Size, &a.SHA256, &a.ContentType, &created, &a.CreatedBy)
	a.CreatedAt = fromMS(created)
	return a, err
}

func (s *Store) artifactDir() string { return filepath.Join(s.dataDir, "artifacts") }

func (s *Store) blobPath(sum string) string {
	return filepath.Join(s.artifactDir(), sum[:2], sum)
}

// fileErr maps a file system error: a full, read-only or failing disk is
// db.ErrStorage.
func fileErr(err error) error {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EROFS, syscall.EIO, syscall.EDQUOT, syscall.EACCES, syscall.EPERM} {
		if errors.Is(err, errno) {
			return fmt.Errorf("%w: %w", db.ErrStorage, err)
		}
	}
	return err
}

// PutArtifact writes the upload to a temporary file, then indexes it.
func (s *Store) PutArtifact(ctx context.Context, a *db.Artifact, body io.Reader, limits db.ArtifactLimits) (err error) {
	tmpDir := filepath.Join(s.artifactDir(), "tmp")
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return fmt.Errorf("db: put artifact: %w", fileErr(err))
	}
	tmp, err := os.CreateTemp(tmpDir, "upload-*") // 0600
	if err != nil {
		return fmt.Errorf("db: put artifact: %w", fileErr(err))
	}
	moved := false
	defer func() {
		if !moved {
			_ = os.Remove(tmp.Name())
		}
	}()
	h := &db.HashingReader{R: body, Max: limits.MaxFileBytes, Hash: sha256.New()}
	_, err = io.Copy(tmp, h)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, db.ErrTooLarge) {
			return fmt.Errorf("db: put artifact: %w", db.ErrTooLarge)
		}
		return fmt.Errorf("db: put artifact: %w", fileErr(err))
	}
	a.Size, a.SHA256 = h.N, hex.EncodeToString(h.Hash.Sum(nil))
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		old, err := scanArtifact(s.txRow(ctx, tx, trace("SELECT "+artifactColumns+" FROM artifacts WHERE run_id = ? AND path = ?"), a.RunID, a.Path))
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if !exists && limits.MaxRunFiles > 0 {
			var n int
			if err := s.txRow(ctx, tx, trace("SELECT count(*) FROM artifacts WHERE run_id = ?"), a.RunID).Scan(&n); err != nil {
				return err
			}
			if n >= limits.MaxRunFiles {
				return db.ErrLimit
			}
		}
		if limits.MaxProjectBytes > 0 {
			var total int64
			if err := s.txRow(ctx, tx, trace("SELECT coalesce(sum(size), 0) FROM artifacts WHERE project = ?"), a.Project).Scan(&total); err != nil {
				return err
			}
			if exists {
				total -= old.Size
			}
			if total+a.Size > limits.MaxProjectBytes {
				return db.ErrLimit
			}
		}
		if !exists || old.SHA256 != a.SHA256 {
			dst := s.blobPath(a.SHA256)
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				return fileErr(err)
			}
			if err := os.Rename(tmp.Name(), dst); err != nil {
				return fileErr(err)
			}
			moved = true
		}
		if _, err := s.txExec(ctx, tx, trace("INSERT INTO artifacts ("+artifactColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?) "+
			"ON CONFLICT (run_id, path) DO UPDATE SET project = excluded.project, size = excluded.size, sha256 = excluded.sha256, "+
			"content_type = excluded.content_type, created_at = excluded.created_at, created_by = excluded.created_by"),
			a.RunID, a.Path, a.Project, a.Size, a.SHA256, a.ContentType, ms(a.CreatedAt), a.CreatedBy); err != nil {
			return err
		}
		if exists && old.SHA256 != a.SHA256 {
			return s.dropBlobIfUnused(ctx, tx, old.SHA256)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("db: put artifact: %w", classify(err))
	}
	return nil
}

// dropBlobIfUnused removes a blob that no index row names any more.
func (s *Store) dropBlobIfUnused(ctx context.Context, tx *sql.Tx, sum string) error {
	var n int
	if err := s.txRow(ctx, tx, trace("SELECT count(*) FROM artifacts WHERE sha256 = ?"), sum).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if err := os.Remove(s.blobPath(sum)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fileErr(err)
	}
	return nil
}

// ArtifactByPath finds a file's entry.
func (s *Store) ArtifactByPath(ctx context.Context, runID, path string) (*db.Artifact, error) {
	out, err := readAll(ctx, s, func(r *sql.Rows) (db.Artifact, error) { return scanArtifact(r) },
		"SELECT "+artifactColumns+" FROM artifacts WHERE run_id = ? AND path = ?", runID, path)
	switch {
	case err != nil:
		return nil, fmt.Errorf("db: find artifact: %w", err)
	case len(out) == 0:
		return nil, fmt.Errorf("db: find artifact: %w", db.ErrNotFound)
	}
	return &out[0], nil
}

// ListArtifacts walks the primary key from the prefix (or after) on.
func (s *Store) ListArtifacts(ctx context.Context, runID, prefix, after string, limit int) ([]db.Artifact, bool, error) {
	from, op := prefix, ">="
	if after >= prefix {
		from, op = after, ">"
	}
	// Paths that start with prefix are the range [prefix, prefix+U+10FFFF…);
	// the loop below stops at the first one that does not.
	rows, err := readAll(ctx, s, func(r *sql.Rows) (db.Artifact, error) { return scanArtifact(r) },
		"SELECT "+artifactColumns+" FROM artifacts WHERE run_id = ? AND path "+op+" ? ORDER BY path LIMIT ?", runID, from, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("db: list artifacts: %w", err)
	}
	out := rows[:0]
	for _, a := range rows {
		if len(a.Path) < len(prefix) || a.Path[:len(prefix)] != prefix {
			break
		}
		out = append(out, a)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// OpenArtifact opens the blob's file.
func (s *Store) OpenArtifact(_ context.Context, a *db.Artifact) (io.ReadCloser, error) {
	if len(a.SHA256) != 64 {
		return nil, fmt.Errorf("db: open artifact: %w", db.ErrNotFound)
	}
	f, err := os.Open(s.blobPath(a.SHA256))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("db: open artifact %s/%s: its blob is missing: %w", a.RunID, a.Path, db.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("db: open artifact: %w", fileErr(err))
	}
	return f, nil
}

// DeleteArtifact drops the index row and, if it was the last to name it,
// the blob, in one transaction.
func (s *Store) DeleteArtifact(ctx context.Context, runID, path string) (*db.Artifact, error) {
	var old db.Artifact
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		old, err = scanArtifact(s.txRow(ctx, tx, trace("SELECT "+artifactColumns+" FROM artifacts WHERE run_id = ? AND path = ?"), runID, path))
		if err != nil {
			return err
		}
		if _, err := s.txExec(ctx, tx, trace("DELETE FROM artifacts WHERE run_id = ? AND path = ?"), runID, path); err != nil {
			return err
		}
		return s.dropBlobIfUnused(ctx, tx, old.SHA256)
	})
	if err != nil {
		return nil, fmt.Errorf("db: delete artifact: %w", classify(err))
	}
	return &old, nil
}

// ProjectArtifactBytes sums the project's sizes from the covering index.
func (s *Store) ProjectArtifactBytes(ctx context.Context, project string) (int64, error) {
	out, err := readAll(ctx, s, func(r *sql.Rows) (int64, error) {
		var n int64
		return n, r.Scan(&n)
	}, "SELECT coalesce(sum(size), 0) FROM artifacts WHERE project = ?", project)
	if err != nil || len(out) == 0 {
		return 0, fmt.Errorf("db: project artifact bytes: %w", err)
	}
	return out[0], nil
}
