package mongo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"labreview/db"
)

// Runs' files on MongoDB: an index document per file in artifacts
// (_id: run id + "/" + path) and the bytes in artifact_chunks, documents
// of artifactChunkBytes each whose _id is the blob's id and the chunk's
// number. Not GridFS: GridFS reads a file's chunks with a query on
// files_id sorted by n, which the FerretDB stand-in answers by reading
// every chunk of every file (it pushes down only _id lookups); chunks
// named by _id are fetched one by one by their key on MongoDB and on
// FerretDB alike. A put writes the chunks under a new blob id first, then
// swaps the index document in one findAndModify and deletes the chunks of
// the blob it replaced: a crash in between leaves unnamed chunks (space,
// never a broken file). The project limit is checked before the swap, so
// concurrent uploads to one project can pass it together by one file
// each.

const (
	artifactsCollection      = "artifacts"
	artifactChunksCollection = "artifact_chunks"
	// artifactChunkBytes: 255 KiB, GridFS's default chunk size, far below
	// the 16 MiB document limit.
	artifactChunkBytes = 255 << 10
)

type artifactDoc struct {
	ID          string    `bson:"_id"`
	RunID       string    `bson:"run_id"`
	Path        string    `bson:"path"`
	Project     string    `bson:"project"`
	Size        int64     `bson:"size"`
	SHA256      string    `bson:"sha256"`
	Blob        string    `bson:"blob"`
	Chunks      int       `bson:"chunks"`
	ContentType string    `bson:"content_type"`
	CreatedAt   time.Time `bson:"created_at"`
	CreatedBy   string    `bson:"created_by"`
}

type artifactChunkDoc struct {
	ID   string `bson:"_id"`
	Data []byte `bson:"data"`
}

func (d *artifactDoc) artifact() db.Artifact {
	return db.Artifact{RunID: d.RunID, Path: d.Path, Project: d.Project, Size: d.Size, SHA256: d.SHA256,
		ContentType: d.ContentType, CreatedAt: utc(d.CreatedAt), CreatedBy: d.CreatedBy}
}

func artifactKey(runID, path string) string { return runID + "/" + path }

func chunkKey(blob string, n int) string { return fmt.Sprintf("%s/%08d", blob, n) }

// PutArtifact writes the chunks, checks the limits, then swaps the index
// document.
func (s *Store) PutArtifact(ctx context.Context, a *db.Artifact, body io.Reader, limits db.ArtifactLimits) error {
	blob := db.NewID()
	chunks := s.coll(artifactChunksCollection)
	h := &db.HashingReader{R: body, Max: limits.MaxFileBytes, Hash: sha256.New()}
	buf := make([]byte, artifactChunkBytes)
	n := 0
	cleanup := func() { s.deleteChunks(context.WithoutCancel(ctx), blob, n) }
	for {
		k, err := io.ReadFull(h, buf)
		if k > 0 {
			if _, ierr := chunks.InsertOne(ctx, artifactChunkDoc{ID: chunkKey(blob, n), Data: bytes.Clone(buf[:k])}); ierr != nil {
				cleanup()
				return fmt.Errorf("db: put artifact: %w", classify(ierr))
			}
			n++
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			cleanup()
			if errors.Is(err, db.ErrTooLarge) {
				return fmt.Errorf("db: put artifact: %w", db.ErrTooLarge)
			}
			return fmt.Errorf("db: put artifact: %w", err)
		}
	}
	a.Size, a.SHA256 = h.N, hex.EncodeToString(h.Hash.Sum(nil))
	key := artifactKey(a.RunID, a.Path)
	coll := s.coll(artifactsCollection)
	var old artifactDoc
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&old)
	exists := err == nil
	if err != nil && !errors.Is(err, mdb.ErrNoDocuments) {
		cleanup()
		return fmt.Errorf("db: put artifact: %w", classify(err))
	}
	if !exists && limits.MaxRunFiles > 0 {
		count, err := coll.CountDocuments(ctx, bson.D{{Key: "run_id", Value: a.RunID}})
		if err != nil {
			cleanup()
			return fmt.Errorf("db: put artifact: %w", classify(err))
		}
		if count >= int64(limits.MaxRunFiles) {
			cleanup()
			return fmt.Errorf("db: put artifact: %w", db.ErrLimit)
		}
	}
	if limits.MaxProjectBytes > 0 {
		total, err := s.ProjectArtifactBytes(ctx, a.Project)
		if err != nil {
			cleanup()
			return err
		}
		if exists {
			total -= old.Size
		}
		if total+a.Size > limits.MaxProjectBytes {
			cleanup()
			return fmt.Errorf("db: put artifact: %w", db.ErrLimit)
		}
	}
	doc := artifactDoc{ID: key, RunID: a.RunID, Path: a.Path, Project: a.Project, Size: a.Size, SHA256: a.SHA256,
		Blob: blob, Chunks: n, ContentType: a.ContentType, CreatedAt: a.CreatedAt.UTC().Truncate(time.Millisecond), CreatedBy: a.CreatedBy}
	var replaced artifactDoc
	err = coll.FindOneAndReplace(ctx, bson.D{{Key: "_id", Value: key}}, doc,
		options.FindOneAndReplace().SetUpsert(true).SetReturnDocument(options.Before)).Decode(&replaced)
	switch {
	case errors.Is(err, mdb.ErrNoDocuments):
	case err != nil:
		cleanup()
		return fmt.Errorf("db: put artifact: %w", classify(err))
	default:
		s.deleteChunks(context.WithoutCancel(ctx), replaced.Blob, replaced.Chunks)
	}
	return nil
}

