package cli

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFilePut: `labreview file put` streams a file to a run, under its
// name or --as, and the server gives the same bytes back; a second put
// replaces; a missing run stops with the server's message.
func TestFilePut(t *testing.T) {
	in, token := jobServer(t)
	out, _, err := job(t, in.base, token, `{"project":"files","external_id":"f-1"}`, "push", "-")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	dir := t.TempDir()
	// 2.4 MB: past server.max_body_bytes (1 MiB), which file uploads do not have.
	data := bytes.Repeat([]byte{0, 1, 2, 250, 255, '\n'}, 400_000)
	file := filepath.Join(dir, "weights.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	get := func(url string) []byte {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
		}
		return b
	}
	for _, args := range [][]string{{"file", "put", "--run", id, file}, {"file", "put", "--run", id, file, "--as", "model/ep 1/w.bin"}} {
		out, stderr, err := job(t, in.base, token, "", args...)
		if err != nil {
			t.Fatalf("%v: %v %s", args, err, stderr)
		}
		if got := get(strings.TrimSpace(out)); !bytes.Equal(got, data) {
			t.Fatalf("%v: %d bytes back, want %d", args, len(got), len(data))
		}
	}
	if err := os.WriteFile(file, []byte("v2"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = job(t, in.base, token, "", "file", "put", "--run", id, file)
	if err != nil || string(get(strings.TrimSpace(out))) != "v2" {
		t.Fatalf("replacing: %v", err)
	}
	if _, _, err := job(t, in.base, token, "", "file", "put", "--run", "000000000000000000000000", file); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a missing run: %v", err)
	}
}
