package cli

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	cmd.Env = append(os.Environ(), "LABREVIEW_URL="+in.base, "LABREVIEW_TOKEN="+token, "PYTHONDONTWRITEBYTECODE=1",
		"LABREVIEW_SPOOL="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python tests failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// TestSpoolsAreOneFormat: a spool the Python client left is sent by
// `labreview sync`, and one `labreview log` left by `python -m labreview
// sync`.
func TestSpoolsAreOneFormat(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to test clients/python (apt-get install python3)")
	}
	in, token := jobServer(t)
	dead := "http://127.0.0.1:9"
	pySpool, goSpool := t.TempDir(), t.TempDir()
	script := `import labreview
c = labreview.Client(url="` + dead + `", retry_for=0.3)
with labreview.run("formats", "from-python", client=c, spool="` + pySpool + `", params={"lr": 2.0}) as run:
    for s in range(5):
        run.log("val.loss", 1.0 / (s + 1), s)
`
	cmd := exec.Command(python, "-c", script)
	cmd.Dir = filepath.Join("..", "clients", "python")
	cmd.Env = append(os.Environ(), "LABREVIEW_TOKEN="+token, "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "kept in "+pySpool) {
		t.Fatalf("python job: %v\n%s", err, out)
	}
	out, stderr, err := jobEnv(t, map[string]string{"LABREVIEW_TOKEN": token}, "", "sync", pySpool, "--url", in.base)
	if err != nil || !strings.Contains(out, "sent 2 records (5 points)") {
		t.Fatalf("labreview sync of a Python spool: %v\n%s\n%s", err, out, stderr)
	}

	runID, _, err := job(t, in.base, token, `{"project":"formats","external_id":"from-go"}`, "push")
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, err = jobEnv(t, map[string]string{"LABREVIEW_URL": dead, "LABREVIEW_TOKEN": token, "LABREVIEW_SPOOL": goSpool},
		"0 1\n1 2\n2 3\n", "log", "--run", strings.TrimSpace(runID), "--series", "train/loss", "--retry-for", "300ms", "--best-effort")
	if err != nil || !strings.Contains(stderr, "kept in "+goSpool) {
		t.Fatalf("log, offline: %v\n%s", err, stderr)
	}
	cmd = exec.Command(python, "-m", "labreview", "sync", goSpool, "--url", in.base)
	cmd.Dir = filepath.Join("..", "clients", "python")
	cmd.Env = append(os.Environ(), "LABREVIEW_TOKEN="+token, "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "(3 points)") {
		t.Fatalf("python -m labreview sync of a CLI spool: %v\n%s", err, out)
	}
	var page struct {
		Runs []struct {
			ExternalID string `json:"external_id"`
			Params     map[string]any
			Status     string
		}
	}
	apiGet(t, in.base, token, "/api/runs?project=formats&q="+url.QueryEscape(`count("val.loss") = 5 or count("train/loss") = 3`), &page)
	if len(page.Runs) != 2 || page.Runs[1].Status != "succeeded" || page.Runs[1].Params["lr"] != 2.0 {
		t.Fatalf("runs: %+v", page.Runs)
	}
}
