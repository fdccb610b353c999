package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"labreview/db"
)

// keyDoc is a signing key as stored.
type keyDoc struct {
	ID         string     `bson:"_id"` // kid
	Algorithm  string     `bson:"alg"`
	PrivateKey []byte     `bson:"private_key"`
	CreatedAt  time.Time  `bson:"created_at"`
	RetiredAt  *time.Time `bson:"retired_at"`
}

func (d *keyDoc) key() db.SigningKey {
	return db.SigningKey{ID: d.ID, Algorithm: d.Algorithm, PrivateKey: d.PrivateKey, CreatedAt: utc(d.CreatedAt),
		RetiredAt: optUTC(d.RetiredAt)}
}

func toKeyDoc(k *db.SigningKey) *keyDoc {
	return &keyDoc{ID: k.ID, Algorithm: k.Algorithm, PrivateKey: k.PrivateKey, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt}
}

func (s *Store) keys() *mdb.Collection { return s.coll(keysCollection) }

// SigningKeys lists every stored key, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]db.SigningKey, error) {
	docs, err := findAll[keyDoc](ctx, s.keys(), "list signing keys", bson.D{},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]db.SigningKey, len(docs))
	for i := range docs {
		out[i] = docs[i].key()
	}
	return out, nil
}

// InsertSigningKey stores a new key.
func (s *Store) InsertSigningKey(ctx context.Context, k *db.SigningKey) error {
	if _, err := s.keys().InsertOne(ctx, toKeyDoc(k)); err != nil {
		return fmt.Errorf("db: insert signing key: %w", classify(err))
	}
	return nil
}

// RetireSigningKeys marks every active key except keep as retired.
func (s *Store) RetireSigningKeys(ctx context.Context, keep string, now time.Time) error {
	_, err := s.keys().UpdateMany(ctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$ne", Value: keep}}}, {Key: "retired_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "retired_at", Value: now}}}})
	if err != nil {
		return fmt.Errorf("db: retire signing keys: %w", classify(err))
	}
	return nil
}

// DeleteSigningKeysRetiredBefore removes keys retired before cutoff.
func (s *Store) DeleteSigningKeysRetiredBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.keys().DeleteMany(ctx, bson.D{{Key: "retired_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}})
	if err != nil {
		return 0, fmt.Errorf("db: delete retired keys: %w", classify(err))
	}
	return res.DeletedCount, nil
}
