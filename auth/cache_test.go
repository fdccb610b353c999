package auth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTTLCacheSingleFlight: callers that miss together share one read.
func TestTTLCacheSingleFlight(t *testing.T) {
	c := newTTLCache[string, int](4 * time.Second)
	now := time.Unix(1000, 0)
	var reads atomic.Int32
	release := make(chan struct{})
	fetch := func(context.Context) (int, error) {
		reads.Add(1)
		<-release
		return 7, nil
	}
	const callers = 64
	var wg sync.WaitGroup
	results := make(chan int, callers)
	for range callers {
		wg.Go(func() {
			v, err := c.load(context.Background(), "s", now, fetch)
			if err != nil {
				t.Error(err)
			}
			results <- v
		})
	}
	waitFor(t, "the first read", func() bool { return reads.Load() == 1 })
	time.Sleep(20 * time.Millisecond) // give stragglers time to start a second read, if they could
	close(release)
	wg.Wait()
	close(results)
	for v := range results {
		if v != 7 {
			t.Fatalf("got %d, want 7", v)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("%d reads for %d concurrent misses, want 1", n, callers)
	}
	// Now cached: no read at all.
	if v, err := c.load(context.Background(), "s", now.Add(time.Second), failFetch(t)); err != nil || v != 7 {
		t.Fatalf("cached load = %d, %v", v, err)
	}
}

// TestTTLCacheRefreshAhead: in the last quarter of an entry's life one
// caller refreshes it while the others are answered from the cache without
// waiting, so the key never expires while it is in use.
func TestTTLCacheRefreshAhead(t *testing.T) {
	c := newTTLCache[string, int](4 * time.Second)
	t0 := time.Unix(1000, 0)
	c.put("s", 1, t0)

	late := t0.Add(3500 * time.Millisecond)
	started, release := make(chan struct{}), make(chan struct{})
	refreshed := make(chan int, 1)
	go func() {
		v, err := c.load(context.Background(), "s", late, func(context.Context) (int, error) {
			close(started)
			<-release
			return 2, nil
		})
		if err != nil {
			t.Error(err)
		}
		refreshed <- v
	}()
	<-started
	// While the refresh is running, others get the cached value at once
	// (waiting for the refresh would end in the deadline).
	for range 10 {
		if v, err := c.load(shortCtx(t), "s", late, failFetch(t)); err != nil || v != 1 {
			t.Fatalf("during refresh: %d, %v; want the cached 1 without a read", v, err)
		}
	}
	close(release)
	if v := <-refreshed; v != 2 {
		t.Fatalf("refreshing caller got %d, want 2", v)
	}
	// The refreshed entry lives ttl from the refresh's read, beyond the
	// first entry's expiry.
	if v, err := c.load(context.Background(), "s", t0.Add(5*time.Second), failFetch(t)); err != nil || v != 2 {
		t.Fatalf("after refresh: %d, %v", v, err)
	}
	// Before the refresh window nobody reads.
	if v, err := c.load(context.Background(), "s", late.Add(2*time.Second), failFetch(t)); err != nil || v != 2 {
		t.Fatalf("early in the new life: %d, %v", v, err)
	}
}

// TestTTLCacheRefreshErrorDrops: a refresh that fails (the session was
// revoked on another instance, or the store is down) answers its caller
// with the error and drops the entry, so the next caller reads again.
func TestTTLCacheRefreshErrorDrops(t *testing.T) {
	c := newTTLCache[string, int](4 * time.Second)
	t0 := time.Unix(1000, 0)
	c.put("s", 1, t0)
	ended := errors.New("session ended")
	late := t0.Add(3500 * time.Millisecond)
	if _, err := c.load(context.Background(), "s", late, func(context.Context) (int, error) { return 0, ended }); !errors.Is(err, ended) {
		t.Fatalf("refresh error: got %v", err)
	}
	var reads atomic.Int32
	if _, err := c.load(context.Background(), "s", late, func(context.Context) (int, error) {
		reads.Add(1)
		return 0, ended
	}); !errors.Is(err, ended) || reads.Load() != 1 {
		t.Fatalf("after a failed refresh: err %v, %d reads; want the error from a new read", err, reads.Load())
	}
}

// TestTTLCacheForgetDuringRead: a read that began before forget may have
// seen the state before the change; it must not be stored, and a caller
// arriving after forget must not join it.
func TestTTLCacheForgetDuringRead(t *testing.T) {
	c := newTTLCache[string, int](4 * time.Second)
	now := time.Unix(1000, 0)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		v, err := c.load(context.Background(), "s", now, func(context.Context) (int, error) {
			close(started)
			<-release
			return 1, nil // "live", read before the revocation
		})
		if err != nil || v != 1 {
			t.Errorf("first caller: %d, %v", v, err)
		}
	}()
	<-started
	c.forget("s") // revoked on this instance
	revoked := errors.New("session ended")
	if _, err := c.load(shortCtx(t), "s", now, func(context.Context) (int, error) { return 0, revoked }); !errors.Is(err, revoked) {
		t.Fatalf("caller after forget joined the earlier read: %v", err)
	}
	close(release)
	<-done
	var reads atomic.Int32
	_, _ = c.load(context.Background(), "s", now, func(context.Context) (int, error) {
		reads.Add(1)
		return 0, revoked
	})
	if reads.Load() != 1 {
		t.Fatal("the read that began before forget was stored")
	}
}

// TestTTLCacheCallerCancel: a caller whose request ends stops waiting, and
// the shared read is not cancelled for the others.
func TestTTLCacheCallerCancel(t *testing.T) {
	c := newTTLCache[string, int](4 * time.Second)
	now := time.Unix(1000, 0)
	started, release := make(chan struct{}), make(chan struct{})
	readErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := c.load(ctx, "s", now, func(readCtx context.Context) (int, error) {
			close(started)
			<-release
			readErr <- readCtx.Err()
			return 3, nil
		})
		first <- err
	}()
	<-started
	second := make(chan int, 1)
	go func() {
		v, err := c.load(context.Background(), "s", now, failFetch(t))
		if err != nil {
			t.Error(err)
		}
		second <- v
	}()
	cancel()
	select {
	case err := <-first:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled caller still waiting")
	}
	close(release)
	if err := <-readErr; err != nil {
		t.Fatalf("the shared read saw its first caller's cancellation: %v", err)
	}
	if v := <-second; v != 3 {
		t.Fatalf("second caller got %d", v)
	}
}

// TestTTLCacheExpiry: an entry is served for ttl, not after, and not when
// the clock went back before it was read.
func TestTTLCacheExpiry(t *testing.T) {
	c := newTTLCache[string, int](4 * time.Second)
	t0 := time.Unix(1000, 0)
	c.put("s", 1, t0)
	for _, tc := range []struct {
		at     time.Time
		cached bool
	}{
		{t0, true}, {t0.Add(2 * time.Second), true}, {t0.Add(4 * time.Second), false}, {t0.Add(-time.Second), false},
	} {
		c.put("s", 1, t0)
		var reads atomic.Int32
		_, _ = c.load(context.Background(), "s", tc.at, func(context.Context) (int, error) {
			reads.Add(1)
			return 2, nil
		})
		if got := reads.Load() == 0; got != tc.cached {
			t.Errorf("at t0%+v: answered from cache %v, want %v", tc.at.Sub(t0), got, tc.cached)
		}
	}
}

func failFetch(t *testing.T) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		t.Error("unexpected read from the store")
		return 0, errors.New("unexpected read")
	}
}

// shortCtx bounds a wait that must not happen, so a regression fails fast
// instead of hanging the test binary.
func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return ctx
}
