package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/sqlite"
)

// process is labreview running as a separate process (this test binary
// re-executed as main), so that a test can kill it.
type process struct {
	cmd  *exec.Cmd
	base string
	logs *logSink
	done chan error
}

// startProcess runs `labreview serve` on dataDir with env added, on a port
// the process picks itself (read back from its log, so no other program
// can take the port in between), and waits until /readyz answers 200.
func startProcess(t *testing.T, dataDir string, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LABREVIEW_TEST_EXEC_MAIN=1", "LABREVIEW_TEST_ARGS=serve --config /dev/null")
	return launch(t, cmd, dataDir, env)
}

// startBinary is startProcess with labreview built as `make build` builds
// it, not this test binary: under -race the test binary's memory is the
// race detector's (about twice the server's own, measured), so a test of
// the server's resident memory runs this one.
func startBinary(t *testing.T, dataDir string, env map[string]string) *process {
	t.Helper()
	return launch(t, exec.Command(plainBinary(t), "serve", "--config", "/dev/null"), dataDir, env)
}

// plainBinary builds labreview into the test's folder with the flags of
// `make build` (so the build cache serves both) and without -race.
func plainBinary(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "labreview")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "nomsgpack", "-o", path, "labreview")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build labreview: %v\n%s", err, out)
	}
	return path
}

// launch starts cmd as `labreview serve` on dataDir with env added.
func launch(t *testing.T, cmd *exec.Cmd, dataDir string, env map[string]string) *process {
	t.Helper()
	cmd.Env = append(cmd.Env,
		"LABREVIEW_SERVER_ADDR=127.0.0.1:0",
		"LABREVIEW_DATA_DIR="+dataDir,
		"LABREVIEW_LOG_FORMAT=json",
	)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, logs: newLogSink(), done: make(chan error, 1)}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done; p.done <- nil })
	select {
	case addr := <-p.logs.addr:
		p.base = "http://" + addr
	case err := <-p.done:
		t.Fatalf("the server exited at start: %v\n%s", err, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not listen:\n%s", p.logs)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("the server exited at start: %v\n%s", err, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not get ready:\n%s", p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// client is one browser-like session: its access token and the refresh
// cookie of the last answered response.
type client struct {
	access, refresh string
}

var noRedirect = &http.Client{Timeout: 10 * time.Second}

func (p *process) login(email, password string) (*client, error) {
	resp, err := noRedirect.PostForm(p.base+"/api/auth/login", url.Values{"username": {email}, "password": {password}})
	if err != nil {
		return nil, err
	}
	return readGrant(resp, nil)
}

func (p *process) refresh(c *client) (*client, int, error) {
	req, _ := http.NewRequest(http.MethodPost, p.base+"/api/auth/refresh", nil)
	req.AddCookie(&http.Cookie{Name: "__Secure-labreview_refresh", Value: c.refresh})
	resp, err := noRedirect.Do(req)
	if err != nil {
		return nil, 0, err
	}
	next, err := readGrant(resp, c)
	return next, resp.StatusCode, err
}

// readGrant reads a whole token response; only then does it count as
// answered. A refresh answered from the grace window sets no cookie: the
// client keeps its current one.
func readGrant(resp *http.Response, prev *client) (*client, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("no token in %s", body)
	}
	next := &client{access: tok.AccessToken}
	if prev != nil {
		next.refresh = prev.refresh
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Secure-labreview_refresh" && ck.Value != "" {
			next.refresh = ck.Value
		}
	}
	if next.refresh == "" {
		return nil, errors.New("no refresh cookie")
	}
	return next, nil
}

// durabilityEnv: cheap password hashing, no refresh rate limit (the load
// refreshes as fast as it can), and a grace window long enough that a
// refresh whose answer was lost in the crash is still honoured after the
// restart.
var durabilityEnv = map[string]string{
	"LABREVIEW_AUTH_ARGON2_MEMORY_KIB":         "19456",
	"LABREVIEW_AUTH_ARGON2_ITERATIONS":         "2",
	"LABREVIEW_AUTH_REFRESH_PER_MINUTE":        "0",
	"LABREVIEW_AUTH_REFRESH_REUSE_GRACE":       "60s",
	"LABREVIEW_AUTH_LOGIN_THROTTLE_MAX_PER_IP": "100000",
}

const durabilityPassword = "orbital-granite-lantern-42"

// createDurableUser runs a user command on dataDir with durabilityPassword
// on standard input, hashing as the server of durabilityEnv does: a hash
// made with the default (dearer) parameters made each first sign-in take
// seconds under the race detector, and the load of the kill test began
// only after its 10 s client timeout.
func createDurableUser(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	vars := map[string]string{"LABREVIEW_DATA_DIR": dataDir}
	for k, v := range durabilityEnv {
		vars[k] = v
	}
	return cliEnv(t, vars, durabilityPassword+"\n", args...)
}

