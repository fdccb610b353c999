package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"labreview/db"
)

// Benchmarks of the embedded store (figures in docs/benchmarks.md). Run:
//
//	go test -run '^$' -bench . -benchtime 5000x ./db/sqlite/
//
// They are not part of `make test`: seeding a million rows takes a while.

// percentiles reports p50, p95 and p99 of lat as benchmark metrics.
func percentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.95), "p95-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// seeded is a store filled for the lookup benchmarks, kept across the
// benchmark framework's repeated calls.
type seeded struct {
	s     *Store
	users []string // ids
	n     int
}

var (
	seedMu    sync.Mutex
	seedCache = map[int]*seeded{}
)

// seedScale returns a store with users accounts, each with 10 sessions and
// 10 audit events (so 100,000 users come with 1,000,000 sessions and
// 1,000,000 audit events).
func seedScale(b *testing.B, users int) *seeded {
	seedMu.Lock()
	defer seedMu.Unlock()
	if s, ok := seedCache[users]; ok {
		return s
	}
	dir, err := os.MkdirTemp("", "lr-bench-")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(context.Background(), Options{DataDir: dir, Server: true})
	if err != nil {
		b.Fatal(err)
	}
	out := &seeded{s: s, n: users}
	t0 := time.Now().Add(-time.Hour)
	start := time.Now()
	err = s.exclusiveTx(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		insUser, _ := tx.Prepare(insertUserSQL)
		insSess, _ := tx.Prepare(insertSessionSQL)
		insAudit, _ := tx.Prepare(insertAuditSQL)
		for i := range users {
			u := &db.User{ID: db.NewID(), Email: fmt.Sprintf("user%07d@lab.example.org", i), Name: "U", Role: db.RoleViewer,
				PasswordHash: "$argon2id$v=19$m=47104,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo",
				CreatedAt:    t0, UpdatedAt: t0, PasswordChangedAt: t0}
			if _, err := insUser.Exec(userArgs(u)...); err != nil {
				return err
			}
			out.users = append(out.users, u.ID)
			for j := range 10 {
				at := t0.Add(time.Duration(j) * time.Second)
				sess := &db.Session{ID: fmt.Sprintf("%s-%d", u.ID, j), UserID: u.ID, SecretHash: "c2VjcmV0aGFzaHNlY3JldGhhc2hzZWNyZXRoYXNoMTI", OldHashes: []string{},
					CreatedAt: at, LastUsedAt: at, IdleExpiresAt: t0.Add(2 * time.Hour), ExpiresAt: t0.Add(24 * time.Hour),
					UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", IP: "192.0.2.1"}
				if j%3 == 0 {
					sess.RevokedAt, sess.RevokedReason = &at, "logout"
				}
				if _, err := insSess.Exec(sessionArgs(sess)...); err != nil {
					return err
				}
				args, _ := auditArgs(&db.AuditEvent{ID: db.NewID(), At: at, Event: "login_ok", UserID: u.ID, ActorID: u.ID,
					SessionID: sess.ID, IP: "192.0.2.1", UserAgent: sess.UserAgent})
				if _, err := insAudit.Exec(args...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.w.Exec("PRAGMA analysis_limit = 1000; ANALYZE"); err != nil {
		b.Fatal(err)
	}
	// As the checkpointer does on a running server: the pages go from the
	// WAL into the database file (read through the memory map from then on).
	if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d users, %d sessions, %d audit events in %v", users, 10*users, 10*users, time.Since(start).Round(time.Second))
	seedCache[users] = out
	return out
}

// BenchmarkLookupsStayFlat measures the three lookups that must not slow
// down as data grows, at sizes 100× apart: sign-in lookup by email
// (1,000 and 100,000 users), a user's session list (10,000 and 1,000,000
// sessions stored) and a user-filtered audit page (10,000 and 1,000,000
// events). Keys are random, so the caches do not flatter the large size.
//
// Each lookup is measured in three states of the store:
//   - first: right after b.N untimed random lookups, so many pages are read
//     for the first time by the reader connection that needs them;
//   - steady: after every key has been looked up warmPasses times in
//     shuffled order, where an idle server that has been running for a
//     while is (every page it reads is in the OS's page cache);
//   - busy: steady, with a write committed every millisecond beside the
//     lookups (an audit event) and a pause of 200 µs between lookups, as on
//     a server in use: in WAL mode a reader's page cache is dropped when
//     another connection has committed, so most lookups read their pages
//     again from the OS's cache.
func BenchmarkLookupsStayFlat(b *testing.B) {
	const warmPasses = 2
	ctx := context.Background()
	for _, users := range []int{1_000, 10_000, 100_000} {
		lookups := []struct {
			name string
			run  func(s *seeded, key int) error
		}{
			{"sign-in-by-email", func(s *seeded, key int) error {
				_, err := s.s.UserByEmail(ctx, fmt.Sprintf("user%07d@lab.example.org", key))
				return err
			}},
			{"session-list", func(s *seeded, key int) error {
				list, err := s.s.LiveSessions(ctx, s.users[key], time.Now())
				if err == nil && len(list) != 6 {
					err = fmt.Errorf("%d live sessions, want 6", len(list))
				}
				return err
			}},
			{"audit-page-by-user", func(s *seeded, key int) error {
				page, _, err := s.s.ListAudit(ctx, db.AuditFilter{UserID: s.users[key]}, 50)
				if err == nil && len(page) != 10 {
					err = fmt.Errorf("%d events, want 10", len(page))
				}
				return err
			}},
		}
		for _, l := range lookups {
			for _, state := range []string{"first", "steady", "busy"} {
				b.Run(fmt.Sprintf("%s/%s/users=%d", l.name, state, users), func(b *testing.B) {
					s := seedScale(b, users)
					r := rand.New(rand.NewPCG(1, uint64(users)))
					warm := make([]int, 0, b.N)
					if state == "first" {
						for range b.N {
							warm = append(warm, r.IntN(s.n))
						}
					} else {
						for range warmPasses {
							warm = append(warm, r.Perm(s.n)...)
						}
					}
					for _, key := range warm {
						if err := l.run(s, key); err != nil {
							b.Fatal(err)
						}
					}
					pause := time.Duration(0)
					if state == "busy" {
						// The events go to a user outside the lookups' keys,
						// so every audit page keeps its 10 events.
						stop := writeEveryMillisecond(b, s.s, db.NewID())
						defer stop()
						pause = 200 * time.Microsecond
					}
					lat := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for range b.N {
						key := r.IntN(s.n)
						t0 := time.Now()
						if err := l.run(s, key); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(t0))
						if pause > 0 {
							time.Sleep(pause)
						}
					}
					b.StopTimer()
					percentiles(b, lat)
				})
			}
		}
	}
}

// writeEveryMillisecond commits an audit event for userID every millisecond
// until the returned function is called.
func writeEveryMillisecond(b *testing.B, s *Store, userID string) (stop func()) {
	ctx := context.Background()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				if err := s.InsertAudit(ctx, &db.AuditEvent{ID: db.NewID(), At: time.Now(), Event: "login_ok",
					UserID: userID, ActorID: userID}); err != nil {
					b.Error(err)
					return
				}
			}
		}
	}()
	return func() { close(quit); <-done }
}

// BenchmarkRotationTransaction is the raw cost of a refresh in SQLite, on
// the one writer connection, from 64 goroutines: the field notes' shape
// (select + conditional update + audit insert in one transaction), and the
// adapter's own refresh work (one conditional UPDATE … RETURNING).
func BenchmarkRotationTransaction(b *testing.B) {
	s := seedScale(b, 1_000)
	ctx := context.Background()
	b.Run("raw-tx-select-update-audit", func(b *testing.B) {
		runParallel64(b, s, func(sess *db.Session, i int) error {
			return s.s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
				var hash string
				if err := tx.QueryRow("SELECT secret_hash FROM sessions WHERE id = ?", sess.ID).Scan(&hash); err != nil {
					return err
				}
				next := fmt.Sprintf("h%d", i)
				if _, err := tx.Exec("UPDATE sessions SET secret_hash = ?, prev_hash = ? WHERE id = ? AND secret_hash = ?",
					next, hash, sess.ID, hash); err != nil {
					return err
				}
				args, _ := auditArgs(&db.AuditEvent{ID: db.NewID(), At: time.Now(), Event: "refresh", UserID: sess.UserID})
				_, err := tx.Exec(insertAuditSQL, args...)
				return err
			})
		})
	})
	b.Run("adapter-refresh", func(b *testing.B) {
		// What a refresh asks of the store: one conditional UPDATE …
		// RETURNING (the user comes from auth's cache).
		runParallel64(b, s, func(sess *db.Session, i int) error {
			next := fmt.Sprintf("h%d", i)
			got, err := s.s.RotateSession(ctx, sess.ID, sess.SecretHash, next, time.Now(), time.Hour, 16)
			if err == nil && got == nil {
				err = fmt.Errorf("rotation of %s lost", sess.ID)
			}
			sess.SecretHash = next
			return err
		})
	})
}

// runParallel64 runs op from 64 goroutines, each on a session of its own.
func runParallel64(b *testing.B, s *seeded, op func(sess *db.Session, i int) error) {
	ctx := context.Background()
	var mu sync.Mutex
	var lat []time.Duration
	var next int
	b.SetParallelism(max(1, 64/max(1, runtimeProcs())))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		uid := s.users[next%len(s.users)]
		next++
		mu.Unlock()
		now := time.Now()
		sess := &db.Session{ID: "bench-" + db.NewID(), UserID: uid, SecretHash: "h", OldHashes: []string{}, CreatedAt: now,
			LastUsedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
		if err := s.s.InsertSession(ctx, sess); err != nil {
			b.Error(err)
			return
		}
		var local []time.Duration
		i := 0
		for pb.Next() {
			t0 := time.Now()
			if err := op(sess, i); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(t0))
			i++
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "ops/s")
	percentiles(b, lat)
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
