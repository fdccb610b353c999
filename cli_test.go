package main

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

	"labreview/db/sqlite"
)

// cli runs a labreview command in-process against dataDir.
func cli(t *testing.T, dataDir, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	env := envMap(map[string]string{
		"LABREVIEW_DATA_DIR":    dataDir,
		"LABREVIEW_SERVER_ADDR": "127.0.0.1:0",
	})
	cfg := filepath.Join(t.TempDir(), "empty.yaml")
	writeTestFile(t, cfg, "")
	err := run(context.Background(), append(args, "--config", cfg), env, strings.NewReader(stdin), &out, io.Discard)
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
// folder, the CLI goes through its store socket; the server sees the user
// at once, and a password change ends the user's sessions.
func TestUserCommandsBesideRunningServer(t *testing.T) {
	t.Cleanup(func() { webUI = uiFS })
	webUI = testUI
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
	t.Cleanup(func() { webUI = uiFS })
	webUI = testUI
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
