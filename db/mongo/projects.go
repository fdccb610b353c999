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

// projectDoc is a project: _id is its name.
type projectDoc struct {
	Name         string           `bson:"_id"`
	Counts       map[string]int64 `bson:"counts"`
	LastActivity time.Time        `bson:"last_activity"`
	BaselineRun  string           `bson:"baseline_run"`
}

func (d *projectDoc) project() db.Project {
	p := db.Project{Name: d.Name, Counts: map[string]int64{}, LastActivity: utc(d.LastActivity), BaselineRun: d.BaselineRun}
	for k, v := range d.Counts {
		if v != 0 {
			p.Counts[k] = v
		}
	}
	return p
}

func (s *Store) projects() *mdb.Collection { return s.coll(projectsCollection) }

// moveProject applies a run write's counter delta with one upsert ($inc,
// $max). It follows the run's own write: without transactions a crash in
// between leaves the counters one write behind.
func (s *Store) moveProject(ctx context.Context, project string, delta map[string]int64, at time.Time) error {
	inc := bson.D{}
	for k, v := range delta {
		inc = append(inc, bson.E{Key: "counts." + k, Value: v})
	}
	update := bson.D{{Key: "$max", Value: bson.D{{Key: "last_activity", Value: at}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "baseline_run", Value: ""}}}}
	if len(inc) > 0 {
		update = append(update, bson.E{Key: "$inc", Value: inc})
	}
	_, err := s.projects().UpdateOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: project}}, update, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("db: project counters: %w", classify(err))
	}
	return nil
}

// ListProjects returns every project by name.
func (s *Store) ListProjects(ctx context.Context) ([]db.Project, error) {
	docs, err := findAll[projectDoc](ctx, s.projects(), "list projects", bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]db.Project, len(docs))
	for i := range docs {
		out[i] = docs[i].project()
	}
	return out, nil
}

// ProjectByName finds a project.
func (s *Store) ProjectByName(ctx context.Context, name string) (*db.Project, error) {
	var d projectDoc
	if err := s.projects().FindOne(ctx, bson.D{{Key: "_id", Value: name}}).Decode(&d); err != nil {
		return nil, fmt.Errorf("db: find project: %w", classify(err))
	}
	p := d.project()
	return &p, nil
}

// SetBaseline sets a project's baseline run.
func (s *Store) SetBaseline(ctx context.Context, project, runID string) error {
	res, err := s.projects().UpdateOne(ctx, bson.D{{Key: "_id", Value: project}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "baseline_run", Value: runID}}}})
	if err != nil {
		return fmt.Errorf("db: set baseline: %w", classify(err))
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("db: set baseline: %w", db.ErrNotFound)
	}
	return nil
}

// CreateProject stores a project without runs unless it exists: one
// upsert that only inserts.
func (s *Store) CreateProject(ctx context.Context, name string, now time.Time) (bool, error) {
	res, err := s.projects().UpdateOne(ctx, bson.D{{Key: "_id", Value: name}},
		bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "counts", Value: bson.D{}},
			{Key: "last_activity", Value: now.UTC().Truncate(time.Millisecond)}, {Key: "baseline_run", Value: ""}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return false, fmt.Errorf("db: create project: %w", classify(err))
	}
	return res.UpsertedCount == 1, nil
}
