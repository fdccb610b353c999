package db

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The record kinds of the export format, one table entry each. An entry
// states all the format knows of its kind: its name, the Record field that
// holds it, its id, its line (a *Line struct) both ways with the checks a
// line must pass, and how an import report names it when it gives access.
// RecordKinds, Record.ID and the encoding and decoding of lines are
// lookups in the table.
//
// To add a kind: a Kind constant and a Record field, a *Line struct and an
// entry here at its place in export order (after every kind its records
// refer to); then an entry in the transfer table of each adapter
// (transferKinds in db/sqlite/transfer.go and db/mongo/transfer.go), which
// TestTransferTablesMatchTheFormat demands, and a value in the round-trip
// fixture (db/roundtrip_contract_test.go), which TestEveryFieldRoundTrips
// demands.
var kinds = []kindSpec{
	kindOf[Secret, secretLine]{
		kind: KindSecret, noun: "secrets", field: func(r *Record) **Secret { return &r.Secret },
		id:   func(s *Secret) string { return s.Name },
		line: func(s *Secret) (secretLine, error) { return secretLine{s.Name, s.Value}, nil },
		value: func(l *secretLine) (*Secret, error) {
			if l.Name == "" || len(l.Value) == 0 {
				return nil, errors.New("needs a name and a value")
			}
			return &Secret{Name: l.Name, Value: l.Value}, nil
		},
		access: func(s *Secret) string { return "shared secret " + s.Name },
	}.spec(),
	kindOf[SigningKey, keyLine]{
		kind: KindSigningKey, noun: "signing keys", field: func(r *Record) **SigningKey { return &r.Key },
		id: func(k *SigningKey) string { return k.ID },
		line: func(k *SigningKey) (keyLine, error) {
			return keyLine{k.ID, k.Algorithm, k.PrivateKey, jsonTime{k.CreatedAt}, optTime(k.RetiredAt)}, nil
		},
		value: func(l *keyLine) (*SigningKey, error) {
			if l.ID == "" || l.Algorithm == "" || len(l.PrivateKey) == 0 || l.CreatedAt.IsZero() {
				return nil, errors.New("needs an id, alg, private_key and created_at")
			}
			return &SigningKey{ID: l.ID, Algorithm: l.Algorithm, PrivateKey: l.PrivateKey,
				CreatedAt: l.CreatedAt.Time, RetiredAt: fromOptTime(l.RetiredAt)}, nil
		},
		access: func(k *SigningKey) string { return fmt.Sprintf("signing key %s (%s)", k.ID, k.Algorithm) },
	}.spec(),
	kindOf[User, userLine]{
		kind: KindUser, noun: "users", field: func(r *Record) **User { return &r.User },
		id: func(u *User) string { return u.ID },
		line: func(u *User) (userLine, error) {
			return userLine{u.ID, u.Email, u.Name, u.Role, u.Disabled, u.PasswordHash,
				jsonTime{u.CreatedAt}, jsonTime{u.UpdatedAt}, jsonTime{u.PasswordChangedAt}}, nil
		},
		value: func(l *userLine) (*User, error) {
			if !ValidID(l.ID) || l.Email == "" || l.PasswordHash == "" || !validRole(l.Role) || l.CreatedAt.IsZero() {
				return nil, errors.New("needs a valid id, email, role, password_hash and created_at")
			}
			return &User{ID: l.ID, Email: l.Email, Name: l.Name, Role: l.Role, Disabled: l.Disabled,
				PasswordHash: l.PasswordHash, CreatedAt: l.CreatedAt.Time, UpdatedAt: l.UpdatedAt.Time,
				PasswordChangedAt: l.PasswordChangedAt.Time}, nil
		},
		access: func(u *User) string {
			state := ""
			if u.Disabled {
				state = ", disabled"
			}
			return fmt.Sprintf("user %s (%s%s, id %s)", u.Email, u.Role, state, u.ID)
		},
	}.spec(),
	kindOf[SavedView, viewLine]{
		kind: KindSavedView, noun: "saved views", field: func(r *Record) **SavedView { return &r.View },
		id: func(v *SavedView) string { return v.UserID + "/" + v.Name },
		line: func(v *SavedView) (viewLine, error) {
			return viewLine{v.UserID, v.Name, v.Search, jsonTime{v.UpdatedAt}}, nil
		},
		value: func(l *viewLine) (*SavedView, error) {
			if !ValidID(l.UserID) || l.Name == "" || l.UpdatedAt.IsZero() {
				return nil, errors.New("needs a valid user_id, a name and updated_at")
			}
			return &SavedView{UserID: l.UserID, Name: l.Name, Search: l.Search, UpdatedAt: l.UpdatedAt.Time}, nil
		},
	}.spec(),
	kindOf[SetupClaim, setupLine]{
		kind: KindSetup, noun: "setup records", field: func(r *Record) **SetupClaim { return &r.Setup },
		id:   func(*SetupClaim) string { return string(KindSetup) },
		line: func(c *SetupClaim) (setupLine, error) { return setupLine{c.UserID, jsonTime{c.At}}, nil },
		value: func(l *setupLine) (*SetupClaim, error) {
			if !ValidID(l.UserID) || l.At.IsZero() {
				return nil, errors.New("needs a valid user_id and at")
			}
			return &SetupClaim{UserID: l.UserID, At: l.At.Time}, nil
		},
		access: func(c *SetupClaim) string { return "setup claim of user " + c.UserID },
	}.spec(),
	kindOf[Session, sessionLine]{
		kind: KindSession, noun: "sessions", field: func(r *Record) **Session { return &r.Session },
		id: func(s *Session) string { return s.ID },
		line: func(s *Session) (sessionLine, error) {
			old := s.OldHashes
			if old == nil {
				old = []string{}
			}
			return sessionLine{s.ID, s.UserID, s.SecretHash, s.PrevHash, jsonTime{s.PrevReplacedAt}, old,
				jsonTime{s.CreatedAt}, jsonTime{s.LastUsedAt}, jsonTime{s.IdleExpiresAt}, jsonTime{s.ExpiresAt},
				s.UserAgent, s.IP, optTime(s.RevokedAt), s.RevokedReason}, nil
		},
		value: func(l *sessionLine) (*Session, error) {
			if l.ID == "" || !ValidID(l.UserID) || l.SecretHash == "" || l.ExpiresAt.IsZero() || l.IdleExpiresAt.IsZero() {
				return nil, errors.New("needs an id, a valid user_id, secret_hash, idle_expires_at and expires_at")
			}
			old := l.OldHashes
			if old == nil {
				old = []string{}
			}
			return &Session{ID: l.ID, UserID: l.UserID, SecretHash: l.SecretHash, PrevHash: l.PrevHash,
				PrevReplacedAt: l.PrevReplacedAt.Time, OldHashes: old, CreatedAt: l.CreatedAt.Time, LastUsedAt: l.LastUsedAt.Time,
				IdleExpiresAt: l.IdleExpiresAt.Time, ExpiresAt: l.ExpiresAt.Time, UserAgent: l.UserAgent, IP: l.IP,
				RevokedAt: fromOptTime(l.RevokedAt), RevokedReason: l.RevokedReason}, nil
		},
		access: func(s *Session) string {
			return fmt.Sprintf("session %s of user %s (until %s)", s.ID, s.UserID, s.ExpiresAt.UTC().Format(time.RFC3339))
		},
	}.spec(),
	kindOf[APIToken, tokenLine]{
		kind: KindAPIToken, noun: "API tokens", field: func(r *Record) **APIToken { return &r.Token },
		id: func(t *APIToken) string { return t.ID },
		line: func(t *APIToken) (tokenLine, error) {
			return tokenLine{t.ID, t.UserID, t.Name, t.Hash, t.Hint, orEmpty(t.Scopes), orEmpty(t.Projects),
				jsonTime{t.CreatedAt}, jsonTime{t.ExpiresAt}, optTime(t.LastUsedAt), optTime(t.RevokedAt)}, nil
		},
		value: func(l *tokenLine) (*APIToken, error) {
			if !ValidID(l.ID) || !ValidID(l.UserID) || l.Hash == "" || len(l.Scopes) == 0 || l.CreatedAt.IsZero() || l.ExpiresAt.IsZero() {
				return nil, errors.New("needs a valid id and user_id, hash, scopes, created_at and expires_at")
			}
			return &APIToken{ID: l.ID, UserID: l.UserID, Name: l.Name, Hash: l.Hash, Hint: l.Hint,
				Scopes: l.Scopes, Projects: orEmpty(l.Projects), CreatedAt: l.CreatedAt.Time, ExpiresAt: l.ExpiresAt.Time,
				LastUsedAt: fromOptTime(l.LastUsedAt), RevokedAt: fromOptTime(l.RevokedAt)}, nil
		},
		access: func(t *APIToken) string {
			return fmt.Sprintf("API token %s %q of user %s (%s, until %s)", t.ID, t.Name, t.UserID, strings.Join(t.Scopes, " "),
				t.ExpiresAt.UTC().Format(time.RFC3339))
		},
	}.spec(),
	kindOf[Run, runLine]{
		kind: KindRun, noun: "runs", field: func(r *Record) **Run { return &r.Run },
		id: func(r *Run) string { return r.ID },
		line: func(run *Run) (runLine, error) {
			params := run.Params
			if params == nil {
				params = map[string]any{}
			}
			p, err := AppendJSON(nil, map[string]any(params))
			if err != nil {
				return runLine{}, fmt.Errorf("run %s: params: %w", run.ID, err)
			}
			var failure *failureLine
			if run.Failure != nil {
				failure = &failureLine{Reason: run.Failure.Reason, Detail: run.Failure.Detail}
			}
			metrics := run.Metrics
			if metrics == nil {
				metrics = Metrics{}
			}
			return runLine{run.ID, run.Project, run.ExternalID, run.Name, run.Status, run.Host, run.JobID,
				run.CreatedBy, run.CreatedByToken, p, metrics, orEmpty(run.Tags), run.Notes, jsonTime{run.CreatedAt},
				jsonTime{run.UpdatedAt}, optTime(run.StartedAt), optTime(run.FinishedAt), optTime(run.HeartbeatAt),
				optTime(run.DeletedAt), run.Version, max(run.DataVersion, 1), reviewLine{State: NormalReviewState(run.Review.State),
					ID: run.Review.ID, By: run.Review.By, At: optTime(run.Review.At), Comment: run.Review.Comment,
					DataVersion: run.Review.DataVersion, Outdated: run.Review.Outdated}, failure, run.KeyTags, run.ParamText}, nil
		},
		value: func(l *runLine) (*Run, error) {
			if !ValidID(l.ID) || l.Project == "" || l.ExternalID == "" || !validStatus(l.Status) || l.CreatedAt.IsZero() || l.Version < 1 {
				return nil, errors.New("needs a valid id, project, external_id, status, created_at and version")
			}
			params, err := DecodeJSONObject(l.Params)
			if err != nil {
				return nil, fmt.Errorf("params: %w", err)
			}
			metrics := l.Metrics
			if metrics == nil {
				metrics = Metrics{}
			}
			var failure *Failure
			if l.Failure != nil && l.Failure.Reason != "" {
				failure = &Failure{Reason: l.Failure.Reason, Detail: l.Failure.Detail}
			}
			return &Run{Failure: failure, ID: l.ID, Project: l.Project, ExternalID: l.ExternalID, Name: l.Name,
				Status: l.Status, Host: l.Host, JobID: l.JobID, CreatedBy: l.CreatedBy, CreatedByToken: l.CreatedByToken,
				Params: params, Metrics: metrics, Tags: orEmpty(l.Tags), Notes: l.Notes, CreatedAt: l.CreatedAt.Time,
				UpdatedAt: l.UpdatedAt.Time, StartedAt: fromOptTime(l.StartedAt), FinishedAt: fromOptTime(l.FinishedAt),
				HeartbeatAt: fromOptTime(l.HeartbeatAt), DeletedAt: fromOptTime(l.DeletedAt), Version: l.Version,
				DataVersion: max(l.DataVersion, 1), Review: RunReview{State: NormalReviewState(l.Review.State), ID: l.Review.ID,
					By: l.Review.By, At: fromOptTime(l.Review.At), Comment: l.Review.Comment,
					DataVersion: l.Review.DataVersion, Outdated: l.Review.Outdated}, KeyTags: l.KeyTags, ParamText: l.ParamText}, nil
		},
	}.spec(),
	kindOf[Project, projectLine]{
		kind: KindProject, noun: "projects", field: func(r *Record) **Project { return &r.Project },
		id:   func(p *Project) string { return p.Name },
		line: func(p *Project) (projectLine, error) { return projectLine{p.Name, p.BaselineRun}, nil },
		value: func(l *projectLine) (*Project, error) {
			if l.Name == "" || (l.BaselineRun != "" && !ValidID(l.BaselineRun)) {
				return nil, errors.New("needs a name, and a valid baseline_run or none")
			}
			return &Project{Name: l.Name, BaselineRun: l.BaselineRun, Counts: map[string]int64{}}, nil
		},
	}.spec(),
	kindOf[ReviewEntry, reviewEntryLine]{
		kind: KindReview, noun: "reviews", field: func(r *Record) **ReviewEntry { return &r.Review },
		id: func(e *ReviewEntry) string { return e.ID },
		line: func(e *ReviewEntry) (reviewEntryLine, error) {
			snap := json.RawMessage(e.Snapshot)
			if len(snap) == 0 {
				snap = json.RawMessage("{}")
			}
			return reviewEntryLine{e.ID, e.RunID, e.State, e.By, jsonTime{e.At}, e.Comment, e.BatchID, e.UndoOf,
				e.DataVersion, snap}, nil
		},
		value: func(l *reviewEntryLine) (*ReviewEntry, error) {
			if !ValidID(l.ID) || !ValidID(l.RunID) || l.State == "" || l.At.IsZero() || !json.Valid(l.Snapshot) {
				return nil, errors.New("needs a valid id, run_id, state, at and a JSON snapshot")
			}
			return &ReviewEntry{ID: l.ID, RunID: l.RunID, State: l.State, By: l.By, At: l.At.Time,
				Comment: l.Comment, BatchID: l.BatchID, UndoOf: l.UndoOf, DataVersion: l.DataVersion, Snapshot: l.Snapshot}, nil
		},
	}.spec(),
	kindOf[Comment, commentLine]{
		kind: KindComment, noun: "comments", field: func(r *Record) **Comment { return &r.Comment },
		id: func(c *Comment) string { return c.ID },
		line: func(c *Comment) (commentLine, error) {
			hist := []commentVersion{}
			for _, h := range c.History {
				hist = append(hist, commentVersion{h.Body, jsonTime{h.At}})
			}
			return commentLine{c.ID, c.RunID, c.Author, jsonTime{c.At}, c.Body, c.Anchor, optTime(c.EditedAt),
				optTime(c.DeletedAt), hist}, nil
		},
		value: func(l *commentLine) (*Comment, error) {
			if !ValidID(l.ID) || !ValidID(l.RunID) || l.At.IsZero() {
				return nil, errors.New("needs a valid id, run_id and at")
			}
			c := &Comment{ID: l.ID, RunID: l.RunID, Author: l.Author, At: l.At.Time, Body: l.Body, Anchor: l.Anchor,
				EditedAt: fromOptTime(l.EditedAt), DeletedAt: fromOptTime(l.DeletedAt), History: []CommentVersion{}}
			for _, h := range l.History {
				c.History = append(c.History, CommentVersion{Body: h.Body, At: h.At.Time})
			}
			return c, nil
		},
	}.spec(),
	kindOf[SeriesPart, seriesLine]{
		kind: KindSeries, noun: "series chunks", field: func(r *Record) **SeriesPart { return &r.Series },
		id: func(s *SeriesPart) string {
			if len(s.Points) == 0 {
				return s.RunID + "/" + s.Name
			}
			return fmt.Sprintf("%s/%s@%d", s.RunID, s.Name, s.Points[0].Step)
		},
		line: func(s *SeriesPart) (seriesLine, error) {
			l := seriesLine{RunID: s.RunID, Name: s.Name, Points: make([][2]jsonNum, len(s.Points))}
			for i, p := range s.Points {
				v, _ := Float(p.Value).MarshalJSON() // never fails
				l.Points[i] = [2]jsonNum{jsonNum(strconv.FormatInt(p.Step, 10)), v}
			}
			return l, nil
		},
		value: func(l *seriesLine) (*SeriesPart, error) {
			if !ValidID(l.RunID) || l.Name == "" || len(l.Points) == 0 {
				return nil, errors.New("needs a valid run_id, a name and points")
			}
			part := &SeriesPart{RunID: l.RunID, Name: l.Name, Points: make([]Point, len(l.Points))}
			for i, p := range l.Points {
				step, err := strconv.ParseInt(string(p[0]), 10, 64)
				if err != nil {
					return nil, errors.New("a step is not an integer")
				}
				var v Float
				if err := v.UnmarshalJSON(p[1]); err != nil {
					return nil, err
				}
				part.Points[i] = Point{Step: step, Value: float64(v)}
			}
			return part, nil
		},
	}.spec(),
	kindOf[AuditEvent, auditLine]{
		kind: KindAudit, noun: "audit events", field: func(r *Record) **AuditEvent { return &r.Audit },
		id: func(e *AuditEvent) string { return e.ID },
		line: func(e *AuditEvent) (auditLine, error) {
			return auditLine{e.ID, jsonTime{e.At}, e.Event, e.ActorID, e.UserID, e.Email, e.SessionID,
				e.IP, e.UserAgent, e.Details}, nil
		},
		value: func(l *auditLine) (*AuditEvent, error) {
			if !ValidID(l.ID) || l.Event == "" || l.At.IsZero() {
				return nil, errors.New("needs a valid id, event and at")
			}
			return &AuditEvent{ID: l.ID, At: l.At.Time, Event: l.Event, ActorID: l.ActorID, UserID: l.UserID,
				Email: l.Email, SessionID: l.SessionID, IP: l.IP, UserAgent: l.UserAgent, Details: l.Details}, nil
		},
	}.spec(),
	// A file's record, then at once the file_part records with its bytes,
	// in order (transferfiles.go).
	kindOf[Artifact, fileLine]{
		kind: KindFile, noun: "files", field: func(r *Record) **Artifact { return &r.File },
		id: func(f *Artifact) string { return f.RunID + "/" + f.Path },
		line: func(f *Artifact) (fileLine, error) {
			return fileLine{f.RunID, f.Path, f.Project, f.Size, f.SHA256, f.ContentType, jsonTime{f.CreatedAt}, f.CreatedBy}, nil
		},
		value: func(l *fileLine) (*Artifact, error) {
			if !ValidID(l.RunID) || l.Path == "" || l.Project == "" || l.Size < 0 || len(l.SHA256) != 64 || l.CreatedAt.IsZero() {
				return nil, errors.New("needs a valid run_id, path, project, size, sha256 and created_at")
			}
			return &Artifact{RunID: l.RunID, Path: l.Path, Project: l.Project, Size: l.Size, SHA256: l.SHA256,
				ContentType: l.ContentType, CreatedAt: l.CreatedAt.Time, CreatedBy: l.CreatedBy}, nil
		},
	}.spec(),
	kindOf[FilePart, filePartLine]{
		kind: KindFilePart, noun: "file parts", field: func(r *Record) **FilePart { return &r.Part }, partOf: KindFile,
		id:   func(p *FilePart) string { return fmt.Sprintf("%s@%d", p.SHA256, p.Offset) },
		line: func(p *FilePart) (filePartLine, error) { return filePartLine{p.SHA256, p.Offset, p.Data}, nil },
		value: func(l *filePartLine) (*FilePart, error) {
			if len(l.SHA256) != 64 || l.Offset < 0 || len(l.Data) == 0 {
				return nil, errors.New("needs sha256, offset and data")
			}
			return &FilePart{SHA256: l.SHA256, Offset: l.Offset, Data: l.Data}, nil
		},
	}.spec(),
}

