package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"labreview/db"
)

// sessionDoc is a session as stored.
type sessionDoc struct {
	ID             string        `bson:"_id"`
	UserID         bson.ObjectID `bson:"user_id"`
	SecretHash     string        `bson:"secret_hash"`
	PrevHash       string        `bson:"prev_hash"`
	PrevReplacedAt time.Time     `bson:"prev_replaced_at"`
	OldHashes      []string      `bson:"old_hashes"`
	CreatedAt      time.Time     `bson:"created_at"`
	LastUsedAt     time.Time     `bson:"last_used_at"`
	IdleExpiresAt  time.Time     `bson:"idle_expires_at"`
	ExpiresAt      time.Time     `bson:"expires_at"`
	UserAgent      string        `bson:"user_agent"`
	IP             string        `bson:"ip"`
	RevokedAt      *time.Time    `bson:"revoked_at"`
	RevokedReason  string        `bson:"revoked_reason,omitempty"`
}

func toSessionDoc(s *db.Session) (*sessionDoc, error) {
	uid, err := bson.ObjectIDFromHex(s.UserID)
	if err != nil {
		return nil, fmt.Errorf("session %s: user id %q is not an id", s.ID, s.UserID)
	}
	old := s.OldHashes
	if old == nil {
		old = []string{}
	}
	return &sessionDoc{ID: s.ID, UserID: uid, SecretHash: s.SecretHash, PrevHash: s.PrevHash, PrevReplacedAt: s.PrevReplacedAt,
		OldHashes: old, CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt, IdleExpiresAt: s.IdleExpiresAt,
		ExpiresAt: s.ExpiresAt, UserAgent: s.UserAgent, IP: s.IP, RevokedAt: s.RevokedAt, RevokedReason: s.RevokedReason}, nil
}

func (d *sessionDoc) session() db.Session {
	old := d.OldHashes
	if old == nil {
		old = []string{}
	}
	return db.Session{ID: d.ID, UserID: d.UserID.Hex(), SecretHash: d.SecretHash, PrevHash: d.PrevHash,
		PrevReplacedAt: utc(d.PrevReplacedAt), OldHashes: old, CreatedAt: utc(d.CreatedAt), LastUsedAt: utc(d.LastUsedAt),
		IdleExpiresAt: utc(d.IdleExpiresAt), ExpiresAt: utc(d.ExpiresAt), UserAgent: d.UserAgent, IP: d.IP,
		RevokedAt: optUTC(d.RevokedAt), RevokedReason: d.RevokedReason}
}

func (s *Store) sessions() *mdb.Collection { return s.coll(sessionsCollection) }

// InsertSession stores a new session.
func (s *Store) InsertSession(ctx context.Context, sess *db.Session) error {
	doc, err := toSessionDoc(sess)
	if err != nil {
		return fmt.Errorf("db: insert session: %w", err)
	}
	if _, err := s.sessions().InsertOne(ctx, doc); err != nil {
		return fmt.Errorf("db: insert session: %w", classify(err))
	}
	return nil
}

// SessionByID finds a session, live or not.
func (s *Store) SessionByID(ctx context.Context, id string) (*db.Session, error) {
	var d sessionDoc
	if err := s.sessions().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return nil, fmt.Errorf("db: find session: %w", classify(err))
	}
	sess := d.session()
	return &sess, nil
}

