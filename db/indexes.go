package db

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// indexSpec is one index that must exist. Collection files define theirs;
// indexSpecs lists them all in one place.
type indexSpec struct {
	collection string
	model      mongo.IndexModel
	// ttl marks an index whose only purpose is expiry. FerretDB has no TTL
	// indexes; there expiry is enforced by queries and the sweeper alone, so
	// a NotImplemented answer for such an index is not an error.
	ttl bool
}

// indexSpecs lists every index labreview relies on.
var indexSpecs = []indexSpec{
	usersEmailUnique,
	sessionsByUser,
	sessionsExpiry,
	throttleExpiry,
}

// codeNotImplemented is the server error code FerretDB returns for features
// it lacks (TTL indexes among them).
const codeNotImplemented = 238

// ensureIndexes pings, then creates every index in indexSpecs. Creating an
// index that already exists with the same definition is a no-op.
func (d *DB) ensureIndexes(ctx context.Context) error {
	if err := d.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("db: ping: %w", Classify(err))
	}
	for _, spec := range indexSpecs {
		_, err := d.Database().Collection(spec.collection).Indexes().CreateOne(ctx, spec.model)
		if err != nil {
			var se mongo.ServerError
			if spec.ttl && errors.As(err, &se) && se.HasErrorCode(codeNotImplemented) {
				continue
			}
			return fmt.Errorf("db: create index on %s: %w", spec.collection, Classify(err))
		}
	}
	return nil
}

func optionsTTL(name string, seconds int32) *options.IndexOptionsBuilder {
	return options.Index().SetName(name).SetExpireAfterSeconds(seconds)
}

func returnAfter() *options.FindOneAndUpdateOptionsBuilder {
	return options.FindOneAndUpdate().SetReturnDocument(options.After)
}

// findAll runs a query and decodes every result; what names the operation
// in error messages.
func findAll[T any](ctx context.Context, coll *mongo.Collection, what string, filter any, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := coll.Find(ctx, filter, opts...)
	if err != nil {
		return nil, fmt.Errorf("db: %s: %w", what, Classify(err))
	}
	out := []T{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("db: %s: %w", what, Classify(err))
	}
	return out, nil
}
