package runs

import (
	"strings"
	"testing"
)

func TestCheckFilePath(t *testing.T) {
	for p, ok := range map[string]bool{
		"a.txt": true, "plots/loss curve.png": true, "ünï/cödé.csv": true,
		"": false, "/a": false, "a/": false, "a//b": false, "../a": false, "a/../b": false, "./a": false,
		"a\\b": false, "a\x00b": false, "a\nb": false, strings.Repeat("a", MaxFilePath+1): false, "\xff": false,
	} {
		if err := CheckFilePath(p); (err == nil) != ok {
			t.Errorf("CheckFilePath(%q) = %v, want ok=%v", p, err, ok)
		}
	}
	for name, want := range map[string]string{"a.PNG": "image/png", "x.html": "application/octet-stream",
		"x.svg": "application/octet-stream", "data.csv": "text/csv; charset=utf-8", "noext": "application/octet-stream"} {
		if got := ContentType(name); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", name, got, want)
		}
	}
}
