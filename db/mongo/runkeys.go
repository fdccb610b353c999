package mongo

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"labreview/db"
)

// runKeyDoc is one name live runs of a project use (see db/runkeys.go),
// with the number of live runs that have it; project "" counts every
// project's runs together. _id is project, NUL, key, so that an upsert by
// _id never makes two documents of one key.
type runKeyDoc struct {
	ID      string `bson:"_id"`
	Project string `bson:"project"`
	Key     string `bson:"key"`
	Runs    int64  `bson:"runs"`
}

func (s *Store) runKeys() *mdb.Collection { return s.coll(runKeysCollection) }

func runKeyID(project, key string) string { return project + "\x00" + key }

// moveNames applies a run write's key delta (db.NamesDelta) to its
// project's documents and to those of all projects in one ordered bulk
// write: $inc upserts, then the removal of documents that reached zero
// (conditional, so a concurrent increment keeps its document). Like the
// project counters it follows the run's own write: without transactions a
// crash in between leaves the keys one write behind.
func (s *Store) moveNames(ctx context.Context, project string, delta map[string]int64) error {
	if len(delta) == 0 {
		return nil
	}
	keys := make([]string, 0, len(delta))
	for k := range delta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var incs, drops []mdb.WriteModel
	for _, k := range keys {
		for _, p := range []string{project, db.AllProjects} {
			id := runKeyID(p, k)
			incs = append(incs, mdb.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: id}}).
				SetUpdate(bson.D{{Key: "$inc", Value: bson.D{{Key: "runs", Value: delta[k]}}},
					{Key: "$setOnInsert", Value: bson.D{{Key: "project", Value: p}, {Key: "key", Value: k}}}}).
				SetUpsert(true))
			if delta[k] < 0 {
				drops = append(drops, mdb.NewDeleteOneModel().SetFilter(bson.D{{Key: "_id", Value: id},
					{Key: "runs", Value: bson.D{{Key: "$lte", Value: 0}}}}))
			}
		}
	}
	_, err := s.runKeys().BulkWrite(context.WithoutCancel(ctx), append(incs, drops...), options.BulkWrite().SetOrdered(true))
	if err != nil {
		return fmt.Errorf("db: run keys: %w", classify(err))
	}
	return nil
}

// seriesNames lists the series of a run document.
func seriesNames(d *runDoc) []string {
	out := make([]string, 0, len(d.Summaries))
	for n := range d.Summaries {
		out = append(out, nameOfField(n))
	}
	sort.Strings(out)
	return out
}

// ListRunKeys reads one range of the (project, key) index per kind.
func (s *Store) ListRunKeys(ctx context.Context, project, prefix string, limit int) (*db.RunKeys, error) {
	out := &db.RunKeys{}
	for _, kind := range db.RunKeyKinds {
		from, to := db.KeyRange(kind, prefix)
		docs, err := findAll[runKeyDoc](ctx, s.runKeys(), "list run keys",
			bson.D{{Key: "project", Value: project}, {Key: "key", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}},
				{Key: "runs", Value: bson.D{{Key: "$gt", Value: 0}}}},
			options.Find().SetSort(bson.D{{Key: "key", Value: 1}}).SetLimit(int64(limit+1)).
				SetProjection(bson.D{{Key: "key", Value: 1}}))
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(docs))
		for _, d := range docs {
			keys = append(keys, strings.TrimPrefix(d.Key, kind))
		}
		if len(keys) > limit {
			keys, out.Truncated = keys[:limit], true
		}
		*out.Kind(kind) = keys
	}
	return out, nil
}