// RecordKinds lists every kind in export order. Login counters and leases
// are transient and not exported.
var RecordKinds = func() []RecordKind {
	out := make([]RecordKind, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}()

// kindByName finds a kind's entry in kinds.
var kindByName = func() map[RecordKind]*kindSpec {
	out := make(map[RecordKind]*kindSpec, len(kinds))
	for i := range kinds {
		out[kinds[i].kind] = &kinds[i]
	}
	return out
}()

// kindSpec is one kind's entry in kinds, its functions typed by kindOf.
type kindSpec struct {
	kind   RecordKind
	noun   string
	partOf RecordKind
	id     func(Record) string
	// encode returns the record's line: its kind and the kind's object.
	encode func(Record) (recordLine, error)
	// decode reads a line of the kind and checks it.
	decode func(line []byte) (Record, error)
	// access names a record that gives access ("" for the others).
	access func(Record) string
}

// kindOf states a kind whose records are a *T in the Record field that
// field returns, written as a line whose "data" is an L.
type kindOf[T, L any] struct {
	kind RecordKind
	// noun names its records in counts ("audit events").
	noun  string
	field func(*Record) **T
	// partOf is the kind whose record these records follow, carrying its
	// bytes (see RecordKind.PartOf); "" for the others.
	partOf RecordKind
	// id is the record's identity in messages and reports.
	id   func(*T) string
	line func(*T) (L, error)
	// value checks a decoded line and returns its value; its error says
	// what the line lacks.
	value func(*L) (*T, error)
	// access, when set, names a record that gives access, for
	// ImportReport.AddedNames. Never a secret or a hash.
	access func(*T) string
}

func (k kindOf[T, L]) spec() kindSpec {
	s := kindSpec{kind: k.kind, noun: k.noun, partOf: k.partOf,
		id: func(r Record) string { return k.id(*k.field(&r)) },
		encode: func(r Record) (recordLine, error) {
			l, err := k.line(*k.field(&r))
			return recordLine{k.kind, l}, err
		},
		decode: func(b []byte) (Record, error) {
			var l L
			if err := lineData(b, &l); err != nil {
				return Record{}, fmt.Errorf("%s record: %s", k.kind, err)
			}
			v, err := k.value(&l)
			if err != nil {
				return Record{}, fmt.Errorf("%s record: %s", k.kind, err)
			}
			r := Record{Kind: k.kind}
			*k.field(&r) = v
			return r, nil
		},
		access: func(Record) string { return "" },
	}
	if k.access != nil {
		s.access = func(r Record) string { return k.access(*k.field(&r)) }
	}
	return s
}

// lineData decodes the "data" object of a record line into v, strictly.
func lineData(b []byte, v any) error {
	var wrapper struct {
		Kind RecordKind      `json:"kind"`
		Data json.RawMessage `json:"data"`
	}
	if err := strictUnmarshal(b, &wrapper); err != nil || len(wrapper.Data) == 0 {
		return errors.New("not of the form {\"kind\": …, \"data\": {…}}")
	}
	return strictUnmarshal(wrapper.Data, v)
}

// Noun names the kind's records in counts ("audit events"); the kind
// itself for one this build does not know.
func (k RecordKind) Noun() string {
	if s, ok := kindByName[k]; ok {
		return s.noun
	}
	return string(k)
}

// PartOf returns the kind whose record the records of k follow at once,
// carrying its bytes (file_part: file), or "" for a kind of its own. An
// adapter writes and reads such records with the record they follow
// (ExportFile, FileBody), so its transfer table has no entry for them.
func (k RecordKind) PartOf() RecordKind {
	if s, ok := kindByName[k]; ok {
		return s.partOf
	}
	return ""
}

func knownKind(k RecordKind) bool {
	_, ok := kindByName[k]
	return ok
}

// ID returns the record's identity (for setup, the fixed "setup").
func (r Record) ID() string {
	if s, ok := kindByName[r.Kind]; ok {
		return s.id(r)
	}
	return string(r.Kind)
}

// accessName describes a record that gives access, for ImportReport.AddedNames
// ("" for the others). Never a secret or a hash.
func accessName(rec Record) string {
	if s, ok := kindByName[rec.Kind]; ok {
		return s.access(rec)
	}
	return ""
}

func encodeRecord(r Record) (recordLine, error) {
	if s, ok := kindByName[r.Kind]; ok {
		return s.encode(r)
	}
	return recordLine{}, fmt.Errorf("unknown record kind %q", r.Kind)
}

func decodeRecord(kind RecordKind, b []byte) (Record, error) {
	if s, ok := kindByName[kind]; ok {
		return s.decode(b)
	}
	return Record{}, fmt.Errorf("unknown record kind %q", strings.ToValidUTF8(string(kind), "?"))
}

// AdapterKind is an adapter's side of one record kind: the value of its
// transfer table, a map[RecordKind]AdapterKind[X] with an entry for every
// kind whose PartOf is "". X is what its readers and importers work in
// (the adapter's transaction, emit, next).
type AdapterKind[X any] struct {
	// Export emits every record of the kind, ordered by id.
	Export func(x X) error
	// Import writes rec unless a record with its id exists (then it is
	// kept, and added is false). conflict explains a record that cannot be
	// imported beside what the database holds.
	Import func(x X, rec Record) (added bool, conflict string, err error)
}

// ExportKinds runs the readers of an adapter's transfer table, kind by
// kind in RecordKinds order (the records of a kind that is part of
// another's are emitted by that kind's reader).
func ExportKinds[X any](table map[RecordKind]AdapterKind[X], x X) error {
	for _, kind := range RecordKinds {
		if kind.PartOf() != "" {
			continue
		}
		t, ok := table[kind]
		if !ok {
			return fmt.Errorf("db: export %s: the adapter has no reader for the kind", kind)
		}
		if err := t.Export(x); err != nil {
			return fmt.Errorf("db: export %s: %w", kind, err)
		}
	}
	return nil
}

// ImportKind writes rec with the importer of its kind in an adapter's
// transfer table.
func ImportKind[X any](table map[RecordKind]AdapterKind[X], x X, rec Record) (added bool, conflict string, err error) {
	t, ok := table[rec.Kind]
	if !ok {
		return false, "", fmt.Errorf("unknown record kind %q", rec.Kind)
	}
	return t.Import(x, rec)
}

// recordLine is one record line: its kind and the kind's object.
type recordLine struct {
	Kind RecordKind `json:"kind"`
	Data any        `json:"data"`
}

// The record shapes of the format (fileLine and filePartLine are in
// transferfiles.go). They are a storage format, not API shapes: password
// hashes and private keys are in them on purpose, which is why export
// files must be guarded like the database.

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

func validRole(r string) bool { return r == RoleViewer || r == RoleReviewer || r == RoleAdmin }
