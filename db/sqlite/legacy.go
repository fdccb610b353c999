package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"labreview/db"
)

// Earlier versions kept the embedded data in FerretDB (v1, SQLite backend)
// under data_dir/store: one SQLite file per database, <name>.sqlite, with a
// table _ferretdb_collections naming each collection's table, and one row
// per document in a column _ferretdb_sjson. A document is JSON plus a type
// schema under "$s" (FerretDB's "SJSON"): dates are milliseconds, ObjectIDs
// hex strings, binary data base64. This file reads that format without
// linking FerretDB.

const (
	legacyStoreDir  = "store"
	legacyLockFile  = "store.lock"
	legacyRenamedTo = "store.imported"
	importingSuffix = ".importing"
)

// ErrLegacyInUse reports an earlier labreview still running on the folder.
var ErrLegacyInUse = errors.New("an earlier labreview is still running on this data folder; stop it before starting this version, which imports its data")

// importLegacyIfNeeded imports DataDir/store/<database>.sqlite into a new
// database when there is no database yet. Users, password hashes, signing
// keys, the first-run setup claim and the audit log are imported; sessions
// are not (everyone signs in again). The new file appears only once the
// import is complete, and the old folder is then renamed store.imported.
func (s *Store) importLegacyIfNeeded(ctx context.Context, database string) error {
	legacy := filepath.Join(s.dataDir, legacyStoreDir, database+".sqlite")
	if _, err := os.Stat(s.path); err == nil {
		return nil
	}
	if _, err := os.Stat(legacy); err != nil {
		return nil
	}
	lock, err := lockFile(filepath.Join(s.dataDir, legacyLockFile), ErrLegacyInUse)
	if err != nil {
		return err
	}
	defer unlockFile(lock)

	tmpPath := s.path + importingSuffix
	for _, p := range []string{tmpPath, tmpPath + "-wal", tmpPath + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("db: import legacy store: %w", err)
		}
	}
	records, err := readLegacy(ctx, legacy)
	if err != nil {
		return fmt.Errorf("db: import the earlier embedded store %s: %w", legacy, err)
	}
	fresh := &Store{path: tmpPath, dataDir: s.dataDir, log: s.log, writeTimeout: s.writeTimeout, walMax: s.walMax}
	if err := fresh.openPools(1); err != nil {
		return err
	}
	err = fresh.migrate(ctx)
	var report *db.ImportReport
	if err == nil {
		i := 0
		report, err = fresh.ImportRecords(ctx, func() (db.Record, error) {
			if i == len(records) {
				return db.Record{}, io.EOF
			}
			i++
			return records[i-1], nil
		}, false)
	}
	if cerr := fresh.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("db: import the earlier embedded store %s: %w", legacy, err)
	}
	if err := os.Rename(tmpPath, s.path); err != nil {
		return fmt.Errorf("db: import legacy store: %w", err)
	}
	renamed := filepath.Join(s.dataDir, legacyRenamedTo)
	if err := os.Rename(filepath.Join(s.dataDir, legacyStoreDir), renamed); err != nil {
		s.log.Warn("could not rename the imported legacy store folder; it is no longer used", "err", err)
		renamed = filepath.Join(s.dataDir, legacyStoreDir)
	}
	_ = os.RemoveAll(filepath.Join(s.dataDir, "run")) // the old store's sockets
	s.log.Warn("imported the data of the earlier embedded store (FerretDB) into "+s.path+
		"; sessions were not imported, so everyone signs in again; the old folder is kept until you delete it",
		"users", report.Added[db.KindUser], "signing_keys", report.Added[db.KindSigningKey],
		"audit_events", report.Added[db.KindAudit], "old_folder", renamed)
	return nil
}

