package runs

import (
	"context"
	"errors"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"labreview/db"
)

// Files of runs (artifacts): any file a job keeps beside its numbers
// (plots, logs, model weights, tables). The bytes live in the store
// (db.Artifacts); these are the rules.

// FileLimits bound runs' files (the files section of config.yaml).
type FileLimits struct {
	MaxFileBytes    int64 // one file
	MaxProjectBytes int64 // a project's files together (0: no limit)
	MaxRunFiles     int   // files of one run
}

// Defaults of the file limits.
const (
	DefaultMaxFileBytes    = 100 << 20
	DefaultMaxProjectBytes = 20 << 30
	DefaultMaxRunFiles     = 10000
	// MaxFilePath bounds a file's path.
	MaxFilePath = 1024
	// MaxFilesPage is the most files one listing returns.
	MaxFilesPage = 1000
)

// Errors of files.
var (
	// ErrFileTooLarge: the file is larger than files.max_file_bytes.
	ErrFileTooLarge = errors.New("runs: the file is larger than the server accepts")
	// ErrFilesFull: the project's files would pass files.max_project_bytes,
	// or the run has files.max_files_per_run files.
	ErrFilesFull = errors.New("runs: the project's or run's file space is full")
	// ErrNoSuchFile: the run has no file at that path.
	ErrNoSuchFile = errors.New("runs: no such file")
)

// CheckFilePath checks a file's path: slash-separated parts of printable
// text, none empty, "." or "..", no backslash, at most MaxFilePath bytes.
func CheckFilePath(p string) error {
	if p == "" || len(p) > MaxFilePath || !utf8.ValidString(p) {
		return invalid("path", "A file's path is 1 to %d bytes of UTF-8.", MaxFilePath)
	}
	for part := range strings.SplitSeq(p, "/") {
		if part == "" || part == "." || part == ".." || !printable(part) || strings.ContainsRune(part, '\\') {
			return invalid("path", "A file's path is parts separated by /, none empty, . or .., without backslashes or control characters (%q).", truncate(p, 80))
		}
	}
	return nil
}

// contentTypes are the types files are served as, by extension; anything
// else is application/octet-stream. Types a browser could run (HTML, SVG,
// XML, JavaScript) are never among them: such files download as bytes.
var contentTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
	".txt": "text/plain; charset=utf-8", ".log": "text/plain; charset=utf-8", ".md": "text/plain; charset=utf-8",
	".out": "text/plain; charset=utf-8", ".err": "text/plain; charset=utf-8", ".yaml": "text/plain; charset=utf-8",
	".yml": "text/plain; charset=utf-8", ".toml": "text/plain; charset=utf-8", ".ini": "text/plain; charset=utf-8",
	".py": "text/plain; charset=utf-8", ".sh": "text/plain; charset=utf-8", ".tsv": "text/tab-separated-values; charset=utf-8",
	".csv": "text/csv; charset=utf-8", ".json": "application/json", ".pdf": "application/pdf",
}

// ContentType is the type a file is stored and served as, from its name.
func ContentType(name string) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}

// InlineSafe reports whether a browser may show a file of this type in a
// page (images as images, text as text); everything else is downloaded.
func InlineSafe(contentType string) bool {
	return strings.HasPrefix(contentType, "image/") || strings.HasPrefix(contentType, "text/") || contentType == "application/json"
}

func (s *Service) fileLimits() db.ArtifactLimits {
	l := s.files
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultMaxFileBytes
	}
	if l.MaxRunFiles <= 0 {
		l.MaxRunFiles = DefaultMaxRunFiles
	}
	return db.ArtifactLimits{MaxFileBytes: l.MaxFileBytes, MaxProjectBytes: l.MaxProjectBytes, MaxRunFiles: l.MaxRunFiles}
}

// MaxFileBytes is the largest file the server accepts.
func (s *Service) MaxFileBytes() int64 { return s.fileLimits().MaxFileBytes }

// PutFile stores body as the file at p of a live run, replacing a file
// there. The same upload again leaves the same state, so a client may
// retry. Files are not audited one by one (like series points); their
// replacement and deletion are.
func (s *Service) PutFile(ctx context.Context, a Actor, runID, p string, body io.Reader) (*db.Artifact, error) {
	if err := CheckFilePath(p); err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return nil, err
	}
	if r.DeletedAt != nil {
		return nil, ErrDeleted
	}
	f := &db.Artifact{RunID: r.ID, Path: p, Project: r.Project, ContentType: ContentType(p), CreatedAt: s.now(), CreatedBy: a.UserID}
	err = s.db.PutArtifact(ctx, f, body, s.fileLimits())
	switch {
	case errors.Is(err, db.ErrTooLarge):
		return nil, ErrFileTooLarge
	case errors.Is(err, db.ErrLimit):
		return nil, ErrFilesFull
	case err != nil:
		return nil, err
	}
	return f, nil
}

// Files lists a run's files under prefix ("" for all, else a folder path
// ending in /), after the path after, up to limit.
func (s *Service) Files(ctx context.Context, a Actor, runID, prefix, after string, limit int) ([]db.Artifact, bool, error) {
	if limit <= 0 || limit > MaxFilesPage {
		return nil, false, invalid("limit", "A page lists 1 to %d files.", MaxFilesPage)
	}
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return nil, false, err
	}
	return s.db.ListArtifacts(ctx, r.ID, prefix, after, limit)
}

// OpenFile opens a run's file for reading.
func (s *Service) OpenFile(ctx context.Context, a Actor, runID, p string) (*db.Artifact, io.ReadCloser, error) {
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.db.ArtifactByPath(ctx, r.ID, p)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil, ErrNoSuchFile
	}
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.db.OpenArtifact(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	return f, rc, nil
}

// DeleteFile removes a run's file (admins; the server checks the role)
// and audits it.
func (s *Service) DeleteFile(ctx context.Context, a Actor, runID, p string) error {
	r, err := s.Get(ctx, a, runID)
	if err != nil {
		return err
	}
	f, err := s.db.DeleteArtifact(ctx, r.ID, p)
	if errors.Is(err, db.ErrNotFound) {
		return ErrNoSuchFile
	}
	if err != nil {
		return err
	}
	s.audit(ctx, a, EventFileDeleted, r, map[string]any{"path": f.Path, "size": float64(f.Size), "sha256": f.SHA256})
	return nil
}

// EventFileDeleted is the audit event of a file's deletion.
const EventFileDeleted = "run_file_deleted"
