package clients

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Python is the Python client as one server serves it: the file with the
// server's version written in, and a pure-Python wheel of it.
type Python struct {
	// Version is the server's version in PEP 440 form (PEP440Version).
	Version string
	// Source is labreview.py with __version__ set to Version.
	Source []byte
	// Wheel is labreview-<Version>-py3-none-any.whl; WheelName its file
	// name and WheelSHA256 its hash in hex (for an index's #sha256=).
	Wheel       []byte
	WheelName   string
	WheelSHA256 string
}

const versionLine = `__version__ = "0+dev"`

// NewPython builds the Python client for a server of version (as the
// linker stamped it: v1.2.3, v1.2.3-4-gabcdef0-dirty, a commit, dev).
func NewPython(version string) (*Python, error) {
	v := PEP440Version(version)
	if bytes.Count(pythonSource, []byte(versionLine)) != 1 {
		return nil, fmt.Errorf("clients: labreview.py has no line %s", versionLine)
	}
	p := &Python{Version: v, Source: bytes.Replace(pythonSource, []byte(versionLine), []byte(`__version__ = "`+v+`"`), 1)}
	p.WheelName = "labreview-" + v + "-py3-none-any.whl"
	wheel, err := buildWheel(v, p.Source, version)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(wheel)
	p.Wheel, p.WheelSHA256 = wheel, hex.EncodeToString(sum[:])
	return p, nil
}

var (
	releaseRE = regexp.MustCompile(`^v?(\d+(?:\.\d+)*)(.*)$`)
	nonAlnum  = regexp.MustCompile(`[^A-Za-z0-9]+`)
)

// PEP440Version maps a build version to a version pip accepts: a release
// number stays (v1.2.3 → 1.2.3), what follows it becomes a local label
// (v1.2.3-4-gabc → 1.2.3+4.gabc), and a version without a release number
// is a local label of 0 (b391e91-dirty → 0+b391e91.dirty).
func PEP440Version(version string) string {
	release, rest := "0", version
	if m := releaseRE.FindStringSubmatch(version); m != nil {
		release, rest = m[1], m[2]
	}
	local := strings.Trim(nonAlnum.ReplaceAllString(rest, "."), ".")
	if local == "" {
		if release == "0" {
			return "0+unknown"
		}
		return release
	}
	return release + "+" + strings.ToLower(local)
}

// wheelTime is every file's time in the wheel, so that one version always
// builds the same bytes (zip cannot hold times before 1980).
var wheelTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// buildWheel writes a wheel (PEP 427) holding the one module and its
// metadata (core metadata 2.1, no dependencies, Python ≥ 3.8).
func buildWheel(version string, source []byte, build string) ([]byte, error) {
	info := "labreview-" + version + ".dist-info/"
	metadata := "Metadata-Version: 2.1\nName: labreview\nVersion: " + version + "\n" +
		"Summary: labreview job client: report runs and their series from cluster jobs\n" +
		"Requires-Python: >=3.8\nLicense: the labreview server's\nDescription-Content-Type: text/markdown\n\n" + string(pythonReadme)
	files := []struct {
		name string
		data []byte
	}{
		{"labreview.py", source},
		{info + "METADATA", []byte(metadata)},
		{info + "WHEEL", []byte("Wheel-Version: 1.0\nGenerator: labreview " + build + "\nRoot-Is-Purelib: true\nTag: py3-none-any\n")},
	}
	var record strings.Builder
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: wheelTime})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	for _, f := range files {
		if err := add(f.name, f.data); err != nil {
			return nil, fmt.Errorf("clients: wheel: %w", err)
		}
		sum := sha256.Sum256(f.data)
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.data))
	}
	record.WriteString(info + "RECORD,,\n")
	if err := add(info+"RECORD", []byte(record.String())); err != nil {
		return nil, fmt.Errorf("clients: wheel: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("clients: wheel: %w", err)
	}
	return buf.Bytes(), nil
}
