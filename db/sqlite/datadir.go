package sqlite

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// prepareDataDir makes the folder (0700: the database holds password
// hashes and signing keys) and checks that it can be written, returning its
// absolute path.
func prepareDataDir(dataDir string) (string, error) {
	if strings.TrimSpace(dataDir) == "" {
		return "", fmt.Errorf("%w: data_dir is empty", ErrDataDir)
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrDataDir, dataDir, err)
	}
	if err := makePrivateDir(abs); err != nil {
		return "", err
	}
	if err := probeWritable(abs); err != nil {
		return "", err
	}
	return abs, nil
}

func makePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: create %s: %w", ErrDataDir, dir, unwrapPath(err))
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrDataDir, dir, unwrapPath(err))
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: %s is not a folder", ErrDataDir, dir)
	}
	if info.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("%w: make %s private (0700): %w", ErrDataDir, dir, unwrapPath(err))
		}
	}
	return nil
}

// privateFiles creates the database file 0600 before SQLite opens it, and
// takes group and other rights away from an existing database and its -wal
// and -shm files. SQLite creates a new database 0644 (less the umask), and
// gives its -wal and -shm files the mode of the database file, so a file
// made here keeps all three private; only the folder's 0700 protected them
// before. Nothing here opens an existing database file (O_EXCL fails
// without opening it; chmod needs no descriptor), so SQLite's locks held
// by this process stay as they are.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return err
		}
	case !errors.Is(err, os.ErrExist):
		return unwrapPath(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return unwrapPath(err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, perm&0o700); err != nil {
				return fmt.Errorf("make %s private (0600): %w", p, unwrapPath(err))
			}
		}
	}
	return nil
}

// probeWritable writes, syncs and removes a file beside the database (never
// the database file itself: opening and closing it outside SQLite would
// drop SQLite's POSIX locks). SQLite on a read-only folder opens fine and
// fails only at the first write.
func probeWritable(dir string) error {
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := filepath.Join(dir, ".probe-"+hex.EncodeToString(b[:]))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %s is not writable: %w", ErrDataDir, dir, unwrapPath(err))
	}
	// No fsync: it costs 10–20 ms at every start on some disks, and a full
	// disk is not a reason to refuse to start (writes then fail with 503
	// storage_unavailable, and reads go on).
	_, werr := f.Write([]byte("labreview"))
	cerr := f.Close()
	rerr := os.Remove(name)
	if err := errors.Join(werr, cerr, rerr); err != nil {
		return fmt.Errorf("%w: %s is not writable: %w", ErrDataDir, dir, err)
	}
	return nil
}

// lockFile takes an exclusive flock on path, writing this process's id into
// it. When another process holds it, the error wraps inUse and names that
// process.
func lockFile(path string, inUse error) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: open lock %s: %w", ErrDataDir, path, unwrapPath(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		var holder []byte
		holder, _ = os.ReadFile(path)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := ""
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(holder))); perr == nil && pid > 0 {
				who = fmt.Sprintf(" (process %d)", pid)
			}
			return nil, fmt.Errorf("%w: %s%s", inUse, filepath.Dir(path), who)
		}
		return nil, fmt.Errorf("%w: lock %s: %w", ErrDataDir, path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func unlockFile(f *os.File) {
	_ = f.Truncate(0)
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	_ = f.Close()
}

// unwrapPath drops the *PathError wrapper, whose text repeats the path the
// message already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
