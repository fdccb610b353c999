package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"labreview/db/sqlite"
)

// TestFullOrReadOnlyDataFolder puts the data folder on a real, small tmpfs
// and fills it, then makes it read-only: writes get 503
// storage_unavailable in the JSON error shape, the server keeps serving,
// it recovers by itself once the disk is writable again, and the database
// passes integrity_check. Mounting needs privileges, so the scenario runs in
// a child process in its own user and mount namespaces (root or not).
func TestFullOrReadOnlyDataFolder(t *testing.T) {
	if os.Getenv("LABREVIEW_TEST_FAULTS_CHILD") == "1" {
		storageFaultsScenario(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFullOrReadOnlyDataFolder$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "LABREVIEW_TEST_FAULTS_CHILD=1", "LABREVIEW_TEST_FAULTS_DIR="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the scenario failed (%v):\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestFullOrReadOnlyDataFolder") || !strings.Contains(string(out), "scenario complete") {
		t.Fatalf("the scenario did not run:\n%s", out)
	}
}

func storageFaultsScenario(t *testing.T) {
	mnt := filepath.Join(os.Getenv("LABREVIEW_TEST_FAULTS_DIR"), "disk")
	if err := os.MkdirAll(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	// Mounts made here stay in this process's mount namespace.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make mounts private: %v", err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=4m,mode=0700"); err != nil {
		t.Fatalf("mount a tmpfs: %v", err)
	}
	defer syscall.Unmount(mnt, syscall.MNT_DETACH)
	dataDir := filepath.Join(mnt, "data")
	cheap := map[string]string{"LABREVIEW_AUTH_ARGON2_MEMORY_KIB": "19456", "LABREVIEW_AUTH_ARGON2_ITERATIONS": "2",
		"LABREVIEW_DATA_DIR": dataDir}
	in := start(t, cheap)
	if _, err := createDurableUser(t, dataDir, "user", "create", "--email", "f@lab.org", "--name", "F", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	login := func() (int, string) {
		resp, err := http.PostForm(in.base+"/api/auth/login", url.Values{"username": {"f@lab.org"}, "password": {durabilityPassword}})
		if err != nil {
			t.Fatalf("the server stopped answering: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var e struct {
			Error, Message string
			RequestID      string `json:"request_id"`
		}
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode == 503 && (e.Message == "" || e.RequestID == "" || resp.Header.Get("Retry-After") == "" ||
			strings.Contains(string(body), mnt) || strings.Contains(strings.ToLower(string(body)), "sqlite")) {
			t.Fatalf("503 without the clear error shape, or with internals: %s", body)
		}
		return resp.StatusCode, e.Error
	}
	if code, _ := login(); code != 200 {
		t.Fatalf("login before the faults: %d", code)
	}

	// Full: something else fills the disk.
	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	code, kind := login()
	if code != 503 || kind != "storage_unavailable" {
		t.Fatalf("login on a full disk: %d %q, want 503 storage_unavailable", code, kind)
	}
	if resp, _ := get(t, in.base+"/healthz", nil); resp.StatusCode != 200 {
		t.Fatal("the server is not serving on a full disk")
	}
	if !strings.Contains(in.logs.String(), "the data folder refuses writes") {
		t.Fatalf("no operator message in the log:\n%s", in.logs)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, _ := login(); code != 200 {
		t.Fatalf("login once space is free again: %d", code)
	}

	// Read-only: a file system cannot be remounted read-only while files on
	// it are open for writing (the kernel answers EBUSY), so this half
	// stops the server first. Started on a read-only folder, the server and
	// the CLI refuse with a message naming it; made writable again, it
	// starts and serves. (SQLite's own read-only error while running is
	// covered in db/sqlite's TestReadOnlyWritesAreStorageErrors.)
	in.stop()
	if err := <-in.done; err != nil {
		t.Fatalf("the server did not stop cleanly: %v", err)
	}
	in.done <- nil
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, "size=4m,mode=0700"); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	var logs strings.Builder
	err := run(context.Background(), []string{"serve", "--config", "/dev/null"},
		envMap(map[string]string{"LABREVIEW_DATA_DIR": dataDir, "LABREVIEW_SERVER_ADDR": "127.0.0.1:0"}),
		strings.NewReader(""), io.Discard, &logs)
	if err == nil || !strings.Contains(err.Error(), dataDir) || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("start on a read-only folder: %v", err)
	}
	if _, err := cli(t, dataDir, "", "user", "list"); err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("CLI on a read-only folder: %v", err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_REMOUNT, "size=4m,mode=0700"); err != nil {
		t.Fatalf("remount read-write: %v", err)
	}
	in = start(t, cheap)
	if code, _ := login(); code != 200 {
		t.Fatalf("login once the folder is writable again: %d", code)
	}
	in.stop()
	if err := <-in.done; err != nil {
		t.Fatalf("the server did not stop cleanly: %v", err)
	}
	in.done <- nil
	if err := sqlite.CheckIntegrity(context.Background(), filepath.Join(dataDir, sqlite.FileName)); err != nil {
		t.Fatal(err)
	}
	t.Log("scenario complete")
}

// fill writes path until the file system has no space left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}
