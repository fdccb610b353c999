package db

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

const sessionsCollection = "sessions"

// Session is one login: the family of refresh tokens that descend from it.
// Only hashes of refresh secrets are stored.
type Session struct {
	ID             string        `bson:"_id"` // random, also the access token's sid
	UserID         bson.ObjectID `bson:"user_id"`
	SecretHash     string        `bson:"secret_hash"`      // hash of the current refresh secret
	PrevHash       string        `bson:"prev_hash"`        // hash of the one it replaced ("" before the first rotation)
	PrevReplacedAt time.Time     `bson:"prev_replaced_at"` // when PrevHash was replaced
	OldHashes      []string      `bson:"old_hashes"`       // earlier superseded hashes, newest first, bounded: reuse of any is theft
	CreatedAt      time.Time     `bson:"created_at"`
	LastUsedAt     time.Time     `bson:"last_used_at"`
	IdleExpiresAt  time.Time     `bson:"idle_expires_at"` // extended by every refresh, never past ExpiresAt
	ExpiresAt      time.Time     `bson:"expires_at"`      // absolute end
	UserAgent      string        `bson:"user_agent"`
	IP             string        `bson:"ip"`
	RevokedAt      *time.Time    `bson:"revoked_at"`
	RevokedReason  string        `bson:"revoked_reason,omitempty"`
}

// Live reports whether the session can still be used at now.
func (s *Session) Live(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.IdleExpiresAt) && now.Before(s.ExpiresAt)
}

func (d *DB) sessions() *mongo.Collection { return d.Database().Collection(sessionsCollection) }

// sessionsByUser speeds up listing a user's sessions on MongoDB.
var sessionsByUser = indexSpec{
	collection: sessionsCollection,
	model:      mongo.IndexModel{Keys: bson.D{{Key: "user_id", Value: 1}}, Options: options.Index().SetName("user")},
}

// sessionsExpiry lets MongoDB drop sessions a day after their absolute end;
// the sweeper does it where TTL indexes are missing (the embedded store).
var sessionsExpiry = indexSpec{
	collection: sessionsCollection,
	model: mongo.IndexModel{Keys: bson.D{{Key: "expires_at", Value: 1}},
		Options: options.Index().SetName("expiry").SetExpireAfterSeconds(86400)},
	ttl: true,
}

// InsertSession stores a new session.
func (d *DB) InsertSession(ctx context.Context, s *Session) error {
	if _, err := d.sessions().InsertOne(ctx, s); err != nil {
		return fmt.Errorf("db: insert session: %w", Classify(err))
	}
	return nil
}

// SessionByID finds a session, live or not (ErrNotFound if none).
func (d *DB) SessionByID(ctx context.Context, id string) (*Session, error) {
	var s Session
	if err := d.sessions().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&s); err != nil {
		return nil, fmt.Errorf("db: find session: %w", Classify(err))
	}
	return &s, nil
}

// RotateSession replaces the refresh secret presented (oldHash) by newHash
// in one conditional single-document update: of concurrent rotations with
// the same secret, exactly one succeeds. It reports whether this call did.
// oldHashes is the new value of OldHashes, computed by the caller from the
// session as it read it (consistent: the update applies only if nobody
// rotated since).
func (d *DB) RotateSession(ctx context.Context, id, oldHash, newHash string, oldHashes []string, now, idleExpiresAt time.Time) (bool, error) {
	res, err := d.sessions().UpdateOne(ctx,
		bson.D{
			{Key: "_id", Value: id},
			{Key: "secret_hash", Value: oldHash},
			{Key: "revoked_at", Value: nil},
			{Key: "idle_expires_at", Value: bson.D{{Key: "$gt", Value: now}}},
			{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}},
		},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "secret_hash", Value: newHash},
			{Key: "prev_hash", Value: oldHash},
			{Key: "prev_replaced_at", Value: now},
			{Key: "old_hashes", Value: oldHashes},
			{Key: "last_used_at", Value: now},
			{Key: "idle_expires_at", Value: idleExpiresAt},
		}}})
	if err != nil {
		return false, fmt.Errorf("db: rotate session: %w", Classify(err))
	}
	return res.ModifiedCount == 1, nil
}

// TouchSession records use of a live session without rotating it.
func (d *DB) TouchSession(ctx context.Context, id string, now time.Time) error {
	_, err := d.sessions().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "revoked_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "last_used_at", Value: now}}}})
	if err != nil {
		return fmt.Errorf("db: touch session: %w", Classify(err))
	}
	return nil
}

// RevokeSession ends a session; it reports whether it was live before.
func (d *DB) RevokeSession(ctx context.Context, id, reason string, now time.Time) (bool, error) {
	res, err := d.sessions().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "revoked_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: now}, {Key: "revoked_reason", Value: reason}}}})
	if err != nil {
		return false, fmt.Errorf("db: revoke session: %w", Classify(err))
	}
	return res.ModifiedCount == 1, nil
}

// RevokeUserSessions ends every session of a user except keep (may be "")
// and returns the ids it ended.
func (d *DB) RevokeUserSessions(ctx context.Context, userID bson.ObjectID, keep, reason string, now time.Time) ([]string, error) {
	filter := bson.D{{Key: "user_id", Value: userID}, {Key: "revoked_at", Value: nil}}
	if keep != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$ne", Value: keep}}})
	}
	ids, err := d.sessionIDs(ctx, filter)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return ids, nil
	}
	_, err = d.sessions().UpdateMany(ctx,
		append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}),
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: now}, {Key: "revoked_reason", Value: reason}}}})
	if err != nil {
		return nil, fmt.Errorf("db: revoke user sessions: %w", Classify(err))
	}
	return ids, nil
}

func (d *DB) sessionIDs(ctx context.Context, filter bson.D) ([]string, error) {
	type idOnly struct {
		ID string `bson:"_id"`
	}
	docs, err := findAll[idOnly](ctx, d.sessions(), "find sessions", filter,
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(docs))
	for i, doc := range docs {
		ids[i] = doc.ID
	}
	return ids, nil
}

// LiveSessions lists a user's live sessions, most recently used first.
func (d *DB) LiveSessions(ctx context.Context, userID bson.ObjectID, now time.Time) ([]Session, error) {
	return findAll[Session](ctx, d.sessions(), "list sessions", bson.D{
		{Key: "user_id", Value: userID},
		{Key: "revoked_at", Value: nil},
		{Key: "idle_expires_at", Value: bson.D{{Key: "$gt", Value: now}}},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}},
	}, options.Find().SetSort(bson.D{{Key: "last_used_at", Value: -1}}))
}

// SweepSessions deletes sessions that ended (expired or revoked) before
// cutoff, and returns how many.
func (d *DB) SweepSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := d.sessions().DeleteMany(ctx, bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}},
		bson.D{{Key: "idle_expires_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}},
		bson.D{{Key: "revoked_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}},
	}}})
	if err != nil {
		return 0, fmt.Errorf("db: sweep sessions: %w", Classify(err))
	}
	return res.DeletedCount, nil
}
