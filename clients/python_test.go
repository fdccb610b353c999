package clients

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestPEP440Version(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3": "1.2.3", "1.4": "1.4", "v1.2.3-4-gabc1234": "1.2.3+4.gabc1234", "v1.2.3-4-gabc1234-dirty": "1.2.3+4.gabc1234.dirty",
		"b391e91": "0+b391e91", "b391e91-dirty": "0+b391e91.dirty", "dev": "0+dev", "": "0+unknown", "v9.9.9-test": "9.9.9+test",
		"Feature_X": "0+feature.x",
	} {
		if got := PEP440Version(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// TestWheel: the wheel holds the module with the version written in and
// metadata whose RECORD hashes match; one version builds the same bytes.
func TestWheel(t *testing.T) {
	p, err := NewPython("v1.2.3-4-gabc1234")
	if err != nil {
		t.Fatal(err)
	}
	if p.WheelName != "labreview-1.2.3+4.gabc1234-py3-none-any.whl" || !bytes.Contains(p.Source, []byte(`__version__ = "1.2.3+4.gabc1234"`)) {
		t.Fatalf("%s", p.WheelName)
	}
	zr, err := zip.NewReader(bytes.NewReader(p.Wheel), int64(len(p.Wheel)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	info := "labreview-1.2.3+4.gabc1234.dist-info/"
	if !bytes.Equal(files["labreview.py"], p.Source) || !strings.Contains(string(files[info+"METADATA"]), "Version: 1.2.3+4.gabc1234\n") ||
		!strings.Contains(string(files[info+"WHEEL"]), "Tag: py3-none-any") {
		t.Fatalf("files: %v", len(files))
	}
	for _, line := range strings.Split(strings.TrimSpace(string(files[info+"RECORD"])), "\n") {
		parts := strings.Split(line, ",")
		if parts[0] == info+"RECORD" {
			continue
		}
		sum := sha256.Sum256(files[parts[0]])
		if want := fmt.Sprintf("sha256=%s", base64.RawURLEncoding.EncodeToString(sum[:])); parts[1] != want || parts[2] != fmt.Sprint(len(files[parts[0]])) {
			t.Fatalf("RECORD %s", line)
		}
	}
	again, _ := NewPython("v1.2.3-4-gabc1234")
	if !bytes.Equal(again.Wheel, p.Wheel) {
		t.Fatal("one version built two different wheels")
	}
}