// TestKillDuringWritesLosesNothing kills the server with SIGKILL in the
// middle of a write load (logins and refresh rotations, each a session
// write plus audit), restarts it, and checks that the database is intact,
// that every answered login left its session and audit event, and that
// every session keeps working with the last cookie it was given.
func TestKillDuringWritesLosesNothing(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, err := createDurableUser(t, dataDir, "user", "create", "--email", "load@lab.org", "--name", "Load",
		"--role", "admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, dataDir, durabilityEnv)

	var mu sync.Mutex
	var answered []*client // the last answered state of every session
	var logins, refreshes atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for {
				c, err := p.login("load@lab.org", durabilityPassword)
				if err != nil {
					return // the server is gone
				}
				logins.Add(1)
				mu.Lock()
				slot := len(answered)
				answered = append(answered, c)
				mu.Unlock()
				for range 25 {
					select {
					case <-stop:
						return
					default:
					}
					next, _, err := p.refresh(c)
					if err != nil {
						return
					}
					refreshes.Add(1)
					c = next
					mu.Lock()
					answered[slot] = c
					mu.Unlock()
				}
			}
		})
	}
	// Kill once the load is well under way (password hashing makes the
	// first logins take a while on a busy machine).
	deadline := time.Now().Add(60 * time.Second)
	for (logins.Load() < 12 || refreshes.Load() < 200) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	<-p.done
	p.done <- nil
	if logins.Load() < 12 || refreshes.Load() < 200 {
		t.Fatalf("too little load before the kill: %d logins, %d refreshes\n%s", logins.Load(), refreshes.Load(), p.logs)
	}
	t.Logf("killed after %d answered logins and %d answered refreshes", logins.Load(), refreshes.Load())

	if err := sqlite.CheckIntegrity(context.Background(), filepath.Join(dataDir, sqlite.FileName)); err != nil {
		t.Fatalf("after SIGKILL: %v", err)
	}
	store, err := sqlite.Open(context.Background(), sqlite.Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	okEvents := 0
	f := db.AuditFilter{Event: "login_ok"}
	for {
		page, more, err := store.ListAudit(context.Background(), f, 200)
		if err != nil {
			t.Fatal(err)
		}
		okEvents += len(page)
		if !more {
			break
		}
		f.Before = page[len(page)-1].ID
	}
	_ = store.Close(context.Background())
	if int64(okEvents) < logins.Load() {
		t.Fatalf("%d login_ok audit events survived, but %d logins were answered", okEvents, logins.Load())
	}

	again := startProcess(t, dataDir, durabilityEnv)
	for i, c := range answered {
		if _, code, err := again.refresh(c); err != nil {
			t.Fatalf("session %d of %d, answered before the kill, no longer refreshes: %d %v", i+1, len(answered), code, err)
		}
		req, _ := http.NewRequest("GET", again.base+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+c.access)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("an access token answered before the kill: %d", resp.StatusCode)
		}
	}
}

// TestSecondServerOnFolderIsRefused: the embedded mode is one server per
// data folder; a second one exits with a message naming the folder.
func TestSecondServerOnFolderIsRefused(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	startProcess(t, dataDir, nil)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LABREVIEW_TEST_EXEC_MAIN=1", "LABREVIEW_TEST_ARGS=serve --config /dev/null",
		"LABREVIEW_SERVER_ADDR=127.0.0.1:0", "LABREVIEW_DATA_DIR="+dataDir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("second server: %v\n%s", err, out)
	}
	line := lastLine(string(out))
	abs, _ := filepath.Abs(dataDir)
	for _, want := range []string{"another labreview server is already running on this data folder", abs, "process "} {
		if !strings.Contains(line, want) {
			t.Errorf("message %q lacks %q", line, want)
		}
	}
}

// TestUpgradeFromTheFerretDBStore starts this version on a data folder
// written by labreview 80ebe03, whose embedded store was FerretDB: the data
// is imported at start, everyone signs in with their old password, and the
// log says that sessions were not carried over.
func TestUpgradeFromTheFerretDBStore(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	err := filepath.Walk("../db/sqlite/testdata/legacy-v0", func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../db/sqlite/testdata/legacy-v0", path)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dataDir, rel), 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dataDir, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	var expected struct {
		Passwords map[string]string `json:"passwords"`
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "expected.json"))
	if err != nil || json.Unmarshal(b, &expected) != nil || len(expected.Passwords) != 3 {
		t.Fatalf("fixture: %v", err)
	}
	in := start(t, map[string]string{"LABREVIEW_DATA_DIR": dataDir})
	in.waitLog(t, "sessions were not imported")
	for email, password := range expected.Passwords {
		want := 200
		if email == "dis@lab.test" {
			want = 401 // disabled before the upgrade, and still
		}
		if code := formLoginStatus(t, in.base, email, password); code != want {
			t.Errorf("%s after the upgrade: %d, want %d", email, code, want)
		}
	}
	if resp, _ := get(t, in.base+"/api/setup", nil); resp.StatusCode != 200 {
		t.Fatal("setup state unreadable")
	}
	if _, body := get(t, in.base+"/api/setup", nil); !strings.Contains(string(body), `"needed":false`) {
		t.Fatalf("the upgraded server asks for first-run setup: %s", body)
	}
}
