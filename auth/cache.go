package auth

import (
	"sync"
	"time"
)

// ttlCache remembers values for ttl after they were stored: the session
// liveness answers and the users /api/me returns. An entry from the future
// (the clock went back) counts as stale.
type ttlCache[K comparable, V any] struct {
	mu    sync.Mutex
	ttl   time.Duration
	items map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	value V
	at    time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, items: map[K]ttlEntry[V]{}}
}

func (c *ttlCache[K, V]) get(key K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok || now.Sub(e.at) >= c.ttl || now.Before(e.at) {
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *ttlCache[K, V]) put(key K, value V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items[key] = ttlEntry[V]{value: value, at: now}
}

func (c *ttlCache[K, V]) forget(keys ...K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.items, k)
	}
}

func (c *ttlCache[K, V]) prune(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.items {
		if now.Sub(e.at) >= c.ttl {
			delete(c.items, k)
		}
	}
}
