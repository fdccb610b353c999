package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// A spool keeps what a job sends until the server has it: a JSON Lines
// file per run and process, under a folder the job chooses (default
// ~/.labreview/spool). Its first line is a header naming the server and
// the run; each later line is a record to send, in order ({"seq": N,
// "op": "points" | "patch", "body": …}: a series batch or a change of the
// run, as the API takes them), or an acknowledgement ({"ack": N}: the
// records up to N reached the server). Every record is synced to disk
// before it is sent. A file whose records were all acknowledged is
// removed; one that is left is sent later by `labreview sync DIR` or
// `python -m labreview sync DIR`, which replay the unacknowledged records
// (every write is idempotent, so a record sent twice adds nothing). The
// Python client (clients/python/labreview.py) writes the same format; the
// token is never written. docs/ingest.md, "The spool".

// spoolVersion is the format's version, in the header.
const spoolVersion = 1

// spoolHeader is a spool file's first line.
type spoolHeader struct {
	Spool int    `json:"labreview_spool"`
	URL   string `json:"url"`
	// RunID names the run when the job knew it (labreview log --run);
	// else Project and ExternalID with the run document to create it.
	RunID      string          `json:"run_id,omitempty"`
	Project    string          `json:"project,omitempty"`
	ExternalID string          `json:"external_id,omitempty"`
	Create     json.RawMessage `json:"create,omitempty"`
	Writer     string          `json:"writer"`
	Host       string          `json:"host"`
	PID        int             `json:"pid"`
	CreatedAt  string          `json:"created_at"`
}

// spoolRecord is one later line: a record, an acknowledgement, or the
// id of the run once the server created it ({"run_id": …}).
type spoolRecord struct {
	Seq   int64           `json:"seq,omitempty"`
	Op    string          `json:"op,omitempty"`
	Body  json.RawMessage `json:"body,omitempty"`
	Ack   int64           `json:"ack,omitempty"`
	RunID string          `json:"run_id,omitempty"`
}

// Record operations.
const (
	opPoints = "points"
	opPatch  = "patch"
)

// spoolFile is a spool being written.
type spoolFile struct {
	path   string
	f      *os.File
	seq    int64
	acked  int64
	unlock func()
	// runID is the run's id once known; until then a header with a run
	// document to create is itself pending.
	runID string
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// defaultSpoolDir is LABREVIEW_SPOOL, else ~/.labreview/spool.
func defaultSpoolDir(getenv func(string) string) string {
	if d := getenv("LABREVIEW_SPOOL"); d != "" {
		return d
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".labreview", "spool")
}

// createSpool starts a spool file in dir (made 0700) for the run h names.
// The file is 0600, locked while this process writes it (sync skips it).
func createSpool(dir string, h spoolHeader) (*spoolFile, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	label := h.RunID
	if label == "" {
		label = h.Project + "-" + h.ExternalID
	}
	label = strings.Trim(unsafeName.ReplaceAllString(label, "_"), "_.")
	if len(label) > 80 {
		label = label[:80]
	}
	h.Spool, h.PID, h.CreatedAt = spoolVersion, os.Getpid(), time.Now().UTC().Format(time.RFC3339Nano)
	h.Host, _ = os.Hostname()
	line, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for attempt := 0; ; attempt++ {
		name := fmt.Sprintf("%s-%s-%d-%d.jsonl", label, time.Now().UTC().Format("20060102T150405"), os.Getpid(), attempt)
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if errors.Is(err, os.ErrExist) && attempt < 100 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		unlock, err := lockFile(f, true)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("spool: lock %s: %w", path, err)
		}
		s := &spoolFile{path: path, f: f, unlock: unlock, runID: h.RunID}
		if err := s.write(line); err != nil {
			s.close()
			return nil, err
		}
		return s, nil
	}
}

func (s *spoolFile) write(line []byte) error {
	if _, err := s.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("spool: write %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("spool: sync %s: %w", s.path, err)
	}
	return nil
}

// add appends a record and syncs it to disk.
func (s *spoolFile) add(op string, body []byte) (spoolRecord, error) {
	s.seq++
	r := spoolRecord{Seq: s.seq, Op: op, Body: body}
	line, _ := json.Marshal(r) // RawMessage of valid JSON: marshals
	return r, s.write(line)
}

// ack records that the records up to seq reached the server.
func (s *spoolFile) ack(seq int64) error {
	s.acked = seq
	line, _ := json.Marshal(spoolRecord{Ack: seq})
	return s.write(line)
}

// created records the run's id once the server created (or found) it.
func (s *spoolFile) created(runID string) error {
	if s.runID != "" {
		return nil
	}
	s.runID = runID
	line, _ := json.Marshal(spoolRecord{RunID: runID})
	return s.write(line)
}

// pending reports whether something did not reach the server.
func (s *spoolFile) pending() bool { return s.acked < s.seq || s.runID == "" }

func (s *spoolFile) close() {
	s.unlock()
	s.f.Close()
}

// finish closes the spool, removing it when everything reached the
// server; it reports whether the file was kept.
func (s *spoolFile) finish() (kept bool) {
	s.close()
	if s.pending() {
		return true
	}
	os.Remove(s.path)
	return false
}

// readSpool reads a spool file: its header (with RunID set once the run
// was created) and the records not acknowledged, in order. A last line
// cut short (a crash while writing it) is ignored.
func readSpool(path string) (spoolHeader, []spoolRecord, error) {
	var h spoolHeader
	f, err := os.Open(path)
	if err != nil {
		return h, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var records []spoolRecord
	var acked int64
	for n := 0; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if n == 0 {
			if err := json.Unmarshal(line, &h); err != nil || h.Spool == 0 {
				return h, nil, fmt.Errorf("%s is not a labreview spool (its first line is no spool header)", path)
			}
			if h.Spool > spoolVersion {
				return h, nil, fmt.Errorf("%s was written by a newer labreview (spool format %d)", path, h.Spool)
			}
			continue
		}
		var r spoolRecord
		if err := json.Unmarshal(line, &r); err != nil {
			continue // cut short by a crash: never acknowledged, never sent whole
		}
		switch {
		case r.RunID != "":
			h.RunID = r.RunID
		case r.Ack > 0:
			acked = max(acked, r.Ack)
		case r.Seq > 0 && (r.Op == opPoints || r.Op == opPatch):
			records = append(records, r)
		}
	}
	if err := sc.Err(); err != nil {
		return h, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	out := records[:0]
	for _, r := range records {
		if r.Seq > acked {
			out = append(out, r)
		}
	}
	return h, out, nil
}
