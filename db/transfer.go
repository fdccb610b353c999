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
	"strconv"
	"strings"
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

// RecordKinds lists every kind in export order. Login counters and leases
// are transient and not exported.
var RecordKinds = []RecordKind{KindSecret, KindSigningKey, KindUser, KindSavedView, KindSetup, KindSession, KindAPIToken, KindRun, KindProject, KindReview, KindComment, KindSeries, KindAudit, KindFile, KindFilePart}

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

// ID returns the record's identity (for setup, the fixed "setup").
func (r Record) ID() string {
	switch r.Kind {
	case KindSecret:
		return r.Secret.Name
	case KindAPIToken:
		return r.Token.ID
	case KindRun:
		return r.Run.ID
	case KindProject:
		return r.Project.Name
	case KindReview:
		return r.Review.ID
	case KindComment:
		return r.Comment.ID
	case KindSeries:
		if len(r.Series.Points) == 0 {
			return r.Series.RunID + "/" + r.Series.Name
		}
		return fmt.Sprintf("%s/%s@%d", r.Series.RunID, r.Series.Name, r.Series.Points[0].Step)
	case KindSigningKey:
		return r.Key.ID
	case KindUser:
		return r.User.ID
	case KindSavedView:
		return r.View.UserID + "/" + r.View.Name
	case KindSession:
		return r.Session.ID
	case KindAudit:
		return r.Audit.ID
	case KindFile:
		return r.File.RunID + "/" + r.File.Path
	case KindFilePart:
		return fmt.Sprintf("%s@%d", r.Part.SHA256, r.Part.Offset)
	default:
		return string(r.Kind)
	}
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

// accessName describes a record that gives access, for ImportReport.AddedNames
// ("" for the others). Never a secret or a hash.
func accessName(rec Record) string {
	switch rec.Kind {
	case KindUser:
		u := rec.User
		state := ""
		if u.Disabled {
			state = ", disabled"
		}
		return fmt.Sprintf("user %s (%s%s, id %s)", u.Email, u.Role, state, u.ID)
	case KindSigningKey:
		return fmt.Sprintf("signing key %s (%s)", rec.Key.ID, rec.Key.Algorithm)
	case KindSecret:
		return "shared secret " + rec.Secret.Name
	case KindSession:
		return fmt.Sprintf("session %s of user %s (until %s)", rec.Session.ID, rec.Session.UserID, rec.Session.ExpiresAt.UTC().Format(time.RFC3339))
	case KindAPIToken:
		t := rec.Token
		return fmt.Sprintf("API token %s %q of user %s (%s, until %s)", t.ID, t.Name, t.UserID, strings.Join(t.Scopes, " "), t.ExpiresAt.UTC().Format(time.RFC3339))
	case KindSetup:
		return "setup claim of user " + rec.Setup.UserID
	}
	return ""
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

func knownKind(k RecordKind) bool {
	for _, known := range RecordKinds {
		if k == known {
			return true
		}
	}
	return false
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// The record shapes of the format. They are a storage format, not API
// shapes: password hashes and private keys are in them on purpose, which
// is why export files must be guarded like the database.

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

type userLine struct {
	ID                string   `json:"id"`
	Email             string   `json:"email"`
	Name              string   `json:"name"`
	Role              string   `json:"role"`
	Disabled          bool     `json:"disabled"`
	PasswordHash      string   `json:"password_hash"`
	CreatedAt         jsonTime `json:"created_at"`
	UpdatedAt         jsonTime `json:"updated_at"`
	PasswordChangedAt jsonTime `json:"password_changed_at"`
}

type viewLine struct {
	UserID    string   `json:"user_id"`
	Name      string   `json:"name"`
	Search    string   `json:"search"`
	UpdatedAt jsonTime `json:"updated_at"`
}

type sessionLine struct {
	ID             string    `json:"id"`
	UserID         string    `json:"user_id"`
	SecretHash     string    `json:"secret_hash"`
	PrevHash       string    `json:"prev_hash"`
	PrevReplacedAt jsonTime  `json:"prev_replaced_at"`
	OldHashes      []string  `json:"old_hashes"`
	CreatedAt      jsonTime  `json:"created_at"`
	LastUsedAt     jsonTime  `json:"last_used_at"`
	IdleExpiresAt  jsonTime  `json:"idle_expires_at"`
	ExpiresAt      jsonTime  `json:"expires_at"`
	UserAgent      string    `json:"user_agent"`
	IP             string    `json:"ip"`
	RevokedAt      *jsonTime `json:"revoked_at"`
	RevokedReason  string    `json:"revoked_reason"`
}

type auditLine struct {
	ID        string         `json:"id"`
	At        jsonTime       `json:"at"`
	Event     string         `json:"event"`
	ActorID   string         `json:"actor_id"`
	UserID    string         `json:"user_id"`
	Email     string         `json:"email"`
	SessionID string         `json:"session_id"`
	IP        string         `json:"ip"`
	UserAgent string         `json:"user_agent"`
	Details   map[string]any `json:"details"`
}

type keyLine struct {
	ID         string    `json:"id"`
	Algorithm  string    `json:"alg"`
	PrivateKey []byte    `json:"private_key"` // base64
	CreatedAt  jsonTime  `json:"created_at"`
	RetiredAt  *jsonTime `json:"retired_at"`
}

type secretLine struct {
	Name  string `json:"name"`
	Value []byte `json:"value"` // base64
}

type tokenLine struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	Name       string    `json:"name"`
	Hash       string    `json:"hash"`
	Hint       string    `json:"hint"`
	Scopes     []string  `json:"scopes"`
	Projects   []string  `json:"projects"`
	CreatedAt  jsonTime  `json:"created_at"`
	ExpiresAt  jsonTime  `json:"expires_at"`
	LastUsedAt *jsonTime `json:"last_used_at"`
	RevokedAt  *jsonTime `json:"revoked_at"`
}

type runLine struct {
	ID             string          `json:"id"`
	Project        string          `json:"project"`
	ExternalID     string          `json:"external_id"`
	Name           string          `json:"name"`
	Status         string          `json:"status"`
	Host           string          `json:"host"`
	JobID          string          `json:"job_id"`
	CreatedBy      string          `json:"created_by"`
	CreatedByToken string          `json:"created_by_token"`
	Params         json.RawMessage `json:"params"`
	Metrics        Metrics         `json:"metrics"`
	Tags           []string        `json:"tags"`
	Notes          string          `json:"notes"`
	CreatedAt      jsonTime        `json:"created_at"`
	UpdatedAt      jsonTime        `json:"updated_at"`
	StartedAt      *jsonTime       `json:"started_at"`
	FinishedAt     *jsonTime       `json:"finished_at"`
	HeartbeatAt    *jsonTime       `json:"heartbeat_at"`
	DeletedAt      *jsonTime       `json:"deleted_at"`
	Version        int64           `json:"version"`
	DataVersion    int64           `json:"data_version"`
	Review         reviewLine      `json:"review"`
	Failure        *failureLine    `json:"failure,omitempty"`
	// KeyTags and ParamText are left out when empty (exports of earlier
	// versions have neither).
	KeyTags   map[string]string `json:"key_tags,omitempty"`
	ParamText map[string]string `json:"param_text,omitempty"`
}

// failureLine is why a run failed (absent in exports written before it
// existed, and for runs without one).
type failureLine struct {
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

type reviewLine struct {
	State       string    `json:"state"`
	ID          string    `json:"id"`
	By          string    `json:"by"`
	At          *jsonTime `json:"at"`
	Comment     string    `json:"comment"`
	DataVersion int64     `json:"data_version"`
	Outdated    bool      `json:"outdated"`
}

type reviewEntryLine struct {
	ID          string          `json:"id"`
	RunID       string          `json:"run_id"`
	State       string          `json:"state"`
	By          string          `json:"by"`
	At          jsonTime        `json:"at"`
	Comment     string          `json:"comment"`
	BatchID     string          `json:"batch_id"`
	UndoOf      string          `json:"undo_of"`
	DataVersion int64           `json:"data_version"`
	Snapshot    json.RawMessage `json:"snapshot"`
}

// projectLine keeps a project's baseline; its counters are rebuilt from
// the runs.
type projectLine struct {
	Name        string `json:"name"`
	BaselineRun string `json:"baseline_run"`
}

type commentLine struct {
	ID        string           `json:"id"`
	RunID     string           `json:"run_id"`
	Author    string           `json:"author"`
	At        jsonTime         `json:"at"`
	Body      string           `json:"body"`
	Anchor    *CommentAnchor   `json:"anchor"`
	EditedAt  *jsonTime        `json:"edited_at"`
	DeletedAt *jsonTime        `json:"deleted_at"`
	History   []commentVersion `json:"history"`
}

type commentVersion struct {
	Body string   `json:"body"`
	At   jsonTime `json:"at"`
}

type seriesLine struct {
	RunID  string       `json:"run_id"`
	Name   string       `json:"name"`
	Points [][2]jsonNum `json:"points"` // [step, value], value as in Metrics
}

// jsonNum is a step (an integer) or a value (a Float) in a series line.
type jsonNum = json.RawMessage

func validStatus(s string) bool {
	switch s {
	case StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type setupLine struct {
	UserID string   `json:"user_id"`
	At     jsonTime `json:"at"`
}

// recordLine is one record line: its kind and the kind's object.
type recordLine struct {
	Kind RecordKind `json:"kind"`
	Data any        `json:"data"`
}

func encodeRecord(r Record) (recordLine, error) {
	switch r.Kind {
	case KindUser:
		u := r.User
		return recordLine{r.Kind, userLine{u.ID, u.Email, u.Name, u.Role, u.Disabled, u.PasswordHash,
			jsonTime{u.CreatedAt}, jsonTime{u.UpdatedAt}, jsonTime{u.PasswordChangedAt}}}, nil
	case KindSavedView:
		v := r.View
		return recordLine{r.Kind, viewLine{v.UserID, v.Name, v.Search, jsonTime{v.UpdatedAt}}}, nil
	case KindSession:
		s := r.Session
		old := s.OldHashes
		if old == nil {
			old = []string{}
		}
		return recordLine{r.Kind, sessionLine{s.ID, s.UserID, s.SecretHash, s.PrevHash, jsonTime{s.PrevReplacedAt}, old,
			jsonTime{s.CreatedAt}, jsonTime{s.LastUsedAt}, jsonTime{s.IdleExpiresAt}, jsonTime{s.ExpiresAt},
			s.UserAgent, s.IP, optTime(s.RevokedAt), s.RevokedReason}}, nil
	case KindFile:
		f := r.File
		return recordLine{r.Kind, fileLine{f.RunID, f.Path, f.Project, f.Size, f.SHA256, f.ContentType, jsonTime{f.CreatedAt}, f.CreatedBy}}, nil
	case KindFilePart:
		return recordLine{r.Kind, filePartLine{r.Part.SHA256, r.Part.Offset, r.Part.Data}}, nil
	case KindAudit:
		e := r.Audit
		return recordLine{r.Kind, auditLine{e.ID, jsonTime{e.At}, e.Event, e.ActorID, e.UserID, e.Email, e.SessionID,
			e.IP, e.UserAgent, e.Details}}, nil
	case KindSigningKey:
		k := r.Key
		return recordLine{r.Kind, keyLine{k.ID, k.Algorithm, k.PrivateKey, jsonTime{k.CreatedAt}, optTime(k.RetiredAt)}}, nil
	case KindSetup:
		return recordLine{r.Kind, setupLine{r.Setup.UserID, jsonTime{r.Setup.At}}}, nil
	case KindSecret:
		return recordLine{r.Kind, secretLine{r.Secret.Name, r.Secret.Value}}, nil
	case KindProject:
		return recordLine{r.Kind, projectLine{r.Project.Name, r.Project.BaselineRun}}, nil
	case KindComment:
		c := r.Comment
		hist := []commentVersion{}
		for _, h := range c.History {
			hist = append(hist, commentVersion{h.Body, jsonTime{h.At}})
		}
		return recordLine{r.Kind, commentLine{c.ID, c.RunID, c.Author, jsonTime{c.At}, c.Body, c.Anchor, optTime(c.EditedAt),
			optTime(c.DeletedAt), hist}}, nil
	case KindReview:
		e := r.Review
		snap := json.RawMessage(e.Snapshot)
		if len(snap) == 0 {
			snap = json.RawMessage("{}")
		}
		return recordLine{r.Kind, reviewEntryLine{e.ID, e.RunID, e.State, e.By, jsonTime{e.At}, e.Comment, e.BatchID, e.UndoOf,
			e.DataVersion, snap}}, nil
	case KindSeries:
		l := seriesLine{RunID: r.Series.RunID, Name: r.Series.Name, Points: make([][2]jsonNum, len(r.Series.Points))}
		for i, p := range r.Series.Points {
			v, _ := Float(p.Value).MarshalJSON() // never fails
			l.Points[i] = [2]jsonNum{jsonNum(strconv.FormatInt(p.Step, 10)), v}
		}
		return recordLine{r.Kind, l}, nil
	case KindRun:
		run := r.Run
		params := run.Params
		if params == nil {
			params = map[string]any{}
		}
		p, err := AppendJSON(nil, map[string]any(params))
		if err != nil {
			return recordLine{}, fmt.Errorf("run %s: params: %w", run.ID, err)
		}
		var failure *failureLine
		if run.Failure != nil {
			failure = &failureLine{Reason: run.Failure.Reason, Detail: run.Failure.Detail}
		}
		metrics := run.Metrics
		if metrics == nil {
			metrics = Metrics{}
		}
		return recordLine{r.Kind, runLine{run.ID, run.Project, run.ExternalID, run.Name, run.Status, run.Host, run.JobID,
			run.CreatedBy, run.CreatedByToken, p, metrics, orEmpty(run.Tags), run.Notes, jsonTime{run.CreatedAt},
			jsonTime{run.UpdatedAt}, optTime(run.StartedAt), optTime(run.FinishedAt), optTime(run.HeartbeatAt),
			optTime(run.DeletedAt), run.Version, max(run.DataVersion, 1), reviewLine{State: NormalReviewState(run.Review.State),
				ID: run.Review.ID, By: run.Review.By, At: optTime(run.Review.At), Comment: run.Review.Comment,
				DataVersion: run.Review.DataVersion, Outdated: run.Review.Outdated}, failure, run.KeyTags, run.ParamText}}, nil
	case KindAPIToken:
		t := r.Token
		return recordLine{r.Kind, tokenLine{t.ID, t.UserID, t.Name, t.Hash, t.Hint, orEmpty(t.Scopes), orEmpty(t.Projects),
			jsonTime{t.CreatedAt}, jsonTime{t.ExpiresAt}, optTime(t.LastUsedAt), optTime(t.RevokedAt)}}, nil
	default:
		return recordLine{}, fmt.Errorf("unknown record kind %q", r.Kind)
	}
}

func decodeRecord(kind RecordKind, b []byte) (Record, error) {
	fail := func(msg string) (Record, error) { return Record{}, fmt.Errorf("%s record: %s", kind, msg) }
	data := func(v any) error {
		var wrapper struct {
			Kind RecordKind      `json:"kind"`
			Data json.RawMessage `json:"data"`
		}
		if err := strictUnmarshal(b, &wrapper); err != nil || len(wrapper.Data) == 0 {
			return errors.New("not of the form {\"kind\": …, \"data\": {…}}")
		}
		return strictUnmarshal(wrapper.Data, v)
	}
	switch kind {
	case KindUser:
		var l userLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if !ValidID(l.ID) || l.Email == "" || l.PasswordHash == "" || !validRole(l.Role) || l.CreatedAt.IsZero() {
			return fail("needs a valid id, email, role, password_hash and created_at")
		}
		return Record{Kind: kind, User: &User{ID: l.ID, Email: l.Email, Name: l.Name, Role: l.Role, Disabled: l.Disabled,
			PasswordHash: l.PasswordHash, CreatedAt: l.CreatedAt.Time, UpdatedAt: l.UpdatedAt.Time,
			PasswordChangedAt: l.PasswordChangedAt.Time}}, nil
	case KindSavedView:
		var l viewLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if !ValidID(l.UserID) || l.Name == "" || l.UpdatedAt.IsZero() {
			return fail("needs a valid user_id, a name and updated_at")
		}
		return Record{Kind: kind, View: &SavedView{UserID: l.UserID, Name: l.Name, Search: l.Search, UpdatedAt: l.UpdatedAt.Time}}, nil
	case KindSession:
		var l sessionLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if l.ID == "" || !ValidID(l.UserID) || l.SecretHash == "" || l.ExpiresAt.IsZero() || l.IdleExpiresAt.IsZero() {
			return fail("needs an id, a valid user_id, secret_hash, idle_expires_at and expires_at")
		}
		old := l.OldHashes
		if old == nil {
			old = []string{}
		}
		return Record{Kind: kind, Session: &Session{ID: l.ID, UserID: l.UserID, SecretHash: l.SecretHash, PrevHash: l.PrevHash,
			PrevReplacedAt: l.PrevReplacedAt.Time, OldHashes: old, CreatedAt: l.CreatedAt.Time, LastUsedAt: l.LastUsedAt.Time,
			IdleExpiresAt: l.IdleExpiresAt.Time, ExpiresAt: l.ExpiresAt.Time, UserAgent: l.UserAgent, IP: l.IP,
			RevokedAt: fromOptTime(l.RevokedAt), RevokedReason: l.RevokedReason}}, nil
	case KindFile:
		var l fileLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if !ValidID(l.RunID) || l.Path == "" || l.Project == "" || l.Size < 0 || len(l.SHA256) != 64 || l.CreatedAt.IsZero() {
			return fail("needs a valid run_id, path, project, size, sha256 and created_at")
		}
		return Record{Kind: kind, File: &Artifact{RunID: l.RunID, Path: l.Path, Project: l.Project, Size: l.Size, SHA256: l.SHA256,
			ContentType: l.ContentType, CreatedAt: l.CreatedAt.Time, CreatedBy: l.CreatedBy}}, nil
	case KindFilePart:
		var l filePartLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if len(l.SHA256) != 64 || l.Offset < 0 || len(l.Data) == 0 {
			return fail("needs sha256, offset and data")
		}
		return Record{Kind: kind, Part: &FilePart{SHA256: l.SHA256, Offset: l.Offset, Data: l.Data}}, nil
	case KindAudit:
		var l auditLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if !ValidID(l.ID) || l.Event == "" || l.At.IsZero() {
			return fail("needs a valid id, event and at")
		}
		return Record{Kind: kind, Audit: &AuditEvent{ID: l.ID, At: l.At.Time, Event: l.Event, ActorID: l.ActorID, UserID: l.UserID,
			Email: l.Email, SessionID: l.SessionID, IP: l.IP, UserAgent: l.UserAgent, Details: l.Details}}, nil
	case KindSigningKey:
		var l keyLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if l.ID == "" || l.Algorithm == "" || len(l.PrivateKey) == 0 || l.CreatedAt.IsZero() {
			return fail("needs an id, alg, private_key and created_at")
		}
		return Record{Kind: kind, Key: &SigningKey{ID: l.ID, Algorithm: l.Algorithm, PrivateKey: l.PrivateKey,
			CreatedAt: l.CreatedAt.Time, RetiredAt: fromOptTime(l.RetiredAt)}}, nil
	case KindSetup:
		var l setupLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if !ValidID(l.UserID) || l.At.IsZero() {
			return fail("needs a valid user_id and at")
		}
		return Record{Kind: kind, Setup: &SetupClaim{UserID: l.UserID, At: l.At.Time}}, nil
	case KindRun:
		var l runLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if !ValidID(l.ID) || l.Project == "" || l.ExternalID == "" || !validStatus(l.Status) || l.CreatedAt.IsZero() || l.Version < 1 {
			return fail("needs a valid id, project, external_id, status, created_at and version")
		}
		params, err := DecodeJSONObject(l.Params)
		if err != nil {
			return fail("params: " + err.Error())
		}
		metrics := l.Metrics
		if metrics == nil {
			metrics = Metrics{}
		}
		var failure *Failure
		if l.Failure != nil && l.Failure.Reason != "" {
			failure = &Failure{Reason: l.Failure.Reason, Detail: l.Failure.Detail}
		}
		return Record{Kind: kind, Run: &Run{Failure: failure, ID: l.ID, Project: l.Project, ExternalID: l.ExternalID, Name: l.Name,
			Status: l.Status, Host: l.Host, JobID: l.JobID, CreatedBy: l.CreatedBy, CreatedByToken: l.CreatedByToken,
			Params: params, Metrics: metrics, Tags: orEmpty(l.Tags), Notes: l.Notes, CreatedAt: l.CreatedAt.Time,
			UpdatedAt: l.UpdatedAt.Time, StartedAt: fromOptTime(l.StartedAt), FinishedAt: fromOptTime(l.FinishedAt),
			HeartbeatAt: fromOptTime(l.HeartbeatAt), DeletedAt: fromOptTime(l.DeletedAt), Version: l.Version,
			DataVersion: max(l.DataVersion, 1), Review: RunReview{State: NormalReviewState(l.Review.State), ID: l.Review.ID,
				By: l.Review.By, At: fromOptTime(l.Review.At), Comment: l.Review.Comment,
				DataVersion: l.Review.DataVersion, Outdated: l.Review.Outdated}, KeyTags: l.KeyTags, ParamText: l.ParamText}}, nil
	case KindProject:
		var l projectLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if l.Name == "" || (l.BaselineRun != "" && !ValidID(l.BaselineRun)) {
			return fail("needs a name, and a valid baseline_run or none")
		}
		return Record{Kind: kind, Project: &Project{Name: l.Name, BaselineRun: l.BaselineRun, Counts: map[string]int64{}}}, nil
	case KindComment:
		var l commentLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if !ValidID(l.ID) || !ValidID(l.RunID) || l.At.IsZero() {
			return fail("needs a valid id, run_id and at")
		}
		c := &Comment{ID: l.ID, RunID: l.RunID, Author: l.Author, At: l.At.Time, Body: l.Body, Anchor: l.Anchor,
			EditedAt: fromOptTime(l.EditedAt), DeletedAt: fromOptTime(l.DeletedAt), History: []CommentVersion{}}
		for _, h := range l.History {
			c.History = append(c.History, CommentVersion{Body: h.Body, At: h.At.Time})
		}
		return Record{Kind: kind, Comment: c}, nil
	case KindReview:
		var l reviewEntryLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if !ValidID(l.ID) || !ValidID(l.RunID) || l.State == "" || l.At.IsZero() || !json.Valid(l.Snapshot) {
			return fail("needs a valid id, run_id, state, at and a JSON snapshot")
		}
		return Record{Kind: kind, Review: &ReviewEntry{ID: l.ID, RunID: l.RunID, State: l.State, By: l.By, At: l.At.Time,
			Comment: l.Comment, BatchID: l.BatchID, UndoOf: l.UndoOf, DataVersion: l.DataVersion, Snapshot: l.Snapshot}}, nil
	case KindSeries:
		var l seriesLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if !ValidID(l.RunID) || l.Name == "" || len(l.Points) == 0 {
			return fail("needs a valid run_id, a name and points")
		}
		part := &SeriesPart{RunID: l.RunID, Name: l.Name, Points: make([]Point, len(l.Points))}
		for i, p := range l.Points {
			step, err := strconv.ParseInt(string(p[0]), 10, 64)
			if err != nil {
				return fail("a step is not an integer")
			}
			var v Float
			if err := v.UnmarshalJSON(p[1]); err != nil {
				return fail(err.Error())
			}
			part.Points[i] = Point{Step: step, Value: float64(v)}
		}
		return Record{Kind: kind, Series: part}, nil
	case KindSecret:
		var l secretLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if l.Name == "" || len(l.Value) == 0 {
			return fail("needs a name and a value")
		}
		return Record{Kind: kind, Secret: &Secret{Name: l.Name, Value: l.Value}}, nil
	case KindAPIToken:
		var l tokenLine
		if err := data(&l); err != nil {
			return fail(err.Error())
		}
		if !ValidID(l.ID) || !ValidID(l.UserID) || l.Hash == "" || len(l.Scopes) == 0 || l.CreatedAt.IsZero() || l.ExpiresAt.IsZero() {
			return fail("needs a valid id and user_id, hash, scopes, created_at and expires_at")
		}
		return Record{Kind: kind, Token: &APIToken{ID: l.ID, UserID: l.UserID, Name: l.Name, Hash: l.Hash, Hint: l.Hint,
			Scopes: l.Scopes, Projects: orEmpty(l.Projects), CreatedAt: l.CreatedAt.Time, ExpiresAt: l.ExpiresAt.Time,
			LastUsedAt: fromOptTime(l.LastUsedAt), RevokedAt: fromOptTime(l.RevokedAt)}}, nil
	default:
		return Record{}, fmt.Errorf("unknown record kind %q", strings.ToValidUTF8(string(kind), "?"))
	}
}

func validRole(r string) bool { return r == RoleViewer || r == RoleReviewer || r == RoleAdmin }
