package db_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"labreview/db"
	"labreview/db/dbtest"
)

func readArtifact(t *testing.T, s db.Store, a *db.Artifact) []byte {
	t.Helper()
	rc, err := s.OpenArtifact(ctx(t), a)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func artifactPaths(t *testing.T, s db.Store, runID, prefix, after string, limit int) ([]string, bool) {
	t.Helper()
	list, more, err := s.ListArtifacts(ctx(t), runID, prefix, after, limit)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, a := range list {
		out = append(out, a.Path)
	}
	return out, more
}

// TestArtifacts: files round-trip byte for byte (larger than a chunk on
// MongoDB), a put replaces, the same put again changes nothing, listings
// page by path within a prefix, limits refuse without indexing, a delete
// frees the project's bytes, and identical contents of two files survive
// the deletion of one.
func TestArtifacts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		run := db.NewID()
		big := make([]byte, 600<<10+17)
		_, _ = rand.Read(big)
		put := func(path string, body []byte, limits db.ArtifactLimits) (*db.Artifact, error) {
			a := &db.Artifact{RunID: run, Path: path, Project: "files", ContentType: "application/octet-stream", CreatedAt: now(), CreatedBy: "u1"}
			return a, s.PutArtifact(ctx(t), a, bytes.NewReader(body), limits)
		}
		a, err := put("model/weights.bin", big, db.ArtifactLimits{})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(big)
		if a.Size != int64(len(big)) || a.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("size %d sha %s", a.Size, a.SHA256)
		}
		got, err := s.ArtifactByPath(ctx(t), run, "model/weights.bin")
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("entry %+v %v, want %+v", got, err, a)
		}
		if b := readArtifact(t, s, got); !bytes.Equal(b, big) {
			t.Fatalf("read back %d bytes, not the %d written", len(b), len(big))
		}
		// The same put again, then a replacement with other bytes.
		if _, err := put("model/weights.bin", big, db.ArtifactLimits{}); err != nil {
			t.Fatal(err)
		}
		if _, err := put("model/weights.bin", []byte("v2"), db.ArtifactLimits{}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.ArtifactByPath(ctx(t), run, "model/weights.bin")
		if b := readArtifact(t, s, got); string(b) != "v2" || got.Size != 2 {
			t.Fatalf("after replacing: %q (%d)", b, got.Size)
		}
		for _, p := range []string{"a.txt", "model/a", "model/z", "modelx", "plots/loss.png"} {
			if _, err := put(p, []byte(p), db.ArtifactLimits{}); err != nil {
				t.Fatal(err)
			}
		}
		if paths, more := artifactPaths(t, s, run, "model/", "", 10); !reflect.DeepEqual(paths, []string{"model/a", "model/weights.bin", "model/z"}) || more {
			t.Fatalf("prefix model/: %v %v", paths, more)
		}
		if paths, more := artifactPaths(t, s, run, "", "", 2); !reflect.DeepEqual(paths, []string{"a.txt", "model/a"}) || !more {
			t.Fatalf("first page: %v %v", paths, more)
		}
		if paths, more := artifactPaths(t, s, run, "", "model/a", 10); len(paths) != 4 || paths[0] != "model/weights.bin" || more {
			t.Fatalf("after model/a: %v %v", paths, more)
		}
		total, err := s.ProjectArtifactBytes(ctx(t), "files")
		if err != nil || total != int64(2+len("a.txt")+len("model/a")+len("model/z")+len("modelx")+len("plots/loss.png")) {
			t.Fatalf("project bytes %d %v", total, err)
		}
		// Limits refuse and index nothing.
		if _, err := put("huge", big, db.ArtifactLimits{MaxFileBytes: 1000}); !errors.Is(err, db.ErrTooLarge) {
			t.Fatalf("file limit: %v", err)
		}
		if _, err := put("more", []byte("12345"), db.ArtifactLimits{MaxProjectBytes: total + 4}); !errors.Is(err, db.ErrLimit) {
			t.Fatalf("project limit: %v", err)
		}
		// Replacing counts the replaced file out.
		if _, err := put("a.txt", []byte("123456789"), db.ArtifactLimits{MaxProjectBytes: total + 4}); err != nil {
			t.Fatalf("replacing within the project limit: %v", err)
		}
		if _, err := put("new", []byte("x"), db.ArtifactLimits{MaxRunFiles: 6}); !errors.Is(err, db.ErrLimit) {
			t.Fatalf("run file limit: %v", err)
		}
		for _, p := range []string{"huge", "more", "new"} {
			if _, err := s.ArtifactByPath(ctx(t), run, p); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("a refused put left %s: %v", p, err)
			}
		}
		// Two files with the same bytes: deleting one keeps the other.
		if _, err := put("copy-1", []byte("same"), db.ArtifactLimits{}); err != nil {
			t.Fatal(err)
		}
		if _, err := put("copy-2", []byte("same"), db.ArtifactLimits{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteArtifact(ctx(t), run, "copy-1"); err != nil {
			t.Fatal(err)
		}
		c2, _ := s.ArtifactByPath(ctx(t), run, "copy-2")
		if b := readArtifact(t, s, c2); string(b) != "same" {
			t.Fatalf("copy-2 reads %q after copy-1 went", b)
		}
		if _, err := s.DeleteArtifact(ctx(t), run, "copy-1"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("deleting twice: %v", err)
		}
		before, _ := s.ProjectArtifactBytes(ctx(t), "files")
		if _, err := s.DeleteArtifact(ctx(t), run, "copy-2"); err != nil {
			t.Fatal(err)
		}
		if after, _ := s.ProjectArtifactBytes(ctx(t), "files"); after != before-4 {
			t.Fatalf("project bytes %d after deleting 4 of %d", after, before)
		}
		// A file of nothing.
		if e, err := put("empty", nil, db.ArtifactLimits{}); err != nil || e.Size != 0 {
			t.Fatalf("empty file: %v %+v", err, e)
		}
		e, _ := s.ArtifactByPath(ctx(t), run, "empty")
		if b := readArtifact(t, s, e); len(b) != 0 {
			t.Fatalf("empty file reads %d bytes", len(b))
		}
	})
}

