package db

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrTooLarge means a file is larger than its limit allows.
var ErrTooLarge = errors.New("db: larger than the limit")

// Artifact is a file of a run: its index entry. The bytes are a blob the
// adapter keeps (the embedded store: a content-addressed file beside the
// database; the hosted one: chunk documents), found through the entry.
type Artifact struct {
	RunID       string
	Path        string // relative, slash-separated; the runs domain checks it
	Project     string // the run's project, for the project's total
	Size        int64
	SHA256      string // hex digest of the bytes
	ContentType string
	CreatedAt   time.Time
	CreatedBy   string
}

// ArtifactLimits bound a put. Zero fields set no limit.
type ArtifactLimits struct {
	MaxFileBytes    int64 // one file
	MaxProjectBytes int64 // the files of a project together
	MaxRunFiles     int   // files of a run
}

// Artifacts stores runs' files.
type Artifacts interface {
	// PutArtifact streams body into the store and indexes it as a.Path of
	// a.RunID, replacing a file there; it sets a.Size and a.SHA256. More
	// than MaxFileBytes is ErrTooLarge; a project past MaxProjectBytes
	// (the replaced file counted out) or a run past MaxRunFiles is
	// ErrLimit. When it fails, the index is as before. The same put again
	// gives the same state, so a retried upload is harmless.
	PutArtifact(ctx context.Context, a *Artifact, body io.Reader, limits ArtifactLimits) error
	// ArtifactByPath finds a file's entry (ErrNotFound if none).
	ArtifactByPath(ctx context.Context, runID, path string) (*Artifact, error)
	// ListArtifacts returns up to limit files of a run whose path starts
	// with prefix and sorts after after (byte order), in path order, and
	// whether more exist.
	ListArtifacts(ctx context.Context, runID, prefix, after string, limit int) ([]Artifact, bool, error)
	// OpenArtifact opens a file's bytes.
	OpenArtifact(ctx context.Context, a *Artifact) (io.ReadCloser, error)
	// DeleteArtifact removes a file and returns its entry (ErrNotFound if
	// none); its blob goes when no other file uses it.
	DeleteArtifact(ctx context.Context, runID, path string) (*Artifact, error)
	// ProjectArtifactBytes is the size of a project's files together.
	ProjectArtifactBytes(ctx context.Context, project string) (int64, error)
}

// HashingReader counts and hashes what is read through it, stopping with
// ErrTooLarge past max bytes (0: no limit). Adapters read uploads through
// it.
type HashingReader struct {
	R    io.Reader
	Max  int64
	N    int64
	Hash interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (h *HashingReader) Read(p []byte) (int, error) {
	n, err := h.R.Read(p)
	h.N += int64(n)
	_, _ = h.Hash.Write(p[:n]) // a hash never fails to write
	if h.Max > 0 && h.N > h.Max {
		return n, ErrTooLarge
	}
	return n, err
}
