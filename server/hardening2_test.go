package server

// Tests of the second hardening issue (issue 16, an adversarial probe of
// commit 5004d06): each fails on that commit.

import (
	"strconv"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
)

// TestRefusedSignInsWriteNothing: once a counter is closed, refused
// sign-ins (and setup guesses) cost no database write: the counters stay
// where the first refusal left them, and each closed counter has written
// one audit event. When the window ends, attempts are evaluated again.
func TestRefusedSignInsWriteNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store db.Store) {
		clk := newClock()
		cfg := testAuthConfig()
		cfg.Throttle.AccountLimit, cfg.Throttle.IPLimit = 3, 6
		srv := newTestServerWith(t, Options{}, store, nil, cfg, clk)
		srv.mustCreateUser(t, "rae@lab.org", "Rae", db.RoleViewer, viewerPW)
		counter := func(key string) int {
			t.Helper()
			c, err := store.CounterState(t.Context(), key, clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			return c.Failures
		}
		for i := range 3 {
			if rec := srv.do(formLogin("rae@lab.org", "not-the-password-"+string(rune('a'+i)))); rec.Code != 401 {
				t.Fatalf("failure %d: %d", i, rec.Code)
			}
		}
		for i := range 50 {
			if rec := srv.do(formLogin("rae@lab.org", viewerPW)); rec.Code != 429 {
				t.Fatalf("refusal %d: %d", i, rec.Code)
			}
		}
		if n := counter("acct:rae@lab.org"); n != 4 {
			t.Fatalf("the account's counter is %d after 3 failures and 50 refusals, want 4 (only the first refusal written)", n)
		}
		// The address: 3 more evaluated failures close it (3 + 3 = 6), then
		// refusals for any address, known or not, write nothing, not even
		// the account counters they would have counted on first.
		for i := range 3 {
			if rec := srv.do(formLogin("guess"+string(rune('a'+i))+"@lab.org", "whatever-password-1")); rec.Code != 401 {
				t.Fatalf("ip failure %d: %d", i, rec.Code)
			}
		}
		for i := range 50 {
			if rec := srv.do(formLogin("other"+string(rune('a'+i%26))+"@lab.org", "whatever-password-1")); rec.Code != 429 {
				t.Fatalf("ip refusal %d: %d", i, rec.Code)
			}
		}
		if n := counter("ip:192.0.2.1"); n != 7 {
			t.Fatalf("the address's counter is %d, want 7", n)
		}
		for _, key := range []string{"acct:othera@lab.org", "acct:otherb@lab.org"} {
			if n := counter(key); n != 0 {
				t.Fatalf("%s counts %d after refusals only", key, n)
			}
		}
		if n := srv.auditCount(t, "login_throttled"); n != 2 {
			t.Fatalf("%d login_throttled events, want 2 (one per closed counter)", n)
		}
		clk.Advance(cfg.Throttle.Window + time.Second)
		srv.login(t, "rae@lab.org", viewerPW)
	})
}

// TestRefusedSetupGuessesWriteNothing: the same for wrong setup tokens.
func TestRefusedSetupGuessesWriteNothing(t *testing.T) {
	srv := newTestServer(t, Options{}, nil, nil)
	if _, err := srv.auth.PrepareSetup(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		rec := srv.do(request{method: "POST", path: "/api/setup", headers: map[string]string{"Content-Type": "application/json"},
			body: `{"token":"guess-` + strconv.Itoa(i) + `","email":"root@lab.org","name":"Root","password":"` + adminPW + `"}`})
		if want := map[bool]int{true: 403, false: 429}[i < 10]; rec.Code != want {
			t.Fatalf("guess %d: %d, want %d", i, rec.Code, want)
		}
	}
	c, err := srv.db.CounterState(t.Context(), "setup:192.0.2.1", time.Now())
	if err != nil || c.Failures != 11 {
		t.Fatalf("the setup counter is %d after 10 guesses and 30 refusals, want 11 (%v)", c.Failures, err)
	}
}
