package clustertest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// soakDuration is how long TestSoak runs: LABREVIEW_SOAK (a Go duration),
// else 75 s, the short run of `make test`; `make soak` runs 10 minutes.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("LABREVIEW_SOAK")
	if v == "" {
		return 75 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 30*time.Second {
		t.Fatalf("LABREVIEW_SOAK=%q: want a duration of at least 30s", v)
	}
	return d
}

// balancer stands for the load balancer in front of the instances: it
// sends each request to the next instance in rotation. An instance is
// taken out of rotation before it is stopped and put back once /readyz
// answers, as an orchestrator does in a rolling restart. A request that
// finds no listener or a closing connection (the moment of the switch)
// is sent to the next instance, as load balancers do for requests that
// never reached a server.
type balancer struct {
	mu   sync.Mutex
	live []*server
	turn atomic.Int64
	// retried counts requests sent again after a connection error, busy
	// those sent again after a 503.
	retried, busy atomic.Int64
}

func (b *balancer) pick() *server {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.live[int(b.turn.Add(1))%len(b.live)]
}

func (b *balancer) set(live ...*server) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.live = live
}

// do sends one request through the balancer. newReq builds it afresh for
// each try.
func (b *balancer) do(c *http.Client, method, path string, hdr map[string]string, body func() []byte) (result, string) {
	var r result
	var name string
	for try := 0; try < 4; try++ {
		in := b.pick()
		name = in.name
		var rd *strings.Reader
		if body != nil {
			rd = strings.NewReader(string(body()))
		} else {
			rd = strings.NewReader("")
		}
		r = do(c, method, in.base+path, hdr, rd)
		switch {
		case r.err != nil && neverReached(r.err):
			b.retried.Add(1)
			time.Sleep(50 * time.Millisecond)
		case unavailable(r):
			// The store is busy (the stand-in serialises every command):
			// the clients try again after a pause, as Retry-After asks.
			b.busy.Add(1)
			time.Sleep(time.Second)
		default:
			return r, name
		}
	}
	return r, name
}

// neverReached: errors of a request that no server processed (refused,
// or a kept-alive connection the server closed as the request went out).
func neverReached(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "server closed idle connection") || strings.Contains(err.Error(), "EOF")
}

// soakStats counts the answers of the soak.
type soakStats struct {
	mu        sync.Mutex
	byKind    map[string]map[int]int
	problems  []string
	latencies map[string][]time.Duration
}

func (s *soakStats) add(kind, instance string, r result, want ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKind[kind] == nil {
		s.byKind[kind] = map[int]int{}
	}
	status := r.status
	if r.err != nil {
		status = -1
	}
	s.byKind[kind][status]++
	s.latencies[kind] = append(s.latencies[kind], r.took)
	ok := false
	for _, w := range want {
		ok = ok || status == w
	}
	if !ok && len(s.problems) < 1000 {
		s.problems = append(s.problems, fmt.Sprintf("%s on %s at %s: %s", kind, instance, r.start.Format("15:04:05.000"), r))
	}
}

