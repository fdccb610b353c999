package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Collection names (as earlier versions used them).
const (
	usersCollection    = "users"
	sessionsCollection = "sessions"
	throttleCollection = "login_throttle"
	auditCollection    = "audit"
	keysCollection     = "signing_keys"
	metaCollection     = "meta"
	tokensCollection   = "api_tokens"
	runsCollection     = "runs"
	chunksCollection   = "series_chunks"
	seriesCollection   = "series"
	reviewsCollection  = "reviews"
	commentsCollection = "comments"
	projectsCollection = "projects"
	viewsCollection    = "saved_views"
	runKeysCollection  = "run_keys"
)

// indexSpec is one index that must exist.
type indexSpec struct {
	collection string
	name       string
	keys       bson.D
	unique     bool
	// optional indexes are created where the server has them and skipped
	// (with a log line) where it does not: the wildcard indexes that serve
	// conditions and sorts on any param, metric or series summary exist on
	// MongoDB, not on the FerretDB stand-in of the tests.
	optional bool
	// ttlSeconds > 0 makes it a TTL index whose only purpose is expiry.
	// Servers without TTL indexes (the FerretDB stand-in of the tests)
	// answer NotImplemented; there expiry relies on queries and the
	// sweeper alone, so that answer is not an error for such an index.
	ttlSeconds int32
}

// indexSpecs lists every index labreview relies on, with the queries each
// serves; index_test.go checks that every query shape of this adapter has
// an index whose keys begin with the query's equality fields followed by
// its sort or range field.
var indexSpecs = []indexSpec{
	// ListArtifacts: a run's files by path; the count of a run's files.
	{collection: artifactsCollection, name: "run_path", keys: bson.D{{Key: "run_id", Value: 1}, {Key: "path", Value: 1}}},
	// ProjectArtifactBytes: a project's files, their sizes in the index.
	{collection: artifactsCollection, name: "project_size", keys: bson.D{{Key: "project", Value: 1}, {Key: "size", Value: 1}}},
	// UserByEmail; the unique rule.
	{collection: usersCollection, name: "email_unique", keys: bson.D{{Key: "email", Value: 1}}, unique: true},
	// UserBySkeleton: addresses that look like an existing one.
	{collection: usersCollection, name: "email_skeleton", keys: bson.D{{Key: "email_skeleton", Value: 1}}},
	// CountActiveAdmins.
	{collection: usersCollection, name: "role_disabled", keys: bson.D{{Key: "role", Value: 1}, {Key: "disabled", Value: 1}}},
	// Earlier versions' index on sessions.user_id; kept (same name).
	{collection: sessionsCollection, name: "user", keys: bson.D{{Key: "user_id", Value: 1}}},
	// LiveSessions and RevokeUserSessions: a user's unrevoked sessions by last use.
	{collection: sessionsCollection, name: "user_live", keys: bson.D{{Key: "user_id", Value: 1}, {Key: "revoked_at", Value: 1}, {Key: "last_used_at", Value: -1}}},
	// SweepSessions; MongoDB also drops sessions a day after their end.
	{collection: sessionsCollection, name: "expiry", keys: bson.D{{Key: "expires_at", Value: 1}}, ttlSeconds: 86400},
	{collection: sessionsCollection, name: "idle_expiry", keys: bson.D{{Key: "idle_expires_at", Value: 1}}},
	{collection: sessionsCollection, name: "revoked", keys: bson.D{{Key: "revoked_at", Value: 1}}},
	// SweepCounters; MongoDB also drops stale counters.
	{collection: throttleCollection, name: "expiry", keys: bson.D{{Key: "window_ends", Value: 1}}, ttlSeconds: 3600},
	// ListAudit by user (two walks: about and by the user), by event, and
	// the retention sweep by time.
	{collection: auditCollection, name: "user", keys: bson.D{{Key: "user_id", Value: 1}, {Key: "_id", Value: -1}}},
	{collection: auditCollection, name: "actor", keys: bson.D{{Key: "actor_id", Value: 1}, {Key: "_id", Value: -1}}},
	{collection: auditCollection, name: "event", keys: bson.D{{Key: "event", Value: 1}, {Key: "_id", Value: -1}}},
	{collection: auditCollection, name: "at", keys: bson.D{{Key: "at", Value: 1}}},
	// APITokenByHash: every request made with a token; the unique rule.
	{collection: tokensCollection, name: "hash_unique", keys: bson.D{{Key: "hash", Value: 1}}, unique: true},
	// ListAPITokens of one user, newest first.
	{collection: tokensCollection, name: "user", keys: bson.D{{Key: "user_id", Value: 1}, {Key: "_id", Value: -1}}},
	// CreateRun finds a retried create's run; the rule of one run per
	// external id.
	{collection: runsCollection, name: "external_unique", keys: bson.D{{Key: "project", Value: 1}, {Key: "external_id", Value: 1}}, unique: true},
	// ListRuns: pages of live (or deleted) runs, by project, status or both.
	{collection: runsCollection, name: "page", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "_id", Value: -1}}},
	{collection: runsCollection, name: "project", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "project", Value: 1}, {Key: "_id", Value: -1}}},
	{collection: runsCollection, name: "status", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: -1}}},
	{collection: runsCollection, name: "project_status", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "project", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: -1}}},
	// Queries (docs/query.md) and sorted pages: tags (a multikey index),
	// and the run columns a page can be sorted by.
	{collection: runsCollection, name: "tags", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "tags", Value: 1}, {Key: "_id", Value: -1}}},
	{collection: runsCollection, name: "name", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "name", Value: 1}, {Key: "_id", Value: 1}}},
	{collection: runsCollection, name: "created", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}},
	{collection: runsCollection, name: "started", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "started_at", Value: 1}, {Key: "_id", Value: 1}}},
	{collection: runsCollection, name: "duration", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "duration_ms", Value: 1}, {Key: "_id", Value: 1}}},
	{collection: runsCollection, name: "host", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "host", Value: 1}, {Key: "_id", Value: -1}}},
	{collection: runsCollection, name: "reviewer", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "review.by", Value: 1}, {Key: "_id", Value: -1}}},
	// Conditions and sorts on any param, metric or series summary: one
	// wildcard index each (MongoDB 4.2+; a wildcard index serves one field
	// of a query, and a sort on the field its condition names).
	{collection: runsCollection, name: "params_any", keys: bson.D{{Key: "params.$**", Value: 1}}, optional: true},
	{collection: runsCollection, name: "metrics_any", keys: bson.D{{Key: "metrics.$**", Value: 1}}, optional: true},
	{collection: runsCollection, name: "summaries_any", keys: bson.D{{Key: "summaries.$**", Value: 1}}, optional: true},
	// Stale runs: running, with no sign of life since a cutoff.
	{collection: runsCollection, name: "alive", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "status", Value: 1}, {Key: "alive_at", Value: 1}}},
	// Series chunks of a run's series by step: writes, downsampled reads.
	{collection: chunksCollection, name: "series_step", keys: bson.D{{Key: "run_id", Value: 1}, {Key: "series", Value: 1}, {Key: "first_step", Value: 1}}, unique: true},
	// SeriesSummaries of a run, by name.
	{collection: seriesCollection, name: "run_name", keys: bson.D{{Key: "run_id", Value: 1}, {Key: "name", Value: 1}}},
	// Review queues: runs by verdict, newest first; outdated verdicts.
	{collection: runsCollection, name: "review", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "review.state", Value: 1}, {Key: "_id", Value: -1}}},
	{collection: runsCollection, name: "project_review", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "project", Value: 1}, {Key: "review.state", Value: 1}, {Key: "_id", Value: -1}}},
	{collection: runsCollection, name: "outdated", keys: bson.D{{Key: "deleted", Value: 1}, {Key: "review.outdated", Value: 1}, {Key: "_id", Value: -1}}},
	// A run's review history; the verdicts of a bulk review (undo).
	{collection: reviewsCollection, name: "run", keys: bson.D{{Key: "run_id", Value: 1}, {Key: "_id", Value: -1}}},
	{collection: reviewsCollection, name: "batch", keys: bson.D{{Key: "batch_id", Value: 1}, {Key: "_id", Value: 1}}},
	// A run's comment thread.
	{collection: commentsCollection, name: "run", keys: bson.D{{Key: "run_id", Value: 1}, {Key: "_id", Value: 1}}},
	// ListSavedViews of a user by name, the limit's count, and the views
	// removed with their user; the rule of one view per user and name
	// (which the _id, user and name, also keeps).
	{collection: viewsCollection, name: "user_name_unique", keys: bson.D{{Key: "user_id", Value: 1}, {Key: "name", Value: 1}}, unique: true},
	// ListRunKeys: a project's names (or all projects', project ""), by key.
	{collection: runKeysCollection, name: "project_key", keys: bson.D{{Key: "project", Value: 1}, {Key: "key", Value: 1}}},
	// SigningKeys lists the handful of keys by creation.
	{collection: keysCollection, name: "created", keys: bson.D{{Key: "created_at", Value: 1}}},
}