// TestKeyTagsAndCreateProject: a run's key-value tags and param texts
// round-trip; a project can exist before its first run.
func TestKeyTagsAndCreateProject(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		r := newRun("kv", "one", now())
		r.KeyTags = map[string]string{"mlflow.source.name": "train.py", "a.b$c": "v"}
		r.ParamText = map[string]string{"dropout": "1.0"}
		if _, _, err := s.CreateRun(ctx(t), r); err != nil {
			t.Fatal(err)
		}
		got, err := s.RunByID(ctx(t), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.KeyTags, r.KeyTags) || !reflect.DeepEqual(got.ParamText, r.ParamText) {
			t.Fatalf("key tags %v param text %v", got.KeyTags, got.ParamText)
		}
		_, after, err := s.UpdateRun(ctx(t), r.ID, now(), func(r *db.Run) error {
			r.KeyTags["new"] = "x"
			delete(r.KeyTags, "a.b$c")
			return nil
		})
		if err != nil || !reflect.DeepEqual(after.KeyTags, map[string]string{"mlflow.source.name": "train.py", "new": "x"}) {
			t.Fatalf("after update %v %v", after.KeyTags, err)
		}
		for i, want := range []bool{true, false} {
			created, err := s.CreateProject(ctx(t), "empty-exp", now())
			if err != nil || created != want {
				t.Fatalf("create project, call %d: %v %v", i, created, err)
			}
		}
		p, err := s.ProjectByName(ctx(t), "empty-exp")
		if err != nil || p.Name != "empty-exp" {
			t.Fatalf("project %+v %v", p, err)
		}
		if created, err := s.CreateProject(ctx(t), "kv", now()); err != nil || created {
			t.Fatalf("a project with runs is created again: %v %v", created, err)
		}
		if p, _ := s.ProjectByName(ctx(t), "kv"); p.Counts[db.CountLive] != 1 {
			t.Fatalf("creating an existing project changed it: %+v", p)
		}
	})
}