// TestSoak: 200 simulated browser sessions (sign-in, the refresh at page
// load, periodic refreshes, lists and run pages) and 8 ingesting jobs on
// two instances of one hosted store, across a rolling restart of both
// instances. No request may get a 401 or any other failure, no point may
// be lost, and each process's RSS and goroutines stay flat.
func TestSoak(t *testing.T) {
	length := soakDuration(t)
	// Browsers act every 20-40 s (a page, a list) and refresh their 60 s
	// access token after 30 s; jobs send a batch every 2 s. Heavier
	// rates saturate the FerretDB stand-in, which runs one command at a
	// time, on the two shared cores of the test machine.
	const (
		actEvery     = 20 * time.Second
		refreshAfter = 30 * time.Second
		batchEvery   = 2 * time.Second
		batch        = 50
	)
	const sessions, jobs, users = 200, 8, 40
	st := startStore(t)
	createAdmin(t, st, "soak", "admin@lab.test", password)
	env := hostedEnv(st, "soak",
		// Short access tokens make the sessions refresh often, as the
		// UI does before its token runs out.
		"LABREVIEW_AUTH_ACCESS_TOKEN_TTL=60s",
		"LABREVIEW_AUTH_LOGIN_THROTTLE_MAX_PER_ACCOUNT=100")
	a := startServer(t, "A", env)
	b := startServer(t, "B", env)
	lb := &balancer{}
	lb.set(a, b)
	admin := mustLogin(t, a.base, "admin@lab.test")
	for u := range users {
		createUser(t, a.base, admin, fmt.Sprintf("user%02d@lab.test", u), "reviewer")
	}
	client := loadClient()
	stats := &soakStats{byKind: map[string]map[int]int{}, latencies: map[string][]time.Duration{}}
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	sleep := func(d time.Duration) {
		select {
		case <-stop:
		case <-time.After(d):
		}
	}
	began := time.Now()

	// Jobs: each a run and two series, a batch every batchEvery;
	// a batch is sent again until answered 2xx (the clients' rule), so
	// every answered point must be there at the end.
	var runsMu sync.Mutex
	runIDs := make([]string, jobs)
	written := make([]int, jobs)
	var wg sync.WaitGroup
	for j := range jobs {
		_, token := createToken(t, a.base, admin, fmt.Sprint("soak job ", j))
		var run struct{ ID string }
		mustOK(t, "create run", do(quick, "POST", a.base+"/api/runs", withJSON(token),
			jsonBody(map[string]any{"project": "soak", "external_id": fmt.Sprint("job-", j), "status": "running"})), &run, 201)
		runIDs[j] = run.ID
		wg.Go(func() {
			for k := 0; !stopped(); {
				for _, name := range []string{"loss", "acc"} {
					r, in := lb.do(client, "POST", "/api/runs/"+run.ID+"/series", withJSON(token), func() []byte {
						return pointsJSON(name, k*batch, (k+1)*batch)
					})
					stats.add("append", in, r, 200)
				}
				// Only a batch answered for both series counts as written;
				// a failed one is sent again (its problem is recorded).
				k++
				runsMu.Lock()
				written[j] = k * batch
				runsMu.Unlock()
				sleep(batchEvery)
			}
		})
	}

	// Browser sessions.
	var signedIn atomic.Int64
	for i := range sessions {
		wg.Go(func() {
			email := fmt.Sprintf("user%02d@lab.test", i%users)
			// Arrive over the first 10 s.
			sleep(time.Duration(rand.Int64N(int64(10 * time.Second))))
			if stopped() {
				return
			}
			form := func() []byte {
				return []byte("username=" + strings.ReplaceAll(email, "@", "%40") + "&password=" + password)
			}
			r, in := lb.do(client, "POST", "/api/auth/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form)
			stats.add("sign-in", in, r, 200)
			s, r := grant(r, session{})
			if r.err != nil || r.status != 200 {
				return
			}
			signedIn.Add(1)
			refreshNow := func() {
				r, in := lb.do(client, "POST", "/api/auth/refresh", map[string]string{"Cookie": refreshCookie + "=" + s.cookie}, nil)
				stats.add("refresh", in, r, 200)
				if next, r := grant(r, s); r.err == nil && r.status == 200 {
					s = next
				}
			}
			// The page loads again (a reload restores the session from
			// the cookie).
			refreshNow()
			lastRefresh := time.Now()
			for !stopped() {
				sleep(actEvery + rand.N(actEvery))
				if stopped() {
					return
				}
				// The UI refreshes well before its token runs out.
				if time.Since(lastRefresh) > refreshAfter {
					refreshNow()
					lastRefresh = time.Now()
				}
				if rand.IntN(2) == 0 {
					r, in := lb.do(client, "GET", "/api/runs?limit=50&project=soak", bearer(s.access), nil)
					stats.add("list", in, r, 200)
					continue
				}
				id := runIDs[rand.IntN(jobs)]
				r, in := lb.do(client, "GET", "/api/runs/"+id, bearer(s.access), nil)
				stats.add("run page", in, r, 200)
				r, in = lb.do(client, "GET", "/api/runs/"+id+"/series?max_points=2000", bearer(s.access), nil)
				stats.add("series", in, r, 200)
			}
			// The session still works at the end.
			refreshNow()
		})
	}

	// Samples of each process's RSS and goroutines, every 2 s.
	type lifetime struct {
		name    string
		samples []sample
	}
	var lifeMu sync.Mutex
	lives := map[*server]*lifetime{a: {name: "A"}, b: {name: "B"}}
	var order []*lifetime
	order = append(order, lives[a], lives[b])
	current := []*server{a, b}
	var sampler sync.WaitGroup
	sampleStop := make(chan struct{})
	sampler.Go(func() {
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-sampleStop:
				return
			case <-tick.C:
			}
			lifeMu.Lock()
			for _, s := range current {
				if smp, err := s.sample(); err == nil {
					lives[s].samples = append(lives[s].samples, smp)
				}
			}
			lifeMu.Unlock()
		}
	})

	// The rolling restart: A at a third of the run, B at two thirds, each
	// taken out of rotation, stopped with SIGTERM (in-flight requests are
	// drained), started again and put back once ready.
	restart := func(old *server, other *server) *server {
		lb.set(other)
		lifeMu.Lock()
		current = []*server{other}
		lifeMu.Unlock()
		time.Sleep(500 * time.Millisecond) // the balancer's switch-over
		began := time.Now()
		old.stop()
		stopped := time.Now()
		fresh := startServer(t, old.name+"'", old.env)
		t.Logf("restarted %s: stopped (drained) in %s, ready %s later", old.name,
			stopped.Sub(began).Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))
		lifeMu.Lock()
		lives[fresh] = &lifetime{name: fresh.name}
		order = append(order, lives[fresh])
		current = []*server{fresh, other}
		lifeMu.Unlock()
		lb.set(fresh, other)
		return fresh
	}
	time.Sleep(length / 3)
	a2 := restart(a, b)
	time.Sleep(time.Until(began.Add(2 * length / 3)))
	b2 := restart(b, a2)
	time.Sleep(time.Until(began.Add(length)))
	close(stop)
	wg.Wait()
	close(sampleStop)
	sampler.Wait()

	// No lost point: each job's series hold every answered step, in order.
	admin = mustLogin(t, a2.base, "admin@lab.test")
	_, reader := createToken(t, a2.base, admin, "soak reader")
	points := 0
	for j, id := range runIDs {
		for _, name := range []string{"loss", "acc"} {
			count, _ := readSeries(t, b2.base, reader, id, name)
			if count < written[j] || count > written[j]+batch {
				t.Errorf("job %d, series %s: %d points stored, %d answered", j, name, count, written[j])
			}
			checkSeries(t, a2.base, reader, id, name, count)
			points += count
		}
	}

	stats.mu.Lock()
	defer stats.mu.Unlock()
	t.Logf("%s: %d sessions signed in, %d points ingested; sent again: %d requests after a connection error at a switch-over, %d after a 503",
		length, signedIn.Load(), points, lb.retried.Load(), lb.busy.Load())
	kinds := make([]string, 0, len(stats.byKind))
	for k := range stats.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		l := stats.latencies[k]
		t.Logf("%-9s %v  p50 %s p95 %s p99 %s", k, stats.byKind[k], percentile(l, 50).Round(100*time.Microsecond),
			percentile(l, 95).Round(100*time.Microsecond), percentile(l, 99).Round(100*time.Microsecond))
	}
	unauthorized, total := 0, 0
	for _, k := range kinds {
		unauthorized += stats.byKind[k][401]
		for _, n := range stats.byKind[k] {
			total += n
		}
	}
	// A 503 is the right answer of an overloaded store, and the clients
	// try again; more than a few would mean the instances fail requests
	// they should serve (or the machine is far too busy to judge).
	if busy := lb.busy.Load(); busy*100 > int64(total) {
		t.Errorf("%d of %d requests got 503 before they were served", busy, total)
	}
	if unauthorized > 0 {
		t.Errorf("%d spurious 401s", unauthorized)
	}
	if len(stats.problems) > 0 {
		t.Errorf("%d requests failed; the first: %s", len(stats.problems), strings.Join(stats.problems[:min(20, len(stats.problems))], "\n"))
	}
	if signedIn.Load() != sessions {
		t.Errorf("%d of %d sessions signed in", signedIn.Load(), sessions)
	}

	// Flat RSS and goroutines over each process's life.
	lifeMu.Lock()
	defer lifeMu.Unlock()
	for _, life := range order {
		judgeFlat(t, life.name, life.samples)
	}
}

