package db

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

const keysCollection = "signing_keys"

// SigningKey is a stored token-signing key, shared by every instance that
// uses the database. Anyone who can read the database can read it, as they
// can read every other secret there; that is why database credentials must
// be guarded like the keys themselves.
type SigningKey struct {
	ID         string     `bson:"_id"` // kid
	Algorithm  string     `bson:"alg"`
	PrivateKey []byte     `bson:"private_key"` // Ed25519 private key (seed + public part)
	CreatedAt  time.Time  `bson:"created_at"`
	RetiredAt  *time.Time `bson:"retired_at"` // nil: may sign
}

func (d *DB) keys() *mongo.Collection { return d.Database().Collection(keysCollection) }

// SigningKeys lists every stored key, oldest first.
func (d *DB) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	return findAll[SigningKey](ctx, d.keys(), "list signing keys", bson.D{},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}))
}

// InsertSigningKey stores a new key.
func (d *DB) InsertSigningKey(ctx context.Context, k *SigningKey) error {
	if _, err := d.keys().InsertOne(ctx, k); err != nil {
		return fmt.Errorf("db: insert signing key: %w", Classify(err))
	}
	return nil
}

// RetireSigningKeys marks every active key except keep as retired at now.
func (d *DB) RetireSigningKeys(ctx context.Context, keep string, now time.Time) error {
	_, err := d.keys().UpdateMany(ctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$ne", Value: keep}}}, {Key: "retired_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "retired_at", Value: now}}}})
	if err != nil {
		return fmt.Errorf("db: retire signing keys: %w", Classify(err))
	}
	return nil
}

// DeleteSigningKeysRetiredBefore removes keys that cannot verify any
// unexpired token any more.
func (d *DB) DeleteSigningKeysRetiredBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := d.keys().DeleteMany(ctx, bson.D{{Key: "retired_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}})
	if err != nil {
		return 0, fmt.Errorf("db: delete retired keys: %w", Classify(err))
	}
	return res.DeletedCount, nil
}
