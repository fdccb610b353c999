package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"labreview/db/dbtest"
	"labreview/db/sqlite"
)

// cli runs a labreview command in-process against dataDir.
func cli(t *testing.T, dataDir, stdin string, args ...string) (string, error) {
	t.Helper()
	return cliEnv(t, map[string]string{"LABREVIEW_DATA_DIR": dataDir}, stdin, args...)
}

// cliEnv runs a labreview command in-process with the given LABREVIEW_*
// variables.
func cliEnv(t *testing.T, vars map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	all := map[string]string{"LABREVIEW_SERVER_ADDR": "127.0.0.1:0"}
	for k, v := range vars {
		all[k] = v
	}
	cfg := filepath.Join(t.TempDir(), "empty.yaml")
	writeTestFile(t, cfg, "")
	err := run(context.Background(), append(args, "--config", cfg), envMap(all), strings.NewReader(stdin), &out, io.Discard)
	return out.String(), err
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := osWriteFile(path, []byte(content)); err != nil {
		t.Fatal(err)
	}
}

// TestUserCommandsWithoutServer: the CLI starts its own store when no
// server runs on the folder.
func TestUserCommandsWithoutServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out, err := cli(t, dir, "azure-pelican-harvest-3\n", "user", "create", "--email", "Ops@Lab.org", "--name", "Ops", "--role", "admin", "--password-stdin")
	if err != nil || !strings.Contains(out, "created ops@lab.org") {
		t.Fatalf("create: %v %q", err, out)
	}
	if _, err := cli(t, dir, "", "user", "create", "--email", "x@lab.org", "--name", "X"); err == nil || !strings.Contains(err.Error(), "--password-stdin") {
		t.Fatalf("create without --password-stdin: %v", err)
	}
	if _, err := cli(t, dir, "password1234\n", "user", "create", "--email", "y@lab.org", "--name", "Y", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("weak password accepted: %v", err)
	}
	if _, err := cli(t, dir, "", "user", "create", "--email", "z@lab.org", "--name", "Z", "--password", "x"); err == nil {
		t.Fatal("a --password flag was accepted")
	}
	out, err = cli(t, dir, "", "user", "list")
	if err != nil || !strings.Contains(out, "ops@lab.org") || !strings.Contains(out, "admin") || strings.Contains(out, "y@lab.org") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	// The last admin cannot be disabled, from the CLI either.
	if _, err := cli(t, dir, "", "user", "disable", "--email", "ops@lab.org"); err == nil {
		t.Fatal("the last admin was disabled")
	}
}