// RotateSession reads the session, then rotates its secret in one
// conditional single-document update: the update applies only if the
// secret is still the one presented, so of concurrent rotations exactly
// one succeeds, and the list of superseded hashes it writes was computed
// from the state it replaces.
func (s *Store) RotateSession(ctx context.Context, id, presented, newHash string, now time.Time, idle time.Duration, keepOld int) (*db.Session, error) {
	cur, err := s.SessionByID(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if cur.SecretHash != presented || !cur.Live(now) {
		return nil, nil
	}
	old := cur.OldHashes
	if cur.PrevHash != "" {
		old = append([]string{cur.PrevHash}, old...)
	}
	old = old[:min(len(old), keepOld)]
	idleEnd := now.Add(idle)
	if cur.ExpiresAt.Before(idleEnd) {
		idleEnd = cur.ExpiresAt
	}
	res, err := s.sessions().UpdateOne(ctx,
		bson.D{
			{Key: "_id", Value: id},
			{Key: "secret_hash", Value: presented},
			{Key: "revoked_at", Value: nil},
			{Key: "idle_expires_at", Value: bson.D{{Key: "$gt", Value: now}}},
			{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}},
		},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "secret_hash", Value: newHash},
			{Key: "prev_hash", Value: presented},
			{Key: "prev_replaced_at", Value: now},
			{Key: "old_hashes", Value: old},
			{Key: "last_used_at", Value: now},
			{Key: "idle_expires_at", Value: idleEnd},
		}}})
	if err != nil {
		return nil, fmt.Errorf("db: rotate session: %w", classify(err))
	}
	if res.ModifiedCount != 1 {
		return nil, nil
	}
	ms := now.UTC().Truncate(time.Millisecond)
	cur.PrevHash, cur.SecretHash, cur.PrevReplacedAt, cur.OldHashes = presented, newHash, ms, old
	cur.LastUsedAt, cur.IdleExpiresAt = ms, idleEnd.UTC().Truncate(time.Millisecond)
	return cur, nil
}

// TouchSession records use of an unrevoked session.
func (s *Store) TouchSession(ctx context.Context, id string, now time.Time) error {
	_, err := s.sessions().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "revoked_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "last_used_at", Value: now}}}})
	if err != nil {
		return fmt.Errorf("db: touch session: %w", classify(err))
	}
	return nil
}

// RevokeSession ends a session.
func (s *Store) RevokeSession(ctx context.Context, id, reason string, now time.Time) (bool, error) {
	res, err := s.sessions().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "revoked_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: now}, {Key: "revoked_reason", Value: reason}}}})
	if err != nil {
		return false, fmt.Errorf("db: revoke session: %w", classify(err))
	}
	return res.ModifiedCount == 1, nil
}

// RevokeUserSessions ends a user's unrevoked sessions except keep and
// returns their ids.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, keep, reason string, now time.Time) ([]string, error) {
	uid, err := oid(userID)
	if err != nil {
		return []string{}, nil
	}
	filter := bson.D{{Key: "user_id", Value: uid}, {Key: "revoked_at", Value: nil}}
	if keep != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$ne", Value: keep}}})
	}
	type idOnly struct {
		ID string `bson:"_id"`
	}
	docs, err := findAll[idOnly](ctx, s.sessions(), "find sessions", filter,
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(docs))
	for i, doc := range docs {
		ids[i] = doc.ID
	}
	if len(ids) == 0 {
		return ids, nil
	}
	// Only the sessions just listed, and only while still unrevoked: a
	// session revoked meanwhile keeps its own time and reason.
	_, err = s.sessions().UpdateMany(ctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "revoked_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: now}, {Key: "revoked_reason", Value: reason}}}})
	if err != nil {
		return nil, fmt.Errorf("db: revoke user sessions: %w", classify(err))
	}
	return ids, nil
}

// LiveSessions lists a user's live sessions, most recently used first.
func (s *Store) LiveSessions(ctx context.Context, userID string, now time.Time) ([]db.Session, error) {
	uid, err := oid(userID)
	if err != nil {
		return []db.Session{}, nil
	}
	docs, err := findAll[sessionDoc](ctx, s.sessions(), "list sessions", bson.D{
		{Key: "user_id", Value: uid},
		{Key: "revoked_at", Value: nil},
		{Key: "idle_expires_at", Value: bson.D{{Key: "$gt", Value: now}}},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}},
	}, options.Find().SetSort(bson.D{{Key: "last_used_at", Value: -1}}))
	if err != nil {
		return nil, err
	}
	out := make([]db.Session, len(docs))
	for i := range docs {
		out[i] = docs[i].session()
	}
	return out, nil
}

// SweepSessions deletes sessions that ended before cutoff.
func (s *Store) SweepSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.sessions().DeleteMany(ctx, bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}},
		bson.D{{Key: "idle_expires_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}},
		bson.D{{Key: "revoked_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}},
	}}})
	if err != nil {
		return 0, fmt.Errorf("db: sweep sessions: %w", classify(err))
	}
	return res.DeletedCount, nil
}
