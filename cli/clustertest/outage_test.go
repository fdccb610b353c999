package clustertest

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The figures: the store is away for 30 s; once it is back the
// service answers normally within 5 s, without a restart.
const (
	outageLength = 30 * time.Second
	recoveryTime = 5 * time.Second
)

// mixedLoad is the load of the outage tests: sign-ins, refreshes of
// sessions made before, ingest by jobs with API tokens (every batch
// retried until answered, as the clients do), and lists and run pages.
// Each request goes to the next instance in turn.
type mixedLoad struct {
	t         *testing.T
	instances []*server
	client    *http.Client
	rec       recorder
	stop      chan struct{}
	wg        sync.WaitGroup
	turn      atomic.Int64

	mu       sync.Mutex
	sessions map[int]session // refreshing sessions by worker, as last answered
	signedIn []session       // sessions the sign-in workers made
	written  map[string]int  // run id → points answered (steps 0..n-1 of "loss")
	runs     []string        // runs answered as created
}

func (l *mixedLoad) next() *server {
	return l.instances[int(l.turn.Add(1))%len(l.instances)]
}

func (l *mixedLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// pause waits d, or less when the load stops.
func (l *mixedLoad) pause(d time.Duration) {
	select {
	case <-l.stop:
	case <-time.After(d):
	}
}

// startMixedLoad starts the workers; email and password sign in, token is
// an API token with runs:read and runs:write, reader an access token for
// lists (its session is kept alive by the refresh workers' user).
func startMixedLoad(t *testing.T, instances []*server, email, token string) *mixedLoad {
	l := &mixedLoad{t: t, instances: instances, client: loadClient(), stop: make(chan struct{}),
		sessions: map[int]session{}, written: map[string]int{}}
	for w := range 4 {
		s, r := login(quick, instances[w%len(instances)].base, email, password)
		mustOK(t, "sign in before the load", r, nil)
		l.sessions[w] = s
	}
	// Sign-ins: each made session is kept and checked at the end.
	for range 2 {
		l.wg.Go(func() {
			for !l.stopped() {
				in := l.next()
				s, r := login(l.client, in.base, email, password)
				l.rec.add("sign-in", in.name, r)
				if ok2xx(r) {
					l.mu.Lock()
					l.signedIn = append(l.signedIn, s)
					l.mu.Unlock()
				}
				l.pause(300 * time.Millisecond)
			}
		})
	}
	// Refreshes: a browser keeps the last cookie it was answered with.
	for w := range 4 {
		l.wg.Go(func() {
			for !l.stopped() {
				l.mu.Lock()
				s := l.sessions[w]
				l.mu.Unlock()
				in := l.next()
				next, r := refresh(l.client, in.base, s)
				l.rec.add("refresh", in.name, r)
				if ok2xx(r) {
					l.mu.Lock()
					l.sessions[w] = next
					l.mu.Unlock()
				}
				l.pause(250 * time.Millisecond)
			}
		})
	}
	// Jobs: a run, then batches of 50 points; a batch or a create that got
	// no 2xx is sent again (to the next instance) until it is answered.
	for j := range 2 {
		l.wg.Go(func() {
			for k := 0; !l.stopped(); k++ {
				var runID string
				for !l.stopped() {
					in := l.next()
					r := do(l.client, "POST", in.base+"/api/runs", withJSON(token),
						jsonBody(map[string]any{"project": "outage", "external_id": fmt.Sprintf("job-%d-%d", j, k), "status": "running"}))
					l.rec.add("create run", in.name, r)
					if ok2xx(r) {
						var run struct{ ID string }
						mustDecode(r, &run)
						runID = run.ID
						l.mu.Lock()
						l.runs = append(l.runs, runID)
						l.mu.Unlock()
						break
					}
					l.pause(200 * time.Millisecond)
				}
				for b := 0; b < 20 && !l.stopped(); {
					in := l.next()
					r := appendPoints(l.client, in.base, token, runID, "loss", b*50, (b+1)*50)
					l.rec.add("append", in.name, r)
					if ok2xx(r) {
						b++
						l.mu.Lock()
						l.written[runID] = b * 50
						l.mu.Unlock()
					}
					l.pause(100 * time.Millisecond)
				}
			}
		})
	}
	// Lists and run pages.
	for range 2 {
		l.wg.Go(func() {
			for !l.stopped() {
				in := l.next()
				r := do(l.client, "GET", in.base+"/api/runs?limit=20&project=outage", bearer(token), nil)
				l.rec.add("list", in.name, r)
				l.mu.Lock()
				var id string
				if len(l.runs) > 0 {
					id = l.runs[len(l.runs)-1]
				}
				l.mu.Unlock()
				if id != "" {
					in := l.next()
					l.rec.add("run page", in.name, do(l.client, "GET", in.base+"/api/runs/"+id, bearer(token), nil))
					in = l.next()
					l.rec.add("series", in.name, do(l.client, "GET", in.base+"/api/runs/"+id+"/series?max_points=400", bearer(token), nil))
				}
				l.pause(150 * time.Millisecond)
			}
		})
	}
	return l
}

func mustDecode(r result, out any) {
	if err := jsonUnmarshal(r.body, out); err != nil {
		panic(err)
	}
}

func (l *mixedLoad) end() {
	close(l.stop)
	l.wg.Wait()
}

// checkAfterwards: every session still refreshes with the cookie it was
// last answered with (none consumed by an unanswered refresh, none
// ended), and every answered point and run is there.
func (l *mixedLoad) checkAfterwards(t *testing.T, token string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	all := append([]session(nil), l.signedIn...)
	for _, s := range l.sessions {
		all = append(all, s)
	}
	for i, s := range all {
		in := l.instances[i%len(l.instances)]
		if _, r := refresh(quick, in.base, s); !ok2xx(r) {
			t.Errorf("session %d of %d no longer refreshes with its last answered cookie: %s", i+1, len(all), r)
		}
	}
	for i, id := range l.runs {
		in := l.instances[i%len(l.instances)]
		mustOK(t, "answered run "+id, do(quick, "GET", in.base+"/api/runs/"+id, bearer(token), nil), nil)
		if n := l.written[id]; n > 0 {
			checkSeries(t, in.base, token, id, "loss", n)
		}
	}
	points := 0
	for _, n := range l.written {
		points += n
	}
	t.Logf("afterwards: %d sessions refresh, %d runs and %d answered points are all there", len(all), len(l.runs), points)
}

// judgeOutage checks the records against the outage from cut to back:
// before it everything succeeds; from the cut until recoveryTime after
// the return, each request succeeds or gets 503 with Retry-After; after
// that everything succeeds again. Nothing is ever a 401 or another error.
// It returns, per kind, how long after the return the last failure came.
func judgeOutage(t *testing.T, recs []record, cut, back time.Time) {
	t.Helper()
	recovered := back.Add(recoveryTime)
	var bad []string
	lastFailure := map[string]time.Time{}
	during, unavail := 0, 0
	var slowest time.Duration
	for _, r := range recs {
		end := r.start.Add(r.took)
		switch {
		case end.Before(cut) || r.start.After(recovered):
			if !ok2xx(r.result) {
				bad = append(bad, fmt.Sprintf("%s on %s at %s (store %s): %s", r.kind, r.instance,
					r.start.Sub(cut).Round(time.Millisecond), map[bool]string{true: "up", false: "back"}[end.Before(cut)], r))
			}
		default:
			during++
			if ok2xx(r.result) {
				continue
			}
			if !unavailable(r.result) {
				bad = append(bad, fmt.Sprintf("%s on %s at cut%+s: %s", r.kind, r.instance, r.start.Sub(cut).Round(time.Millisecond), r))
				continue
			}
			unavail++
			slowest = max(slowest, r.took)
			if end.After(lastFailure[r.kind]) {
				lastFailure[r.kind] = end
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d requests went wrong; the first: %s", len(bad), strings.Join(bad[:min(len(bad), 10)], "\n"))
	}
	if unavail == 0 {
		t.Errorf("no request got 503 during the outage (%d requests): the store was not cut", during)
	}
	var worst time.Duration
	for kind, at := range lastFailure {
		t.Logf("%s: last 503 %s after the store came back", kind, at.Sub(back).Round(time.Millisecond))
		worst = max(worst, at.Sub(back))
	}
	t.Logf("%d requests during the outage, %d answered 503 + Retry-After (slowest answer %s), the rest served; recovered %s after the store came back",
		during, unavail, slowest.Round(time.Millisecond), max(worst, 0).Round(time.Millisecond))
	t.Logf("all requests: %s", summary(recs))
}

// TestHostedStoreOutageUnderLoad cuts the proxy between two instances and
// their store for 30 s in the middle of a mixed load.
func TestHostedStoreOutageUnderLoad(t *testing.T) {
	st := startStore(t)
	createAdmin(t, st, "outage", "admin@lab.test", password)
	env := hostedEnv(st, "outage", "LABREVIEW_AUTH_LOGIN_THROTTLE_MAX_PER_ACCOUNT=100000", "LABREVIEW_AUTH_REFRESH_PER_MINUTE=0")
	a := startServer(t, "A", env)
	b := startServer(t, "B", env)
	admin := mustLogin(t, a.base, "admin@lab.test")
	_, token := createToken(t, a.base, admin, "outage job")

	l := startMixedLoad(t, []*server{a, b}, "admin@lab.test", token)
	time.Sleep(5 * time.Second)
	st.proxy.Cut()
	cut := time.Now()
	t.Logf("store cut off")
	time.Sleep(outageLength)
	st.proxy.Restore()
	back := time.Now()
	t.Logf("store back")
	time.Sleep(recoveryTime + 4*time.Second)
	l.end()
	judgeOutage(t, l.rec.all(), cut, back)
	if t.Failed() {
		for _, s := range []*server{a, b} {
			t.Logf("log of %s:\n%s", s.name, lastLines(s.logs.String(), 40))
		}
	}
	l.checkAfterwards(t, token)
	var reuse struct{ Events []any }
	mustOK(t, "audit", do(quick, "GET", a.base+"/api/audit?event=refresh_reuse", bearer(admin.access), nil), &reuse)
	if len(reuse.Events) != 0 {
		t.Errorf("%d refresh reuses were detected", len(reuse.Events))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestEmbeddedStoreLockedUnderLoad: the same checks on the embedded
// store while another process holds an exclusive lock on its file (a
// sqlite3 shell left in BEGIN EXCLUSIVE, say). A full disk has its own
// test (cli/faults_test.go).
func TestEmbeddedStoreLockedUnderLoad(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(bins.labreview, "user", "create", "--email", "admin@lab.test", "--name", "Admin", "--role", "admin", "--password-stdin")
	cmd.Env = append(os.Environ(), "LABREVIEW_DATA_DIR="+dataDir)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	s := startServer(t, "embedded", []string{"LABREVIEW_DATA_DIR=" + dataDir, "LABREVIEW_AUTH_LOGIN_THROTTLE_MAX_PER_ACCOUNT=100000", "LABREVIEW_AUTH_REFRESH_PER_MINUTE=0"})
	admin := mustLogin(t, s.base, "admin@lab.test")
	_, token := createToken(t, s.base, admin, "locked job")

	l := startMixedLoad(t, []*server{s}, "admin@lab.test", token)
	time.Sleep(5 * time.Second)
	lock := exec.Command(bins.sqlitelock, filepath.Join(dataDir, "labreview.db"))
	stdin, err := lock.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := lock.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var lockErr strings.Builder
	lock.Stderr = &lockErr
	if err := lock.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		_ = lock.Process.Kill()
		t.Fatalf("sqlitelock: %q %v %s", line, err, lockErr.String())
	}
	cut := time.Now()
	t.Logf("the database file is locked by process %d", lock.Process.Pid)
	time.Sleep(lockedLength)
	_ = stdin.Close()
	if err := lock.Wait(); err != nil {
		t.Fatalf("sqlitelock: %v %s", err, lockErr.String())
	}
	back := time.Now()
	t.Logf("lock released")
	time.Sleep(recoveryTime + 4*time.Second)
	l.end()
	judgeOutage(t, l.rec.all(), cut, back)
	if t.Failed() {
		t.Logf("log:\n%s", lastLines(s.logs.String(), 40))
	}
	l.checkAfterwards(t, token)
}

// lockedLength is how long the embedded test holds the lock: long
// enough for every kind of write to meet it, past the 10 s a write may
// wait for the writer.
const lockedLength = 20 * time.Second
