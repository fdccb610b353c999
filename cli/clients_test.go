package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPythonClient runs clients/python's tests against the real server.
// Python 3 is part of the test machine (.ci/run installs it).
func TestPythonClient(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to test clients/python (apt-get install python3)")
	}
	in, token := jobServer(t)
	cmd := exec.Command(python, "-m", "unittest", "-v", "test_labreview")
	cmd.Dir = filepath.Join("..", "clients", "python")
	cmd.Env = append(os.Environ(), "LABREVIEW_URL="+in.base, "LABREVIEW_TOKEN="+token, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python tests failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