func (i indexSpec) model() mdb.IndexModel {
	o := options.Index().SetName(i.name)
	if i.unique {
		o.SetUnique(true)
	}
	if i.ttlSeconds > 0 {
		o.SetExpireAfterSeconds(i.ttlSeconds)
	}
	return mdb.IndexModel{Keys: i.keys, Options: o}
}

// codeNotImplemented is the server error code for features a server lacks
// (FerretDB has no TTL indexes).
const codeNotImplemented = 238

// ensureIndexes pings, then creates every index in indexSpecs. Creating an
// index that already exists with the same definition is a no-op.
func (s *Store) ensureIndexes(ctx context.Context) error {
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("db: ping: %w", classify(err))
	}
	// FerretDB (the tests' stand-in; its buildInfo names ferretdbVersion)
	// accepts a wildcard index and then fails every insert with "bad JSON
	// path": optional indexes are for MongoDB only.
	var info bson.M
	ferret := s.database().RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info) == nil && info["ferretdbVersion"] != nil
	for _, spec := range indexSpecs {
		if spec.optional && ferret {
			continue
		}
		_, err := s.coll(spec.collection).Indexes().CreateOne(ctx, spec.model())
		if err != nil {
			var se mdb.ServerError
			if spec.ttlSeconds > 0 && errors.As(err, &se) && se.HasErrorCode(codeNotImplemented) {
				// Without TTL, create the same keys as a plain index.
				plain := spec
				plain.ttlSeconds = 0
				if _, err := s.coll(spec.collection).Indexes().CreateOne(ctx, plain.model()); err == nil {
					continue
				}
			}
			if spec.optional {
				s.log.Info("index not created: this server lacks its kind (queries on params and metrics read every run)",
					"index", spec.name, "collection", spec.collection, "err", err)
				continue
			}
			return fmt.Errorf("db: create index %s on %s: %w", spec.name, spec.collection, classify(err))
		}
	}
	return nil
}
