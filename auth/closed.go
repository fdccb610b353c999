package auth

import (
	"sync"
	"time"
)

// maxClosedCounters bounds closedCounters: a key enters it only after
// max_per_account (or max_per_ip) evaluated attempts, and ended windows
// are dropped first, so the bound is reached only under a flood from very
// many addresses at once; then a further key is simply not remembered and
// its refusals write as before (correct, only dearer).
const maxClosedCounters = 100_000

// closedCounters remembers, on this instance, which throttle counters are
// closed and until when. A counter that refused once refuses every attempt
// until its window ends; with this, those refusals are answered without
// touching the database (a flood of refused sign-ins used to write one
// counter increment each, growing the WAL by 18 MB/s). The first refusal
// of each key still goes to the database, which counts it (so the limit
// holds across instances) and is audited once; another instance learns of
// the closed counter at its own first refusal.
type closedCounters struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func newClosedCounters() *closedCounters {
	return &closedCounters{until: map[string]time.Time{}}
}

// closedUntil reports whether key is closed at now, and until when.
func (c *closedCounters) closedUntil(key string, now time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.until[key]
	if !ok {
		return time.Time{}, false
	}
	if !now.Before(t) {
		delete(c.until, key)
		return time.Time{}, false
	}
	return t, true
}

// close records that key refuses attempts until its window ends.
func (c *closedCounters) close(key string, until, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.until) >= maxClosedCounters {
		for k, t := range c.until {
			if !now.Before(t) {
				delete(c.until, k)
			}
		}
		if len(c.until) >= maxClosedCounters {
			return
		}
	}
	c.until[key] = until
}
