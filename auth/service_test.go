package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func testConfig() Config {
	return Config{
		AccessTokenTTL: 5 * time.Minute, RefreshTokenTTL: time.Hour, SessionMaxAge: 24 * time.Hour,
		RefreshReuseGrace: 10 * time.Second, RefreshPerMinute: 5, Algorithm: AlgEdDSA,
		Issuer: "labreview", Audience: "labreview",
		Argon2:   Argon2Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1},
		Throttle: ThrottleConfig{Window: time.Minute, AccountLimit: 5, IPLimit: 50},
	}
}

func newService(t *testing.T, d db.Store) *Service {
	t.Helper()
	s, err := New(context.Background(), testConfig(), d, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestRotationSeenByOtherInstance: instance B, holding only the old key,
// accepts a token A signs with the key A just made (B rereads the key set
// when it meets an unknown kid), and still accepts tokens of the old key.
func TestRotationSeenByOtherInstance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d db.Store) {
		a, b := newService(t, d), newService(t, d)
		u, err := a.CreateUser(context.Background(), "", NewUser{Email: "r@lab.org", Name: "R", Role: "viewer", Password: "marble-otter-canyon-12"}, ClientInfo{})
		if err != nil {
			t.Fatal(err)
		}
		before, err := a.Login(context.Background(), "r@lab.org", "marble-otter-canyon-12", ClientInfo{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		b.keysMu.Lock()
		b.keysSeen = time.Time{} // as if B last loaded keys long ago
		b.keysMu.Unlock()
		if _, err := a.RotateKeys(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := a.initTokens(context.Background()); err != nil { // A uses the new key at once
			t.Fatal(err)
		}
		after, err := a.Login(context.Background(), "r@lab.org", "marble-otter-canyon-12", ClientInfo{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		if kidOf(t, before.AccessToken) == kidOf(t, after.AccessToken) {
			t.Fatal("the rotation did not change the signing key")
		}
		for name, tok := range map[string]string{"new key": after.AccessToken, "old key": before.AccessToken} {
			p, err := b.Authenticate(context.Background(), tok)
			if err != nil || p.UserID != u.ID {
				t.Fatalf("instance B, token of the %s: %v", name, err)
			}
		}
		if n := len(b.JWKS().Keys); n != 2 {
			t.Fatalf("B publishes %d keys, want 2 (new and retired-but-valid)", n)
		}
	})
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	header, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// TestRefreshRateLimit: a session refreshing in a tight loop is slowed.
func TestRefreshRateLimit(t *testing.T) {
	s := newService(t, dbtest.SQLite(t))
	if _, err := s.CreateUser(context.Background(), "", NewUser{Email: "q@lab.org", Name: "Q", Role: "viewer", Password: "marble-otter-canyon-12"}, ClientInfo{}); err != nil {
		t.Fatal(err)
	}
	g, err := s.Login(context.Background(), "q@lab.org", "marble-otter-canyon-12", ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	token := g.RefreshToken
	limited := false
	for range 8 {
		g, err := s.Refresh(context.Background(), token, ClientInfo{})
		if errors.Is(err, ErrRateLimited) {
			limited = true
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		token = g.RefreshToken
	}
	if !limited {
		t.Fatal("8 refreshes in a row were all allowed with refresh_per_minute 5")
	}
}

// TestVerifiedTokenCacheHonoursExpiry: a token verified once is not
// re-verified, but still stops working when it expires.
func TestVerifiedTokenCacheHonoursExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	s, err := New(context.Background(), testConfig(), dbtest.SQLite(t), slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.CreateUser(context.Background(), "", NewUser{Email: "c@lab.org", Name: "C", Role: "viewer", Password: "marble-otter-canyon-12"}, ClientInfo{}); err != nil {
		t.Fatal(err)
	}
	g, err := s.Login(context.Background(), "c@lab.org", "marble-otter-canyon-12", ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second call is answered from the cache
		if _, err := s.Authenticate(context.Background(), g.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if s.verified.get(g.AccessToken, now) == nil {
		t.Fatal("verified token not cached")
	}
	now = now.Add(5*time.Minute + tokenLeeway + time.Second)
	if _, err := s.Authenticate(context.Background(), g.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired cached token: got %v, want ErrInvalidToken", err)
	}
}

// TestSweepAppliesAuditRetention: the periodic sweep deletes audit events
// older than the retention, and keeps all of them when it is 0.
func TestSweepAppliesAuditRetention(t *testing.T) {
	d := dbtest.SQLite(t)
	now := time.Now()
	for _, age := range []time.Duration{0, 30 * 24 * time.Hour, 500 * 24 * time.Hour} {
		if err := d.InsertAudit(context.Background(), &db.AuditEvent{At: now.Add(-age), Event: "e"}); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		events, _, err := d.ListAudit(context.Background(), db.AuditFilter{Event: "e"}, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(events)
	}
	keep := newService(t, d) // retention 0: forever
	keep.sweep(context.Background())
	if n := count(); n != 3 {
		t.Fatalf("retention 0 deleted events: %d left", n)
	}
	cfg := testConfig()
	cfg.AuditRetention = 400 * 24 * time.Hour
	s, err := New(context.Background(), cfg, d, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.sweep(context.Background())
	if n := count(); n != 2 {
		t.Fatalf("after the sweep %d events left, want 2", n)
	}
}

// TestSkeletonsAreFilledIn: users stored before skeletons existed (an
// upgrade, an import) get theirs at start, so look-alikes of them are
// refused too.
func TestSkeletonsAreFilledIn(t *testing.T) {
	dbtest.EachAdapter(t, func(t *testing.T, a dbtest.Adapter) {
		d := a.Open(t)
		now := time.Now()
		if err := d.InsertUser(context.Background(), &db.User{ID: db.NewID(), Email: "admin@lab.test", Name: "A", Role: db.RoleAdmin,
			PasswordHash: "$argon2id$x", CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}); err != nil {
			t.Fatal(err)
		}
		s := newService(t, d)
		_, err := s.CreateUser(context.Background(), "", NewUser{Email: "\u0430dmin@lab.test", Name: "M", Role: "viewer", Password: "marble-otter-canyon-12"}, ClientInfo{})
		if !errors.Is(err, ErrEmailConfusable) {
			t.Fatalf("a look-alike of a user stored without a skeleton: %v", err)
		}
	})
}

// TestDeviceCookies: a device cookie is known for its account until it
// expires, with EdDSA and HS256 keys; anything else is unknown.
func TestDeviceCookies(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgHS256} {
		t.Run(alg, func(t *testing.T) {
			now := time.Now()
			cfg := testConfig()
			cfg.Algorithm = alg
			if alg == AlgHS256 {
				cfg.JWTSecret = strings.Repeat("k", 40)
			}
			s, err := New(context.Background(), cfg, dbtest.SQLite(t), slog.New(slog.DiscardHandler), Options{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			uid := db.NewID()
			cookie, ttl, err := s.issueDevice(uid)
			if err != nil || ttl != DeviceTTL {
				t.Fatal(err)
			}
			id, ok := s.knownDevice(cookie, uid)
			if !ok || id == "" || !strings.Contains(cookie, "."+id+".") {
				t.Fatalf("fresh cookie unknown: %q %v", id, ok)
			}
			for name, c := range map[string][2]string{
				"other account": {cookie, db.NewID()},
				"empty":         {"", uid},
				"three parts":   {cookie[:strings.LastIndex(cookie, ".")], uid},
				"other device":  {strings.Replace(cookie, "."+id+".", ".AAAAAAAAAAAAAAAAAAAAAA.", 1), uid},
			} {
				if _, ok := s.knownDevice(c[0], c[1]); ok {
					t.Errorf("%s: known", name)
				}
			}
			now = now.Add(DeviceTTL + time.Second)
			if _, ok := s.knownDevice(cookie, uid); ok {
				t.Error("an expired device cookie is known")
			}
		})
	}
}
