//go:build unix

package cli

import (
	"errors"
	"os"
	"syscall"
)

// errLocked: another process holds the file's lock.
var errLocked = errors.New("in use by a running job")

// lockFile takes an advisory lock on f (flock), exclusive for the writer;
// for sync it fails with errLocked at once when a job holds it.
func lockFile(f *os.File, writer bool) (func(), error) {
	how := syscall.LOCK_EX
	if !writer {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil
}
