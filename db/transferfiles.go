package db

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Runs' files in exports: a "file" record (the index entry), then its
// bytes in "file_part" records of filePartBytes each, in order, right
// after it. Both adapters export with ExportFile and import with
// FileBody.

// filePartBytes is the size of a part: 192 KiB, 256 KiB as base64 in its
// line, far below maxExportLine.
const filePartBytes = 192 << 10

type fileLine struct {
	RunID       string   `json:"run_id"`
	Path        string   `json:"path"`
	Project     string   `json:"project"`
	Size        int64    `json:"size"`
	SHA256      string   `json:"sha256"`
	ContentType string   `json:"content_type"`
	CreatedAt   jsonTime `json:"created_at"`
	CreatedBy   string   `json:"created_by"`
}

type filePartLine struct {
	SHA256 string `json:"sha256"`
	Offset int64  `json:"offset"`
	Data   []byte `json:"data"` // base64
}

// checkFileOrder keeps a file's parts right after it, in order, adding up
// to its size; it returns what is wrong, or "".
func (s *exportScanner) checkFileOrder(rec Record) string {
	switch {
	case rec.Kind == KindFilePart && s.file == nil:
		return "a file_part record that follows no file record"
	case rec.Kind == KindFilePart:
		if rec.Part.SHA256 != s.file.SHA256 || rec.Part.Offset != s.fileAt || s.fileAt+int64(len(rec.Part.Data)) > s.file.Size {
			return fmt.Sprintf("a file_part record out of place for file %s/%s", s.file.RunID, s.file.Path)
		}
		s.fileAt += int64(len(rec.Part.Data))
		if s.fileAt == s.file.Size {
			s.file = nil
		}
	case s.file != nil:
		return fmt.Sprintf("the bytes of file %s/%s end early", s.file.RunID, s.file.Path)
	case rec.Kind == KindFile && rec.File.Size > 0:
		s.file, s.fileAt = rec.File, 0
	}
	return ""
}

// ExportFile emits a file's record and its bytes' parts.
func ExportFile(ctx context.Context, store interface {
	OpenArtifact(ctx context.Context, a *Artifact) (io.ReadCloser, error)
}, a *Artifact, emit func(Record) error) error {
	if err := emit(Record{Kind: KindFile, File: a}); err != nil {
		return err
	}
	if a.Size == 0 {
		return nil
	}
	rc, err := store.OpenArtifact(ctx, a)
	if err != nil {
		return fmt.Errorf("file %s/%s: %w", a.RunID, a.Path, err)
	}
	defer rc.Close()
	buf := make([]byte, filePartBytes)
	var off int64
	for off < a.Size {
		n, err := io.ReadFull(rc, buf[:min(int64(len(buf)), a.Size-off)])
		if err != nil {
			return fmt.Errorf("file %s/%s: its stored bytes end at %d of %d: %w", a.RunID, a.Path, off+int64(n), a.Size, err)
		}
		if err := emit(Record{Kind: KindFilePart, Part: &FilePart{SHA256: a.SHA256, Offset: off, Data: bytes.Clone(buf[:n])}}); err != nil {
			return err
		}
		off += int64(n)
	}
	return nil
}

// FileBody reads the bytes of the file record f from the part records
// that next yields (exactly its size), and fails at the end unless they
// hash to its digest. An adapter's import streams it into storage.
func FileBody(f *Artifact, next func() (Record, error)) io.Reader {
	return &fileBody{f: f, next: next, h: sha256.New()}
}

type fileBody struct {
	f    *Artifact
	next func() (Record, error)
	buf  []byte
	off  int64
	h    interface {
		io.Writer
		Sum([]byte) []byte
	}
}

// ErrFileDamaged: an imported file's parts do not hash to its digest.
var ErrFileDamaged = errors.New("db: the file's bytes do not match its sha256")

func (b *fileBody) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.off == b.f.Size {
			if hex.EncodeToString(b.h.Sum(nil)) != b.f.SHA256 {
				return 0, ErrFileDamaged
			}
			return 0, io.EOF
		}
		rec, err := b.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if rec.Kind != KindFilePart || rec.Part.SHA256 != b.f.SHA256 || rec.Part.Offset != b.off {
			return 0, fmt.Errorf("file %s/%s: expected its bytes at %d, found a %s record", b.f.RunID, b.f.Path, b.off, rec.Kind)
		}
		b.buf = rec.Part.Data
		b.off += int64(len(b.buf))
		_, _ = b.h.Write(b.buf)
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}
