package db

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func freshStore(t *testing.T) *DB {
	t.Helper()
	d, err := shared.WithDatabase(ctx(t), freshDB(t).Name())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestUsersEmailIsUnique(t *testing.T) {
	d := freshStore(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := &User{ID: bson.NewObjectID(), Email: "a@lab.org", Role: RoleAdmin, CreatedAt: now}
	if err := d.InsertUser(ctx(t), u); err != nil {
		t.Fatal(err)
	}
	dup := &User{ID: bson.NewObjectID(), Email: "a@lab.org", Role: RoleViewer}
	if err := d.InsertUser(ctx(t), dup); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate email: got %v, want ErrConflict", err)
	}
	got, err := d.UserByEmail(ctx(t), "a@lab.org")
	if err != nil || got.ID != u.ID {
		t.Fatalf("UserByEmail: %v %v", got, err)
	}
	if _, err := d.UserByID(ctx(t), bson.NewObjectID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
}

// TestRotationHasOneWinner: 20 concurrent rotations presenting the same
// secret: exactly one succeeds.
func TestRotationHasOneWinner(t *testing.T) {
	d := freshStore(t)
	now := time.Now()
	s := &Session{ID: "s1", UserID: bson.NewObjectID(), SecretHash: "h0", CreatedAt: now,
		IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour)}
	if err := d.InsertSession(ctx(t), s); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ok, err := d.RotateSession(ctx(t), "s1", "h0", "h1-"+string(rune('a'+i)), nil, time.Now(), time.Now().Add(time.Hour))
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d rotations won, want 1", wins.Load())
	}
	got, err := d.SessionByID(ctx(t), "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got.PrevHash != "h0" || got.SecretHash == "h0" || !got.Live(time.Now()) {
		t.Fatalf("after rotation: %+v", got)
	}
	// A revoked session cannot rotate.
	if ok, _ := d.RevokeSession(ctx(t), "s1", "test", time.Now()); !ok {
		t.Fatal("revoke reported not live")
	}
	if ok, _ := d.RotateSession(ctx(t), "s1", got.SecretHash, "h2", nil, time.Now(), time.Now().Add(time.Hour)); ok {
		t.Fatal("a revoked session rotated")
	}
}

func TestRevokeUserSessionsKeepsOne(t *testing.T) {
	d := freshStore(t)
	uid := bson.NewObjectID()
	now := time.Now()
	for _, id := range []string{"a", "b", "c"} {
		if err := d.InsertSession(ctx(t), &Session{ID: id, UserID: uid, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	other := &Session{ID: "x", UserID: bson.NewObjectID(), IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	if err := d.InsertSession(ctx(t), other); err != nil {
		t.Fatal(err)
	}
	ids, err := d.RevokeUserSessions(ctx(t), uid, "b", "logout_all", now)
	if err != nil || len(ids) != 2 {
		t.Fatalf("revoked %v, %v", ids, err)
	}
	live, err := d.LiveSessions(ctx(t), uid, now)
	if err != nil || len(live) != 1 || live[0].ID != "b" {
		t.Fatalf("live after revoke: %+v %v", live, err)
	}
	if s, _ := d.SessionByID(ctx(t), "x"); !s.Live(now) {
		t.Fatal("another user's session was revoked")
	}
}

func TestConcurrentFailuresAreAllCounted(t *testing.T) {
	d := freshStore(t)
	now := time.Now()
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if _, err := d.CountFailure(ctx(t), "acct:a@lab.org", time.Minute, now); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	c, err := d.CounterState(ctx(t), "acct:a@lab.org", now)
	if err != nil || c.Failures != 40 {
		t.Fatalf("counter %+v, %v; want 40 failures", c, err)
	}
	// After the window the count starts again at one.
	later := c.WindowEnds.Add(time.Second)
	if c, _ := d.CounterState(ctx(t), "acct:a@lab.org", later); c.Failures != 0 {
		t.Fatalf("expired window still counts %d", c.Failures)
	}
	if c, _ := d.CountFailure(ctx(t), "acct:a@lab.org", time.Minute, later); c.Failures != 1 {
		t.Fatalf("new window starts at %d", c.Failures)
	}
}

func TestSetupIsClaimedOnce(t *testing.T) {
	d := freshStore(t)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			err := d.ClaimSetup(ctx(t), bson.NewObjectID(), time.Now())
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, ErrConflict):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d claims won", wins.Load())
	}
}

func TestLeaseExcludesOtherHolders(t *testing.T) {
	d := freshStore(t)
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			err := d.WithLease(ctx(t), "admins", 5*time.Second, 10*time.Second, func() error {
				n := inside.Add(1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				inside.Add(-1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Fatalf("%d holders at once", maxInside.Load())
	}
	// A lease left behind expires.
	blocked := make(chan struct{})
	go func() {
		_ = d.WithLease(context.Background(), "stuck", 300*time.Millisecond, time.Second, func() error {
			close(blocked)
			time.Sleep(2 * time.Second)
			return nil
		})
	}()
	<-blocked
	if err := d.WithLease(ctx(t), "stuck", time.Second, 5*time.Second, func() error { return nil }); err != nil {
		t.Fatalf("expired lease not taken over: %v", err)
	}
}

func TestSweepRemovesEndedSessions(t *testing.T) {
	d := freshStore(t)
	now := time.Now()
	revokedAt := now.Add(-48 * time.Hour)
	for _, s := range []*Session{
		{ID: "live", IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)},
		{ID: "expired", IdleExpiresAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(time.Hour)},
		{ID: "over", IdleExpiresAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(-48 * time.Hour)},
		{ID: "revoked", IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour), RevokedAt: &revokedAt},
		{ID: "just-ended", IdleExpiresAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)},
	} {
		if err := d.InsertSession(ctx(t), s); err != nil {
			t.Fatal(err)
		}
	}
	n, err := d.SweepSessions(ctx(t), now.Add(-24*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("swept %d, %v; want 3", n, err)
	}
	for _, id := range []string{"live", "just-ended"} {
		if _, err := d.SessionByID(ctx(t), id); err != nil {
			t.Fatalf("%s swept: %v", id, err)
		}
	}
}
