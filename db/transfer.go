package db

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf8"
)

// The export format: JSON Lines, one object per line, each with a "kind".
// The first line is the header, the last the trailer with the number of
// records of each kind, so a truncated file is recognised. docs/operations.md
// documents the fields.
const (
	ExportFormat  = "labreview-export"
	ExportVersion = 1
	// maxExportLine bounds one line: the largest record (an audit event with
	// its capped strings and details) is far smaller.
	maxExportLine = 4 << 20
)

// RecordKind names what a Record holds.
type RecordKind string

// The record kinds, in the order exports write them (a record never refers
// to a kind written after it).
const (
	KindSecret     RecordKind = "secret"
	KindSigningKey RecordKind = "signing_key"
	KindUser       RecordKind = "user"
	KindSavedView  RecordKind = "saved_view"
	KindSetup      RecordKind = "setup"
	KindSession    RecordKind = "session"
	KindAPIToken   RecordKind = "api_token"
	KindRun        RecordKind = "run"
	KindProject    RecordKind = "project"
	KindReview     RecordKind = "review"
	KindComment    RecordKind = "comment"
	KindSeries     RecordKind = "series"
	KindAudit      RecordKind = "audit"
	// KindFile is a run's file (its index entry); the KindFilePart records
	// with its bytes follow it at once, in order.
	KindFile     RecordKind = "file"
	KindFilePart RecordKind = "file_part"
)

// Record is one exported or imported record; exactly the field of its Kind
// is set.
type Record struct {
	Kind    RecordKind
	Secret  *Secret
	Key     *SigningKey
	User    *User
	View    *SavedView
	Setup   *SetupClaim
	Session *Session
	Token   *APIToken
	Run     *Run
	Project *Project
	Series  *SeriesPart
	Review  *ReviewEntry
	Comment *Comment
	Audit   *AuditEvent
	File    *Artifact
	Part    *FilePart
}

// FilePart is a piece of a file's bytes as exported.
type FilePart struct {
	SHA256 string // the file's digest
	Offset int64
	Data   []byte
}

// SeriesPart is a piece of a run's series as exported: one chunk's points.
type SeriesPart struct {
	RunID  string
	Name   string
	Points []Point
}

// Secret is a named shared server secret (Secrets).
type Secret struct {
	Name  string
	Value []byte
}

// ImportReport says what an import did. With merge, a record whose id
// exists already is kept as it is in the database and counted as skipped;
// a user whose email belongs to another id in the database is not imported
// and listed in Conflicts, and so are sessions, API tokens and saved views
// of users the database does not hold.
type ImportReport struct {
	Added     map[RecordKind]int
	Skipped   map[RecordKind]int
	Conflicts []string
	// AddedNames names the records added that give access: users (with
	// their role), signing keys, shared secrets, sessions, API tokens and
	// the setup claim.
	AddedNames []string
}

// SecretConflict explains a shared secret that exists in the database with
// another value: the database keeps its own, so API tokens imported beside
// it do not authenticate (their hashes were made with the other key).
func SecretConflict(name string) string {
	return fmt.Sprintf("secret %s: the database holds another value and keeps it; "+
		"API tokens from this file will not work here: create new ones", name)
}

// ViewConflict explains a saved view whose user the database does not
// hold.
func ViewConflict(v *SavedView) string {
	return fmt.Sprintf("saved view %q: its user %s is not in the database; not imported", v.Name, v.UserID)
}

// RunConflict explains a run whose project and external id belong to
// another run in the database.
func RunConflict(r *Run, holder string) string {
	return fmt.Sprintf("run %s: project %q already has a run %s with external id %q; not imported", r.ID, r.Project, holder, r.ExternalID)
}

// NewImportReport returns an empty report.
func NewImportReport() *ImportReport {
	return &ImportReport{Added: map[RecordKind]int{}, Skipped: map[RecordKind]int{}}
}

// Note records the outcome of one record: a conflict (not imported, with
// why), added, or kept as it was (skipped).
func (r *ImportReport) Note(rec Record, added bool, conflict string) {
	switch {
	case conflict != "":
		r.Conflicts = append(r.Conflicts, conflict)
	case added:
		r.Added[rec.Kind]++
		if name := accessName(rec); name != "" {
			r.AddedNames = append(r.AddedNames, name)
		}
	default:
		r.Skipped[rec.Kind]++
	}
}