// pointsJSON is one batch of steps [from, to) of a series.
func pointsJSON(name string, from, to int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{%q:[`, name)
	for s := from; s < to; s++ {
		if s > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%d,%v]", s, pointValue(s))
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// judgeFlat: after a warm-up (the first third of its samples), a
// process's RSS and goroutines in the last quarter of its life stay
// close to the first quarter: a leak of one goroutine or a few KiB per
// request grows without bound under this load.
func judgeFlat(t *testing.T, name string, samples []sample) {
	t.Helper()
	if len(samples) < 10 {
		t.Logf("%s: only %d samples, too few to judge", name, len(samples))
		return
	}
	s := samples[len(samples)/3:]
	q := len(s) / 4
	first, last := s[:q], s[len(s)-q:]
	med := func(xs []sample, f func(sample) float64) float64 {
		v := make([]float64, len(xs))
		for i, x := range xs {
			v[i] = f(x)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	rss := func(x sample) float64 { return float64(x.rss) / (1 << 20) }
	gor := func(x sample) float64 { return float64(x.goroutines) }
	r0, r1 := med(first, rss), med(last, rss)
	g0, g1 := med(first, gor), med(last, gor)
	peak := 0.0
	for _, x := range samples {
		peak = max(peak, rss(x))
	}
	t.Logf("%s: %d samples over %s; RSS median %.0f → %.0f MiB (peak %.0f), goroutines median %.0f → %.0f",
		name, len(samples), samples[len(samples)-1].at.Sub(samples[0].at).Round(time.Second), r0, r1, peak, g0, g1)
	if r1 > 1.5*r0+16 {
		t.Errorf("%s: RSS grew from %.0f to %.0f MiB", name, r0, r1)
	}
	if g1 > 1.5*g0+50 {
		t.Errorf("%s: goroutines grew from %.0f to %.0f", name, g0, g1)
	}
}