// deleteChunks removes a blob's chunks by their keys (a failure leaves
// unnamed chunks behind: space, not a broken file).
func (s *Store) deleteChunks(ctx context.Context, blob string, n int) {
	for start := 0; start < n; start += 100 {
		ids := bson.A{}
		for i := start; i < min(n, start+100); i++ {
			ids = append(ids, chunkKey(blob, i))
		}
		_, _ = s.coll(artifactChunksCollection).DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	}
}

// ArtifactByPath finds a file's entry by _id.
func (s *Store) ArtifactByPath(ctx context.Context, runID, path string) (*db.Artifact, error) {
	d, err := s.artifactDoc(ctx, runID, path)
	if err != nil {
		return nil, fmt.Errorf("db: find artifact: %w", err)
	}
	a := d.artifact()
	return &a, nil
}

func (s *Store) artifactDoc(ctx context.Context, runID, path string) (*artifactDoc, error) {
	var d artifactDoc
	if err := s.coll(artifactsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: artifactKey(runID, path)}}).Decode(&d); err != nil {
		return nil, classify(err)
	}
	return &d, nil
}

// ListArtifacts walks the run's files by path (index run_path).
func (s *Store) ListArtifacts(ctx context.Context, runID, prefix, after string, limit int) ([]db.Artifact, bool, error) {
	cond := bson.D{{Key: "$gte", Value: prefix}}
	if after >= prefix {
		cond = bson.D{{Key: "$gt", Value: after}}
	}
	docs, err := findAll[artifactDoc](ctx, s.coll(artifactsCollection), "list artifacts",
		bson.D{{Key: "run_id", Value: runID}, {Key: "path", Value: cond}},
		options.Find().SetSort(bson.D{{Key: "path", Value: 1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, false, err
	}
	out := []db.Artifact{}
	for _, d := range docs {
		if len(d.Path) < len(prefix) || d.Path[:len(prefix)] != prefix {
			break
		}
		out = append(out, d.artifact())
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// OpenArtifact reads the chunks one by one, by _id.
func (s *Store) OpenArtifact(ctx context.Context, a *db.Artifact) (io.ReadCloser, error) {
	d, err := s.artifactDoc(ctx, a.RunID, a.Path)
	if err != nil {
		return nil, fmt.Errorf("db: open artifact: %w", err)
	}
	return &chunkReader{ctx: ctx, s: s, doc: d}, nil
}

type chunkReader struct {
	ctx  context.Context
	s    *Store
	doc  *artifactDoc
	next int
	buf  []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.next >= r.doc.Chunks {
			return 0, io.EOF
		}
		var c artifactChunkDoc
		err := r.s.coll(artifactChunksCollection).FindOne(r.ctx, bson.D{{Key: "_id", Value: chunkKey(r.doc.Blob, r.next)}}).Decode(&c)
		if err != nil {
			return 0, fmt.Errorf("db: read artifact chunk: %w", classify(err))
		}
		r.buf, r.next = c.Data, r.next+1
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *chunkReader) Close() error { return nil }

// DeleteArtifact deletes the index document, then the chunks.
func (s *Store) DeleteArtifact(ctx context.Context, runID, path string) (*db.Artifact, error) {
	var d artifactDoc
	err := s.coll(artifactsCollection).FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: artifactKey(runID, path)}}).Decode(&d)
	if err != nil {
		return nil, fmt.Errorf("db: delete artifact: %w", classify(err))
	}
	s.deleteChunks(context.WithoutCancel(ctx), d.Blob, d.Chunks)
	a := d.artifact()
	return &a, nil
}

// ProjectArtifactBytes sums the project's sizes (index project_size).
func (s *Store) ProjectArtifactBytes(ctx context.Context, project string) (int64, error) {
	cur, err := s.coll(artifactsCollection).Aggregate(ctx, mdb.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "project", Value: project}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: nil}, {Key: "total", Value: bson.D{{Key: "$sum", Value: "$size"}}}}}},
	})
	if err != nil {
		return 0, fmt.Errorf("db: project artifact bytes: %w", classify(err))
	}
	var out []struct {
		Total int64 `bson:"total"`
	}
	if err := cur.All(ctx, &out); err != nil {
		return 0, fmt.Errorf("db: project artifact bytes: %w", classify(err))
	}
	if len(out) == 0 {
		return 0, nil
	}
	return out[0].Total, nil
}