// TestUserCommandsBesideRunningServer: with the server live on the same
// folder, the CLI opens the same database (SQLite's locking arbitrates);
// the server sees the user at once, and a password change ends the user's
// sessions.
func TestUserCommandsBesideRunningServer(t *testing.T) {
	in := start(t, nil)
	in.waitLog(t, `"setup_url":"http://127.0.0.1:`)
	in.waitLog(t, "/setup?token=")
	if _, err := cli(t, in.dir, "saffron-glacier-violin-7\n", "user", "create", "--email", "sci@lab.org", "--name", "Scientist", "--role", "reviewer", "--password-stdin"); err != nil {
		t.Fatalf("create beside the server: %v", err)
	}
	login := func(pw string) int {
		resp, err := http.PostForm(in.base+"/api/auth/login", url.Values{"username": {"sci@lab.org"}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode
	}
	if code := login("saffron-glacier-violin-7"); code != 200 {
		t.Fatalf("login with the CLI-made user: %d", code)
	}
	if _, err := cli(t, in.dir, "indigo-walrus-compass-2\n", "user", "passwd", "--email", "sci@lab.org", "--password-stdin"); err != nil {
		t.Fatalf("passwd: %v", err)
	}
	if code := login("saffron-glacier-violin-7"); code != 401 {
		t.Fatalf("old password after passwd: %d", code)
	}
	if code := login("indigo-walrus-compass-2"); code != 200 {
		t.Fatalf("new password: %d", code)
	}
	if _, err := cli(t, in.dir, "", "user", "disable", "--email", "sci@lab.org"); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if code := login("indigo-walrus-compass-2"); code != 401 {
		t.Fatalf("disabled user can log in: %d", code)
	}
	if _, err := cli(t, in.dir, "", "user", "disable", "--email", "nobody@lab.org"); err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Fatalf("disable unknown: %v", err)
	}
}

// TestKeysRotate: a rotation beside a running server publishes a second key;
// tokens signed before it keep working.
func TestKeysRotate(t *testing.T) {
	in := start(t, nil)
	if _, err := cli(t, in.dir, "amber-falcon-ridge-31\n", "user", "create", "--email", "k@lab.org", "--name", "K", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(in.base+"/api/auth/login", url.Values{"username": {"k@lab.org"}, "password": {"amber-falcon-ridge-31"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	out, err := cli(t, in.dir, "", "keys", "rotate")
	if err != nil || !strings.Contains(out, "new signing key") {
		t.Fatalf("rotate: %v %q", err, out)
	}
	store, err := sqlite.Open(context.Background(), sqlite.Options{DataDir: in.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(context.Background())
	keys, err := store.SigningKeys(context.Background())
	if err != nil || len(keys) != 2 || keys[0].RetiredAt == nil || keys[1].RetiredAt != nil || !strings.Contains(out, keys[1].ID) {
		t.Fatalf("keys after rotation: %+v %v", keys, err)
	}
	req, _ := http.NewRequest("GET", in.base+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("token signed before the rotation: %d", r.StatusCode)
	}
}

func osWriteFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

func formLoginStatus(t *testing.T, base, email, password string) int {
	t.Helper()
	resp, err := http.PostForm(base+"/api/auth/login", url.Values{"username": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// exportBody is an export file without its header line (which names the
// source and the time).
func exportBody(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, rest, _ := strings.Cut(string(b), "\n")
	if !strings.Contains(header, `"format":"labreview-export"`) {
		t.Fatalf("%s has no export header: %s", path, header)
	}
	return rest
}

// TestMoveToHostedAndBack: a lab moves from the embedded database to a
// hosted MongoDB with two commands (export, import), signs in there with
// the same passwords, and moves back; the data comes back identical.
func TestMoveToHostedAndBack(t *testing.T) {
	work := t.TempDir()
	embedded := start(t, nil)
	if _, err := cli(t, embedded.dir, "azure-pelican-harvest-3\n", "user", "create", "--email", "mover@lab.org", "--name", "Mover",
		"--role", "admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	if code := formLoginStatus(t, embedded.base, "mover@lab.org", "azure-pelican-harvest-3"); code != 200 {
		t.Fatalf("login: %d", code)
	}
	first := filepath.Join(work, "embedded.jsonl")
	if _, err := cli(t, embedded.dir, "", "export", first); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(first); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("export file %v %v: want mode 0600", info, err)
	}
	if _, err := cli(t, embedded.dir, "", "export", first); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("export over an existing file: %v", err)
	}

	hosted := map[string]string{"LABREVIEW_MONGODB_URI": dbtest.MongoURI(t), "LABREVIEW_MONGODB_DATABASE": dbtest.FreshName(),
		"LABREVIEW_DATA_DIR": filepath.Join(work, "unused")}
	out, err := cliEnv(t, hosted, "", "import", first)
	if err != nil || !strings.Contains(out, "1 signing keys, 1 users") {
		t.Fatalf("import into hosted: %v %q", err, out)
	}
	server := start(t, hosted)
	server.waitReady(t)
	if code := formLoginStatus(t, server.base, "mover@lab.org", "azure-pelican-harvest-3"); code != 200 {
		t.Fatalf("login on the hosted database: %d", code)
	}
	server.stop()
	<-server.done
	server.done <- nil

	second := filepath.Join(work, "hosted.jsonl")
	if _, err := cliEnv(t, hosted, "", "export", second); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(work, "back")
	if _, err := cli(t, back, "", "import", second); err != nil {
		t.Fatal(err)
	}
	third := filepath.Join(work, "back.jsonl")
	if _, err := cli(t, back, "", "export", third); err != nil {
		t.Fatal(err)
	}
	if exportBody(t, third) != exportBody(t, second) {
		t.Fatal("hosted → embedded changed the data")
	}
	// The hosted export holds what the embedded one did, plus the hosted
	// login's session and audit events.
	for _, line := range strings.Split(strings.TrimSpace(exportBody(t, first)), "\n") {
		if strings.Contains(line, `"kind":"end"`) {
			continue
		}
		if !strings.Contains(exportBody(t, third), line) {
			t.Fatalf("a record did not survive the round trip: %s", line)
		}
	}
	if _, err := cli(t, back, "", "import", second); err == nil || !strings.Contains(err.Error(), "--merge") {
		t.Fatalf("import into a non-empty database: %v", err)
	}
	out, err = cli(t, back, "", "import", "--merge", second)
	if err != nil || !strings.Contains(out, "0 signing keys, 0 users") || !strings.Contains(out, "kept as they were") {
		t.Fatalf("merge of the same file: %v %q", err, out)
	}
}

// TestBackupBesideRunningServer: a backup taken while the server runs
// restores into a working server.
func TestBackupBesideRunningServer(t *testing.T) {
	in := start(t, nil)
	if _, err := cli(t, in.dir, "azure-pelican-harvest-3\n", "user", "create", "--email", "b@lab.org", "--name", "B", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "labreview-backup.db")
	out, err := cli(t, in.dir, "", "backup", file)
	if err != nil || !strings.Contains(out, "integrity check ok") {
		t.Fatalf("backup: %v %q", err, out)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if err := os.MkdirAll(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, sqlite.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	again := start(t, map[string]string{"LABREVIEW_DATA_DIR": restored})
	if code := formLoginStatus(t, again.base, "b@lab.org", "azure-pelican-harvest-3"); code != 200 {
		t.Fatalf("login on the restored backup: %d", code)
	}
	hosted := map[string]string{"LABREVIEW_MONGODB_URI": dbtest.MongoURI(t), "LABREVIEW_MONGODB_DATABASE": dbtest.FreshName()}
	if _, err := cliEnv(t, hosted, "", "backup", file+"2"); err == nil || !strings.Contains(err.Error(), "mongodump") {
		t.Fatalf("backup of a hosted database: %v", err)
	}
}
