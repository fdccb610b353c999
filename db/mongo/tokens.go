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

// tokenDoc is an API token as stored.
type tokenDoc struct {
	ID         bson.ObjectID `bson:"_id"`
	UserID     bson.ObjectID `bson:"user_id"`
	Name       string        `bson:"name"`
	Hash       string        `bson:"hash"`
	Hint       string        `bson:"hint"`
	Scopes     []string      `bson:"scopes"`
	Projects   []string      `bson:"projects"`
	CreatedAt  time.Time     `bson:"created_at"`
	ExpiresAt  time.Time     `bson:"expires_at"`
	LastUsedAt *time.Time    `bson:"last_used_at"`
	RevokedAt  *time.Time    `bson:"revoked_at"`
}

func toTokenDoc(t *db.APIToken) (*tokenDoc, error) {
	id, err := bson.ObjectIDFromHex(t.ID)
	if err != nil {
		return nil, fmt.Errorf("api token id %q is not an id", t.ID)
	}
	uid, err := bson.ObjectIDFromHex(t.UserID)
	if err != nil {
		return nil, fmt.Errorf("api token %s: user id %q is not an id", t.ID, t.UserID)
	}
	return &tokenDoc{ID: id, UserID: uid, Name: t.Name, Hash: t.Hash, Hint: t.Hint, Scopes: nonNil(t.Scopes),
		Projects: nonNil(t.Projects), CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt,
		RevokedAt: t.RevokedAt}, nil
}

func (d *tokenDoc) token() db.APIToken {
	return db.APIToken{ID: d.ID.Hex(), UserID: d.UserID.Hex(), Name: d.Name, Hash: d.Hash, Hint: d.Hint,
		Scopes: nonNil(d.Scopes), Projects: nonNil(d.Projects), CreatedAt: utc(d.CreatedAt), ExpiresAt: utc(d.ExpiresAt),
		LastUsedAt: optUTC(d.LastUsedAt), RevokedAt: optUTC(d.RevokedAt)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Store) tokens() *mdb.Collection { return s.coll(tokensCollection) }

// InsertAPIToken stores a new token.
func (s *Store) InsertAPIToken(ctx context.Context, t *db.APIToken) error {
	doc, err := toTokenDoc(t)
	if err != nil {
		return fmt.Errorf("db: insert api token: %w", err)
	}
	if _, err := s.tokens().InsertOne(ctx, doc); err != nil {
		return fmt.Errorf("db: insert api token: %w", classify(err))
	}
	return nil
}

func (s *Store) tokenWhere(ctx context.Context, what string, filter bson.D) (*db.APIToken, error) {
	var d tokenDoc
	if err := s.tokens().FindOne(ctx, filter).Decode(&d); err != nil {
		return nil, fmt.Errorf("db: find api token by %s: %w", what, classify(err))
	}
	t := d.token()
	return &t, nil
}

// APITokenByHash finds a token by its hash (a unique index).
func (s *Store) APITokenByHash(ctx context.Context, hash string) (*db.APIToken, error) {
	return s.tokenWhere(ctx, "hash", bson.D{{Key: "hash", Value: hash}})
}

// APITokenByID finds a token by id.
func (s *Store) APITokenByID(ctx context.Context, id string) (*db.APIToken, error) {
	o, err := oid(id)
	if err != nil {
		return nil, fmt.Errorf("db: find api token by id: %w", err)
	}
	return s.tokenWhere(ctx, "id", bson.D{{Key: "_id", Value: o}})
}

// ListAPITokens lists a user's tokens, or everyone's, newest first.
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]db.APIToken, error) {
	filter := bson.D{}
	if userID != "" {
		uid, err := oid(userID)
		if err != nil {
			return []db.APIToken{}, nil
		}
		filter = bson.D{{Key: "user_id", Value: uid}}
	}
	docs, err := findAll[tokenDoc](ctx, s.tokens(), "list api tokens", filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}))
	if err != nil {
		return nil, err
	}
	out := make([]db.APIToken, len(docs))
	for i := range docs {
		out[i] = docs[i].token()
	}
	return out, nil
}

// RevokeAPIToken marks a token revoked, once: the update applies only to
// a token that is not revoked yet.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, now time.Time) (bool, error) {
	o, err := oid(id)
	if err != nil {
		return false, fmt.Errorf("db: revoke api token: %w", err)
	}
	res, err := s.tokens().UpdateOne(ctx, bson.D{{Key: "_id", Value: o}, {Key: "revoked_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: now}}}})
	if err != nil {
		return false, fmt.Errorf("db: revoke api token: %w", classify(err))
	}
	if res.MatchedCount == 1 {
		return true, nil
	}
	if _, err := s.APITokenByID(ctx, id); err != nil {
		return false, err
	}
	return false, nil
}

// TouchAPIToken records a use.
func (s *Store) TouchAPIToken(ctx context.Context, id string, now time.Time) error {
	o, err := oid(id)
	if err != nil {
		return nil
	}
	_, err = s.tokens().UpdateOne(ctx, bson.D{{Key: "_id", Value: o}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "last_used_at", Value: now}}}})
	if err != nil {
		return fmt.Errorf("db: touch api token: %w", classify(err))
	}
	return nil
}

// secretDoc is a shared server secret in the meta collection.
type secretDoc struct {
	ID    string `bson:"_id"`
	Value []byte `bson:"value"`
}

// SharedSecret inserts candidate under a fixed _id (the first insert wins,
// later ones are duplicates) and reads back the stored value.
func (s *Store) SharedSecret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	id := "secret:" + name
	if _, err := s.meta().InsertOne(ctx, secretDoc{ID: id, Value: candidate}); err != nil && !mdb.IsDuplicateKeyError(err) {
		return nil, fmt.Errorf("db: shared secret %s: %w", name, classify(err))
	}
	var d secretDoc
	if err := s.meta().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		if errors.Is(err, mdb.ErrNoDocuments) {
			err = db.ErrNotFound
		}
		return nil, fmt.Errorf("db: shared secret %s: %w", name, classify(err))
	}
	return d.Value, nil
}
