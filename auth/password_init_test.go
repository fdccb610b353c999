package auth

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// initTraceLine is one line of GODEBUG=inittrace=1 output:
// "init pkg @t ms, c ms clock, N bytes, M allocs".
var initTraceLine = regexp.MustCompile(`(?m)^init (\S+) @\S+ ms, \S+ ms clock, (\d+) bytes, \d+ allocs$`)

// TestStrengthEstimatorBuildsOnFirstUse: the zxcvbn dictionaries (about
// 10 MB) are built when a password is first checked, not in package init,
// which every process pays at start: the server and each CLI call,
// healthcheck probes included. It runs this test binary again with
// inittrace and adds up what the estimator's packages allocate at init.
func TestStrengthEstimatorBuildsOnFirstUse(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var total, packages int
	for _, m := range initTraceLine.FindAllStringSubmatch(string(out), -1) {
		if strings.HasPrefix(m[1], "labreview/auth/internal/zxcvbn") {
			n, _ := strconv.Atoi(m[2])
			total += n
			packages++
		}
	}
	if packages == 0 {
		t.Fatalf("no init trace of the estimator's packages in:\n%s", out)
	}
	t.Logf("zxcvbn packages allocate %d bytes in %d package inits", total, packages)
	if total > 1<<20 {
		t.Fatalf("zxcvbn's package inits allocate %d bytes: the dictionaries are built at start again", total)
	}
}