// TestFilesInExports: files travel through export and import, embedded →
// hosted → embedded, byte for byte; a file whose parts are missing or
// altered refuses the import.
func TestFilesInExports(t *testing.T) {
	src := dbtest.SQLite(t)
	r := newRun("files", "exp", now())
	if _, _, err := src.CreateRun(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 500<<10)
	_, _ = rand.Read(big)
	for path, body := range map[string][]byte{"model/w.bin": big, "empty.txt": nil, "copy.bin": big} {
		a := &db.Artifact{RunID: r.ID, Path: path, Project: "files", ContentType: "application/octet-stream", CreatedAt: now(), CreatedBy: "u"}
		if err := src.PutArtifact(ctx(t), a, bytes.NewReader(body), db.ArtifactLimits{}); err != nil {
			t.Fatal(err)
		}
	}
	first := export(t, src)
	hosted := dbtest.Mongo(t)
	report, err := db.Import(ctx(t), hosted, strings.NewReader(first), false)
	if err != nil || report.Added[db.KindFile] != 3 {
		t.Fatalf("import into hosted: %+v %v", report, err)
	}
	second := export(t, hosted)
	if body(first) != body(second) {
		t.Fatal("embedded and hosted exports of files differ")
	}
	back := dbtest.SQLite(t)
	if _, err := db.Import(ctx(t), back, strings.NewReader(second), false); err != nil {
		t.Fatal(err)
	}
	for _, s := range []db.Store{hosted, back} {
		a, err := s.ArtifactByPath(ctx(t), r.ID, "model/w.bin")
		if err != nil {
			t.Fatal(err)
		}
		if b := readArtifact(t, s, a); !bytes.Equal(b, big) {
			t.Fatalf("%s: the file came back as %d other bytes", s.Mode(), len(b))
		}
	}
	// Merging the same export again skips the files (and reads past their parts).
	report, err = db.Import(ctx(t), back, strings.NewReader(second), true)
	if err != nil || report.Skipped[db.KindFile] != 3 || report.Added[db.KindFile] != 0 {
		t.Fatalf("merge again: %+v %v", report, err)
	}

	lines := strings.SplitAfter(first, "\n")
	var partLines []int
	for i, l := range lines {
		if strings.HasPrefix(l, `{"kind":"file_part"`) {
			partLines = append(partLines, i)
		}
	}
	dropped := strings.Join(append(append([]string{}, lines[:partLines[1]]...), lines[partLines[1]+1:]...), "")
	dropped = strings.Replace(dropped, `"file_part":`+fmt.Sprint(len(partLines)), `"file_part":`+fmt.Sprint(len(partLines)-1), 1)
	if _, err := db.Import(ctx(t), dbtest.SQLite(t), strings.NewReader(dropped), false); err == nil {
		t.Fatal("an export missing a file's part was imported")
	}
	// One byte of a part altered: the digest does not match; nothing stays.
	var part struct {
		Data struct{ Data []byte }
	}
	if err := json.Unmarshal([]byte(lines[partLines[0]]), &part); err != nil {
		t.Fatal(err)
	}
	part.Data.Data[0] ^= 1
	altered := strings.Replace(lines[partLines[0]], `"data":"`+base64.StdEncoding.EncodeToString(func() []byte { p := bytes.Clone(part.Data.Data); p[0] ^= 1; return p }()), `"data":"`+base64.StdEncoding.EncodeToString(part.Data.Data), 1)
	damaged := strings.Replace(first, lines[partLines[0]], altered, 1)
	if damaged == first {
		t.Fatal("the test did not alter the part")
	}
	target := dbtest.SQLite(t)
	if _, err := db.Import(ctx(t), target, strings.NewReader(damaged), false); !errors.Is(err, db.ErrFileDamaged) {
		t.Fatalf("an altered file: %v", err)
	}
	if users, _ := target.ListUsers(ctx(t)); len(users) != 0 {
		t.Fatal("a refused import wrote data")
	}
	if _, err := target.RunByID(ctx(t), r.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("a refused import kept the run: %v", err)
	}
}
