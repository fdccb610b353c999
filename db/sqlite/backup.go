package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// BackupInfo describes a finished backup.
type BackupInfo struct {
	Path  string
	Bytes int64
	// FilesPath is the folder of the runs' files beside the copy
	// (<dest>.artifacts, "" when there are none); Blobs and BlobBytes count
	// what it holds. Missing counts files deleted between the copy of the
	// database and the copy of their bytes.
	FilesPath string
	Blobs     int
	BlobBytes int64
	Missing   int
}

// Backup writes a consistent copy of the database to dest while it stays in
// use: VACUUM INTO reads one snapshot (WAL lets the server keep writing
// meanwhile) and writes a compact copy. The copy goes to a temporary file
// beside dest, is checked with PRAGMA integrity_check, synced, and only
// then renamed to dest, so dest is either a whole, checked backup or
// absent. An existing dest is refused.
//
// The temporary file holds password hashes and signing keys from its first
// byte, so it is created here, 0600 and exclusively (O_EXCL, under a name
// nobody can guess), before SQLite writes into it: VACUUM INTO accepts an
// empty file. Made by SQLite, it was 0644 for the whole copy and check, and
// a descriptor opened then kept reading the finished backup.
func (s *Store) Backup(ctx context.Context, dest string) (*BackupInfo, error) {
	abs, err := filepath.Abs(dest)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if abs == s.path {
		return nil, errors.New("backup: the destination is the database itself")
	}
	if _, err := os.Stat(abs); err == nil {
		return nil, fmt.Errorf("backup: %s exists already; choose a new file name", abs)
	}
	f, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".partial-*")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("backup: %w", err)
	}
	fail := func(err error) (*BackupInfo, error) {
		_ = os.Remove(tmp)
		return nil, err
	}
	// A connection of its own: the writer must stay free for the server's
	// writes, and the read pool's connections are query_only.
	conn, err := sql.Open("sqlite", dsn(s.path, false))
	if err != nil {
		return fail(fmt.Errorf("backup: %w", err))
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		return fail(fmt.Errorf("backup: %w", classify(err)))
	}
	if err := checkIntegrity(ctx, tmp); err != nil {
		return fail(fmt.Errorf("backup: the copy failed its check: %w", err))
	}
	if err := syncFile(tmp); err != nil {
		return fail(fmt.Errorf("backup: %w", err))
	}
	if err := os.Rename(tmp, abs); err != nil {
		return fail(fmt.Errorf("backup: %w", err))
	}
	_ = syncFile(filepath.Dir(abs))
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	out := &BackupInfo{Path: abs, Bytes: info.Size()}
	if err := s.backupBlobs(ctx, out); err != nil {
		return nil, fmt.Errorf("backup: runs' files: %w", err)
	}
	return out, nil
}

// backupBlobs copies the blobs that the copy's index names into
// <dest>.artifacts (hard links where the file system allows: blobs never
// change). Blobs are read after the database was copied, so a file
// deleted in between is missing from the backup (counted).
func (s *Store) backupBlobs(ctx context.Context, info *BackupInfo) error {
	conn, err := sql.Open("sqlite", fileURI(info.Path)+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "SELECT DISTINCT sha256 FROM artifacts")
	if err != nil {
		return err
	}
	var sums []string
	for rows.Next() {
		var sum string
		if err := rows.Scan(&sum); err != nil {
			rows.Close()
			return err
		}
		sums = append(sums, sum)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(sums) == 0 {
		return err
	}
	dir := info.Path + ".artifacts"
	for _, sum := range sums {
		if len(sum) != 64 {
			continue
		}
		dst := filepath.Join(dir, sum[:2], sum)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		src := s.blobPath(sum)
		if err := os.Link(src, dst); err != nil && !errors.Is(err, os.ErrExist) {
			n, err := copyFile(src, dst)
			if errors.Is(err, os.ErrNotExist) {
				info.Missing++
				continue
			}
			if err != nil {
				return err
			}
			info.BlobBytes += n
		} else if st, err := os.Stat(dst); err == nil {
			info.BlobBytes += st.Size()
		}
		info.Blobs++
	}
	info.FilesPath = dir
	return syncFile(dir)
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// CheckIntegrity runs PRAGMA integrity_check on the database file at path.
func CheckIntegrity(ctx context.Context, path string) error { return checkIntegrity(ctx, path) }

func checkIntegrity(ctx context.Context, path string) error {
	conn, err := sql.Open("sqlite", fileURI(path)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check: %v", problems)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(serr, cerr)
}