// ExportInfo describes the source of an export, for its header.
type ExportInfo struct {
	Version string // labreview version
	Now     time.Time
}

type exportHeader struct {
	Kind       string    `json:"kind"` // "header"
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	ExportedAt time.Time `json:"exported_at"`
	Source     string    `json:"source"` // embedded | hosted
	Labreview  string    `json:"labreview,omitempty"`
}

type exportTrailer struct {
	Kind   string             `json:"kind"` // "end"
	Counts map[RecordKind]int `json:"counts"`
}

// Export writes every record of store to w and returns how many of each
// kind it wrote.
func Export(ctx context.Context, store Store, w io.Writer, info ExportInfo) (map[RecordKind]int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if info.Now.IsZero() {
		info.Now = time.Now()
	}
	if err := enc.Encode(exportHeader{Kind: "header", Format: ExportFormat, Version: ExportVersion,
		ExportedAt: info.Now.UTC().Truncate(time.Millisecond), Source: string(store.Mode()), Labreview: info.Version}); err != nil {
		return nil, fmt.Errorf("db: export: %w", err)
	}
	counts := map[RecordKind]int{}
	for _, k := range RecordKinds {
		counts[k] = 0
	}
	err := store.ExportRecords(ctx, func(r Record) error {
		line, err := encodeRecord(r)
		if err != nil {
			return err
		}
		counts[r.Kind]++
		return enc.Encode(line)
	})
	if err != nil {
		return nil, fmt.Errorf("db: export: %w", err)
	}
	if err := enc.Encode(exportTrailer{Kind: "end", Counts: counts}); err != nil {
		return nil, fmt.Errorf("db: export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("db: export: %w", err)
	}
	return counts, nil
}

// FormatError is an export file that cannot be imported; Line is 1-based
// (0 when the problem is the file as a whole).
type FormatError struct {
	Line int
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Line == 0 {
		return "import: " + e.Msg
	}
	return fmt.Sprintf("import: line %d: %s", e.Line, e.Msg)
}

// Import reads an export from r and writes it into store. The whole input
// is checked before anything is written (header, every record, the trailer
// and its counts), so a truncated or damaged file writes nothing. Without
// merge, a database that holds data is refused with ErrNotEmpty.
func Import(ctx context.Context, store Store, r io.Reader, merge bool) (*ImportReport, error) {
	return ImportWith(ctx, store, r, ImportOptions{Merge: merge})
}

// ImportOptions says how ImportWith treats the records of a file.
type ImportOptions struct {
	// Merge adds to a database that holds data (see ImportReport).
	Merge bool
	// Check, when set, checks each record while the whole file is read
	// before anything is written (with the rules the API applies to the
	// same data); its error fails the import as a *FormatError naming the
	// line, and nothing is written.
	Check func(Record) error
	// Admit, when set, decides for each record, just before it is written,
	// whether it is imported: a non-empty reason leaves it out and lists
	// it as not imported (ImportReport.Conflicts).
	Admit func(ctx context.Context, rec Record) (reason string, err error)
}

// ImportWith is Import with checks and an admission rule for the records.
func ImportWith(ctx context.Context, store Store, r io.Reader, opts ImportOptions) (*ImportReport, error) {
	src, cleanup, err := rewindable(r)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	check := newExportScanner(src)
	for {
		rec, err := check.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if opts.Check != nil {
			if err := opts.Check(rec); err != nil {
				return nil, &FormatError{check.line, fmt.Sprintf("%s %s: %s", rec.Kind, rec.ID(), err)}
			}
		}
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	next := newExportScanner(src).Next
	var refused []string
	if opts.Admit != nil {
		all := next
		next = func() (Record, error) {
			for {
				rec, err := all()
				if err != nil {
					return rec, err
				}
				reason, err := opts.Admit(ctx, rec)
				if err != nil {
					return Record{}, err
				}
				if reason == "" {
					return rec, nil
				}
				refused = append(refused, reason)
			}
		}
	}
	report, err := store.ImportRecords(ctx, next, opts.Merge)
	if err != nil {
		return nil, err
	}
	report.Conflicts = append(refused, report.Conflicts...)
	return report, nil
}

// rewindable returns r itself when it is a seekable file, else a spooled
// private copy in a temporary file.
func rewindable(r io.Reader) (io.ReadSeeker, func(), error) {
	if f, ok := r.(*os.File); ok {
		if _, err := f.Seek(0, io.SeekCurrent); err == nil {
			return f, func() {}, nil
		}
	}
	tmp, err := os.CreateTemp("", "labreview-import-*.jsonl")
	if err != nil {
		return nil, nil, fmt.Errorf("import: spool input: %w", err)
	}
	cleanup := func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }
	if _, err := io.Copy(tmp, r); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("import: spool input: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("import: spool input: %w", err)
	}
	return tmp, cleanup, nil
}

// exportScanner reads an export line by line, checking it as it goes.
type exportScanner struct {
	// file is the file whose parts must come next (nil: none).
	file    *Artifact
	fileAt  int64
	sc      *bufio.Scanner
	line    int
	header  bool
	counts  map[RecordKind]int
	trailer *exportTrailer
}

func newExportScanner(r io.Reader) *exportScanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxExportLine)
	return &exportScanner{sc: sc, counts: map[RecordKind]int{}}
}

