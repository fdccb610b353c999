package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Layout of the data folder. Everything is created 0700: the store's socket
// has no authentication, so the folder's permissions are its access control.
const (
	storeDirName   = "store" // SQLite files, one per database
	runDirName     = "run"   // sockets
	lockFileName   = "store.lock"
	backendSocket  = "ferretdb.sock" // FerretDB's own listener; only the proxy dials it
	clientSocket   = "store.sock"    // the serialising proxy; every client dials this
	maxSocketPath  = 100             // sun_path is 104 bytes on macOS, 108 on Linux
	storeStartWait = 5 * time.Second
)

// ErrDataDir reports a data folder that cannot be used.
var ErrDataDir = errors.New("db: data folder unusable")

// ErrStoreInUse reports that another process already runs the embedded store
// on the same data folder.
var ErrStoreInUse = errors.New("db: embedded store already in use by another process")

// embeddedStore is FerretDB (SQLite backend) running in this process behind a
// proxy that serialises commands.
type embeddedStore struct {
	socketPath string
	lock       *os.File
	proxy      *serialProxy
	cancel     context.CancelFunc
	done       chan struct{}
}

func (s *embeddedStore) uri() string { return socketURI(s.socketPath) }

// socketURI is the driver URI of a store socket: the driver wants the path
// percent-encoded in the host part.
func socketURI(path string) string { return "mongodb://" + url.PathEscape(path) + "/" }

// runningStoreSocket returns the client socket of the store another process
// runs on dataDir, after checking that it accepts connections.
func runningStoreSocket(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	sock := filepath.Join(abs, runDirName, clientSocket)
	conn, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return "", err
	}
	return sock, conn.Close()
}

// startEmbedded prepares dataDir, takes its lock and starts the store.
func startEmbedded(dataDir string, logger *slog.Logger) (*embeddedStore, error) {
	if dataDir == "" {
		return nil, fmt.Errorf("%w: data_dir is empty", ErrDataDir)
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrDataDir, dataDir, err)
	}
	storeDir := filepath.Join(abs, storeDirName)
	runDir := filepath.Join(abs, runDirName)
	for _, dir := range []string{abs, storeDir, runDir} {
		if err := makePrivateDir(dir); err != nil {
			return nil, err
		}
	}
	if err := probeWritable(storeDir); err != nil {
		return nil, err
	}
	sock := filepath.Join(runDir, clientSocket)
	backend := filepath.Join(runDir, backendSocket)
	if len(backend) > maxSocketPath {
		return nil, fmt.Errorf("%w: %s: path too long for a Unix socket (%d bytes, limit %d); choose a shorter data_dir",
			ErrDataDir, abs, len(backend), maxSocketPath)
	}

	lock, err := lockDir(filepath.Join(abs, lockFileName))
	if err != nil {
		return nil, err
	}
	// We hold the lock, so sockets left here belong to a process that died.
	_ = os.Remove(sock)
	_ = os.Remove(backend)

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: backend},
		Handler:   "sqlite",
		SQLiteURL: "file:" + (&url.URL{Path: storeDir + "/"}).EscapedPath(),
		Logger:    slog.New(minLevel{logger.Handler(), slog.LevelError}).With("component", "ferretdb"),
	})
	if err != nil {
		unlock(lock)
		return nil, fmt.Errorf("db: start embedded store: %w", err)
	}
	// FerretDB must always be Run after New, even on error paths below:
	// an instance that never ran panics when it is garbage-collected.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	s := &embeddedStore{socketPath: sock, lock: lock, cancel: cancel, done: done}

	if err := waitForSocket(backend, storeStartWait); err != nil {
		s.close()
		return nil, fmt.Errorf("db: start embedded store: %w", err)
	}
	proxy, err := startSerialProxy(sock, backend)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("db: start embedded store proxy: %w", err)
	}
	s.proxy = proxy
	return s, nil
}

// close stops the proxy and the store and releases the folder. Idempotent.
func (s *embeddedStore) close() {
	if s.proxy != nil {
		s.proxy.close()
		s.proxy = nil
	}
	if s.cancel != nil {
		s.cancel()
		<-s.done
		s.cancel = nil
	}
	if s.lock != nil {
		_ = os.Remove(s.socketPath)
		unlock(s.lock)
		s.lock = nil
	}
}

func makePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: create %s: %w", ErrDataDir, dir, errors.Unwrap(err))
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrDataDir, dir, errors.Unwrap(err))
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: %s is not a folder", ErrDataDir, dir)
	}
	if info.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("%w: make %s private (0700): %w", ErrDataDir, dir, errors.Unwrap(err))
		}
	}
	return nil
}

// probeWritable writes and removes a file: SQLite on a read-only folder
// starts fine and fails only at the first write, with a misleading message.
func probeWritable(dir string) error {
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := filepath.Join(dir, ".probe-"+hex.EncodeToString(b[:]))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %s is not writable: %w", ErrDataDir, dir, errors.Unwrap(err))
	}
	_, werr := f.Write([]byte("labreview"))
	serr := f.Sync()
	cerr := f.Close()
	rerr := os.Remove(name)
	if err := errors.Join(werr, serr, cerr, rerr); err != nil {
		return fmt.Errorf("%w: %s is not writable: %w", ErrDataDir, dir, err)
	}
	return nil
}

func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: open lock %s: %w", ErrDataDir, path, errors.Unwrap(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrStoreInUse, filepath.Dir(path))
		}
		return nil, fmt.Errorf("%w: lock %s: %w", ErrDataDir, path, err)
	}
	return f, nil
}

func unlock(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	_ = f.Close()
}

func waitForSocket(path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := net.DialTimeout("unix", path, 100*time.Millisecond)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("store did not start listening within %s: %w", limit, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// minLevel drops records below level; FerretDB is chatty at INFO and WARN
// (a line per client disconnect) and only its errors matter to operators.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
