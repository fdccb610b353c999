package db

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// Ids are 24 lower-case hex digits in the layout of a MongoDB ObjectID: a
// 4-byte big-endian Unix time in seconds, 5 random bytes fixed per process
// and a 3-byte counter. So ids sort by creation time (to the second, and
// exactly within one process), audit pages can go by id, and the hosted
// adapter stores them as native ObjectIDs, as hosted databases written by
// earlier versions already hold.

// processUnique is the random middle part, fixed for this process.
var processUnique = func() [5]byte {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return b
}()

var idCounter = func() *atomic.Uint32 {
	var c atomic.Uint32
	var b [4]byte
	_, _ = rand.Read(b[:])
	// A random start below 2^23 leaves at least 2^23 ids before the 3-byte
	// counter wraps, so ids stay ordered within a process.
	c.Store(binary.BigEndian.Uint32(b[:]) & (1<<23 - 1))
	return &c
}()

// NewID returns a new id.
func NewID() string { return newIDAt(time.Now()) }

func newIDAt(t time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(t.Unix()))
	copy(b[4:9], processUnique[:])
	n := idCounter.Add(1)
	b[9], b[10], b[11] = byte(n>>16), byte(n>>8), byte(n)
	return hex.EncodeToString(b[:])
}

// ValidID reports whether s has the shape of an id. Requests that name a
// record by a malformed id can then be answered "not found" without asking
// the database.
func ValidID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