// Next returns the next record, io.EOF after a complete and consistent
// file, or a *FormatError.
func (s *exportScanner) Next() (Record, error) {
	for s.sc.Scan() {
		s.line++
		b := s.sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		fail := func(msg string) (Record, error) { return Record{}, &FormatError{s.line, msg} }
		if !utf8.Valid(b) {
			return fail("not valid UTF-8")
		}
		if s.trailer != nil {
			return fail("data after the end marker")
		}
		var probe struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(b, &probe); err != nil {
			return fail("not a JSON object")
		}
		switch {
		case !s.header && probe.Kind != "header":
			return fail("not a labreview export (the first line must be its header)")
		case probe.Kind == "header":
			if s.header {
				return fail("a second header")
			}
			var h exportHeader
			if err := strictUnmarshal(b, &h); err != nil || h.Format != ExportFormat {
				return fail("not a labreview export header")
			}
			if h.Version > ExportVersion {
				return fail(fmt.Sprintf("format version %d was written by a newer labreview; this one reads up to version %d", h.Version, ExportVersion))
			}
			if h.Version < 1 {
				return fail("invalid format version")
			}
			s.header = true
		case probe.Kind == "end":
			var t exportTrailer
			if err := strictUnmarshal(b, &t); err != nil {
				return fail("invalid end marker")
			}
			s.trailer = &t
		default:
			rec, err := decodeRecord(RecordKind(probe.Kind), b)
			if err != nil {
				return fail(err.Error())
			}
			if msg := s.checkFileOrder(rec); msg != "" {
				return fail(msg)
			}
			s.counts[rec.Kind]++
			return rec, nil
		}
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Record{}, &FormatError{s.line + 1, "line too long"}
		}
		return Record{}, fmt.Errorf("import: read: %w", err)
	}
	if !s.header {
		return Record{}, &FormatError{0, "the input is empty"}
	}
	if s.trailer == nil {
		return Record{}, &FormatError{0, "the end marker is missing: the file is truncated"}
	}
	if s.file != nil {
		return Record{}, &FormatError{0, fmt.Sprintf("the bytes of file %s/%s end early", s.file.RunID, s.file.Path)}
	}
	for k, n := range s.trailer.Counts {
		if !knownKind(k) && n != 0 {
			return Record{}, &FormatError{0, fmt.Sprintf("unknown record kind %q in the end marker", k)}
		}
	}
	for _, k := range RecordKinds {
		if s.trailer.Counts[k] != s.counts[k] {
			return Record{}, &FormatError{0, fmt.Sprintf("the end marker counts %d %s records, the file holds %d: the file is damaged",
				s.trailer.Counts[k], k, s.counts[k])}
		}
	}
	return Record{}, io.EOF
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// jsonTime is a time at millisecond precision in UTC; the zero time is null.
type jsonTime struct{ time.Time }

const jsonTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func (t jsonTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(jsonTimeLayout) + `"`), nil
}

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v.UTC().Truncate(time.Millisecond)
	return nil
}

func optTime(t *time.Time) *jsonTime {
	if t == nil {
		return nil
	}
	return &jsonTime{*t}
}

func fromOptTime(t *jsonTime) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
}