// readLegacy reads every record worth keeping from a FerretDB SQLite file.
func readLegacy(ctx context.Context, path string) ([]db.Record, error) {
	conn, err := sql.Open("sqlite", fileURI(path)+"?_pragma=busy_timeout(5000)&_query_only=1")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	tables := map[string]string{}
	rows, err := conn.QueryContext(ctx, `SELECT name, table_name FROM "_ferretdb_collections"`)
	if err != nil {
		return nil, fmt.Errorf("not a FerretDB database: %w", err)
	}
	for rows.Next() {
		var name, table string
		if err := rows.Scan(&name, &table); err != nil {
			rows.Close()
			return nil, err
		}
		tables[name] = table
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []db.Record
	collect := func(collection string, conv func(doc map[string]any) (db.Record, bool, error)) error {
		table, ok := tables[collection]
		if !ok {
			return nil
		}
		rows, err := conn.QueryContext(ctx, fmt.Sprintf(`SELECT "_ferretdb_sjson" FROM %q`, table))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var raw string
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			doc, err := decodeSJSON([]byte(raw))
			if err != nil {
				return fmt.Errorf("%s: %w", collection, err)
			}
			rec, keep, err := conv(doc)
			if err != nil {
				return fmt.Errorf("%s document %v: %w", collection, doc["_id"], err)
			}
			if keep {
				out = append(out, rec)
			}
		}
		return rows.Err()
	}
	steps := []struct {
		collection string
		conv       func(map[string]any) (db.Record, bool, error)
	}{
		{"signing_keys", legacyKey}, {"users", legacyUser}, {"meta", legacySetup}, {"audit", legacyAudit},
	}
	for _, st := range steps {
		if err := collect(st.collection, st.conv); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// legacyDoc reads typed fields of a decoded document.
type legacyDoc map[string]any

func (d legacyDoc) str(k string) string     { s, _ := d[k].(string); return s }
func (d legacyDoc) boolean(k string) bool   { b, _ := d[k].(bool); return b }
func (d legacyDoc) time(k string) time.Time { t, _ := d[k].(time.Time); return t }
func (d legacyDoc) optTime(k string) *time.Time {
	if t, ok := d[k].(time.Time); ok {
		return &t
	}
	return nil
}

func legacyUser(m map[string]any) (db.Record, bool, error) {
	d := legacyDoc(m)
	u := &db.User{ID: d.str("_id"), Email: d.str("email"), Name: d.str("name"), Role: d.str("role"),
		Disabled: d.boolean("disabled"), PasswordHash: d.str("password_hash"), CreatedAt: d.time("created_at"),
		UpdatedAt: d.time("updated_at"), PasswordChangedAt: d.time("password_changed_at")}
	if !db.ValidID(u.ID) || u.Email == "" || u.PasswordHash == "" {
		return db.Record{}, false, errors.New("not a user document")
	}
	return db.Record{Kind: db.KindUser, User: u}, true, nil
}

func legacyKey(m map[string]any) (db.Record, bool, error) {
	d := legacyDoc(m)
	pk, _ := d["private_key"].([]byte)
	k := &db.SigningKey{ID: d.str("_id"), Algorithm: d.str("alg"), PrivateKey: pk, CreatedAt: d.time("created_at"),
		RetiredAt: d.optTime("retired_at")}
	if k.ID == "" || len(pk) == 0 {
		return db.Record{}, false, errors.New("not a signing key document")
	}
	return db.Record{Kind: db.KindSigningKey, Key: k}, true, nil
}

// legacySetup keeps the setup marker; leases in the same collection are
// transient and dropped.
func legacySetup(m map[string]any) (db.Record, bool, error) {
	d := legacyDoc(m)
	if d.str("_id") != "setup" {
		return db.Record{}, false, nil
	}
	c := &db.SetupClaim{UserID: d.str("user_id"), At: d.time("at")}
	if !db.ValidID(c.UserID) {
		return db.Record{}, false, errors.New("setup marker without a user id")
	}
	return db.Record{Kind: db.KindSetup, Setup: c}, true, nil
}

func legacyAudit(m map[string]any) (db.Record, bool, error) {
	d := legacyDoc(m)
	e := &db.AuditEvent{ID: d.str("_id"), At: d.time("at"), Event: d.str("event"), ActorID: d.str("actor_id"),
		UserID: d.str("user_id"), Email: d.str("email"), SessionID: d.str("session_id"), IP: d.str("ip"),
		UserAgent: d.str("user_agent")}
	if details, ok := d["details"].(map[string]any); ok {
		// Through JSON, so numbers become float64 as from either adapter.
		b, err := json.Marshal(details)
		if err != nil {
			return db.Record{}, false, err
		}
		if err := json.Unmarshal(b, &e.Details); err != nil {
			return db.Record{}, false, err
		}
	}
	if !db.ValidID(e.ID) || e.Event == "" {
		return db.Record{}, false, errors.New("not an audit document")
	}
	return db.Record{Kind: db.KindAudit, Audit: e}, true, nil
}

// sjsonSchema and sjsonElem are FerretDB's type schema.
type sjsonSchema struct {
	Keys  []string              `json:"$k"`
	Props map[string]*sjsonElem `json:"p"`
}

type sjsonElem struct {
	Type    string       `json:"t"`
	Schema  *sjsonSchema `json:"$s,omitempty"`
	Items   []*sjsonElem `json:"i,omitempty"`
	Subtype *int         `json:"s,omitempty"`
	Options *string      `json:"o,omitempty"`
}

// decodeSJSON decodes one stored document into Go values: objects as
// map[string]any, arrays as []any, dates as time.Time (UTC), ObjectIDs as
// hex strings, binary data as []byte, int and long as int64.
func decodeSJSON(raw []byte) (map[string]any, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	var sch sjsonSchema
	if err := json.Unmarshal(fields["$s"], &sch); err != nil {
		return nil, fmt.Errorf("document schema: %w", err)
	}
	delete(fields, "$s")
	return decodeSJSONObject(fields, &sch)
}

func decodeSJSONObject(fields map[string]json.RawMessage, sch *sjsonSchema) (map[string]any, error) {
	out := make(map[string]any, len(sch.Keys))
	for _, k := range sch.Keys {
		v, err := decodeSJSONValue(fields[k], sch.Props[k])
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

func decodeSJSONValue(raw json.RawMessage, el *sjsonElem) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if el == nil {
		return nil, errors.New("no schema")
	}
	switch el.Type {
	case "object":
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil || el.Schema == nil {
			return nil, errors.New("bad object")
		}
		return decodeSJSONObject(fields, el.Schema)
	case "array":
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil || len(items) != len(el.Items) {
			return nil, errors.New("bad array")
		}
		out := make([]any, len(items))
		for i := range items {
			v, err := decodeSJSONValue(items[i], el.Items[i])
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case "string", "objectId", "regex":
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case "binData":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(s)
	case "bool":
		var b bool
		err := json.Unmarshal(raw, &b)
		return b, err
	case "date":
		var ms int64
		if err := json.Unmarshal(raw, &ms); err != nil {
			return nil, err
		}
		return time.UnixMilli(ms).UTC(), nil
	case "int", "long", "timestamp":
		var n int64
		err := json.Unmarshal(raw, &n)
		return n, err
	case "double":
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			var s string // FerretDB writes infinities as strings
			if json.Unmarshal(raw, &s) != nil {
				return nil, err
			}
			return s, nil
		}
		return f, nil
	default:
		return nil, fmt.Errorf("unknown type %q", el.Type)
	}
}
