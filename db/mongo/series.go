package mongo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"labreview/db"
)

// chunkDoc is a series chunk: its summary and its points (db.EncodePoints,
// 8 KiB at most: far below MongoDB's 16 MiB document limit however long
// the series). Summary values go through storedFloat.
type chunkDoc struct {
	RunID     bson.ObjectID `bson:"run_id"`
	Series    string        `bson:"series"`
	FirstStep int64         `bson:"first_step"`
	LastStep  int64         `bson:"last_step"`
	Count     int           `bson:"count"`
	First     any           `bson:"first"`
	Last      any           `bson:"last"`
	Min       any           `bson:"min"`
	Max       any           `bson:"max"`
	MinStep   int64         `bson:"min_step"`
	MaxStep   int64         `bson:"max_step"`
	Points    []byte        `bson:"points,omitempty"`
}

// seriesDoc is a series summary; _id is run id and name.
type seriesDoc struct {
	ID        string        `bson:"_id"`
	RunID     bson.ObjectID `bson:"run_id"`
	Name      string        `bson:"name"`
	Count     int64         `bson:"count"`
	FirstStep int64         `bson:"first_step"`
	LastStep  int64         `bson:"last_step"`
	Min       any           `bson:"min"`
	Max       any           `bson:"max"`
	Last      any           `bson:"last"`
}

// storedFloat keeps NaN and ±Inf as the strings of their JSON form, as
// metrics do (metricsDoc): the FerretDB stand-in cannot store them.
func storedFloat(v float64) any { return db.FloatValue(v) }

func loadFloat(v any) (float64, error) {
	m, err := metricsFromDoc(map[string]any{"v": v})
	return m["v"], err
}

func (d *chunkDoc) summary() (db.ChunkSummary, error) {
	c := db.ChunkSummary{FirstStep: d.FirstStep, LastStep: d.LastStep, Count: d.Count, MinStep: d.MinStep, MaxStep: d.MaxStep}
	var err error
	for _, f := range []struct {
		dst *float64
		v   any
	}{{&c.First, d.First}, {&c.Last, d.Last}, {&c.Min, d.Min}, {&c.Max, d.Max}} {
		if *f.dst, err = loadFloat(f.v); err != nil {
			return c, fmt.Errorf("series chunk: %w", err)
		}
	}
	return c, nil
}

func toChunkDoc(runID bson.ObjectID, name string, c db.Chunk) chunkDoc {
	return chunkDoc{RunID: runID, Series: name, FirstStep: c.FirstStep, LastStep: c.LastStep, Count: c.Count,
		First: storedFloat(c.First), Last: storedFloat(c.Last), Min: storedFloat(c.Min), Max: storedFloat(c.Max),
		MinStep: c.MinStep, MaxStep: c.MaxStep, Points: db.EncodePoints(c.Points)}
}

func (d *seriesDoc) summary() (db.SeriesSummary, error) {
	s := db.SeriesSummary{Name: d.Name, Count: d.Count, FirstStep: d.FirstStep, LastStep: d.LastStep}
	var err error
	for _, f := range []struct {
		dst *float64
		v   any
	}{{&s.Min, d.Min}, {&s.Max, d.Max}, {&s.Last, d.Last}} {
		if *f.dst, err = loadFloat(f.v); err != nil {
			return s, fmt.Errorf("series %s: %w", d.Name, err)
		}
	}
	return s, nil
}

func (s *Store) chunks() *mdb.Collection     { return s.coll(chunksCollection) }
func (s *Store) seriesColl() *mdb.Collection { return s.coll(seriesCollection) }

// seriesLeaseTTL bounds how long a crashed writer can hold a run's series.
const seriesLeaseTTL = 30 * time.Second

// WriteSeries merges the batch under a lease on the run's series (MongoDB
// without transactions): concurrent writes to one run take turns. New
// chunks are written before the ones they replace are removed, so a crash
// in between loses no point; until the next write to that range rewrites
// it, a reader may meet a step twice (readers keep one of them).
func (s *Store) WriteSeries(ctx context.Context, runID string, batch map[string][]db.Point, now time.Time) (int, error) {
	return s.writeSeries(ctx, runID, batch, &now)
}

// writeSeries writes the batch; with now nil (an import) the run is left
// as it is.
func (s *Store) writeSeries(ctx context.Context, runID string, batch map[string][]db.Point, now *time.Time) (int, error) {
	rid, err := oid(runID)
	if err != nil {
		return 0, fmt.Errorf("db: write series: %w", err)
	}
	names := make([]string, 0, len(batch))
	for name, pts := range batch {
		if len(pts) > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	added, changed := 0, 0
	err = s.WithLease(ctx, "series:"+runID, seriesLeaseTTL, 10*time.Second, func() error {
		sums := bson.D{}
		for _, name := range names {
			n, c, next, err := s.writeOneSeries(ctx, rid, name, batch[name])
			if err != nil {
				return err
			}
			if name == db.ClockSeries { // no query values; no change of the judged data
				continue
			}
			added, changed = added+n, changed+c
			sums = append(sums, bson.E{Key: "summaries." + fieldName(name), Value: seriesSums{Min: storedFloat(next.Min),
				Max: storedFloat(next.Max), Last: storedFloat(next.Last), Count: next.Count}})
		}
		byID := bson.D{{Key: "_id", Value: rid}}
		if now == nil || added+changed == 0 {
			// The summaries (an import writes them; a repeated batch
			// leaves them as they are).
			if now == nil && len(sums) > 0 {
				err := s.setSummaries(ctx, rid, names, bson.D{{Key: "$set", Value: sums}})
				if errors.Is(err, db.ErrNotFound) {
					return nil // a series whose run was not imported
				}
				return err
			}
			return nil
		}
		// The judged data changed: the summaries, a newer data version,
		// and a verdict on the run is outdated (two single-document
		// writes).
		if err := s.setSummaries(ctx, rid, names, bson.D{{Key: "$inc", Value: bson.D{{Key: "data_version", Value: 1}, {Key: "version", Value: 1}}},
			{Key: "$set", Value: append(sums, bson.E{Key: "updated_at", Value: *now})}}); err != nil {
			return err
		}
		var before runDoc
		err := s.runs().FindOneAndUpdate(ctx, append(byID,
			bson.E{Key: "review.state", Value: bson.D{{Key: "$ne", Value: db.ReviewUnreviewed}}},
			bson.E{Key: "review.outdated", Value: false}),
			bson.D{{Key: "$set", Value: bson.D{{Key: "review.outdated", Value: true}}}},
			options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&before)
		switch {
		case errors.Is(err, mdb.ErrNoDocuments):
			// No verdict, or one already outdated: only the activity moves.
			var run runDoc
			if err := s.runs().FindOne(ctx, byID, options.FindOne().SetProjection(bson.D{{Key: "project", Value: 1}})).Decode(&run); err != nil {
				return classify(err)
			}
			return s.moveProject(ctx, run.Project, nil, *now)
		case err != nil:
			return classify(err)
		}
		return s.moveProject(ctx, before.Project, map[string]int64{db.CountOutdated: 1}, *now)
	})
	if err != nil {
		return 0, fmt.Errorf("db: write series: %w", classify(err))
	}
	return added, nil
}

// setSummaries applies update (which sets the summaries of the series
// names) to the run and counts the series the run did not have before in
// its project's keys, unless it is deleted. The run as it was before the
// update says both, so a delete or restore racing with it (a versioned
// replace of the whole document, which carries the summaries it read)
// counts each series once.
func (s *Store) setSummaries(ctx context.Context, rid bson.ObjectID, names []string, update bson.D) error {
	var before runDoc
	// The whole document: the FerretDB stand-in has no projection in
	// findAndModify.
	err := s.runs().FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: rid}}, update,
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&before)
	if err != nil {
		return classify(err)
	}
	if before.Deleted {
		return nil
	}
	delta := map[string]int64{}
	for _, n := range names {
		if _, ok := before.Summaries[fieldName(n)]; !ok && n != db.ClockSeries {
			delta[db.NameSeries+n] = 1
		}
	}
	return s.moveNames(ctx, before.Project, delta)
}

func (s *Store) chunkFilter(rid bson.ObjectID, name string, more ...bson.E) bson.D {
	return append(bson.D{{Key: "run_id", Value: rid}, {Key: "series", Value: name}}, more...)
}

func (s *Store) writeOneSeries(ctx context.Context, rid bson.ObjectID, name string, points []db.Point) (added, changed int, next db.SeriesSummary, err error) {
	lo, hi := points[0].Step, points[len(points)-1].Step
	var existing []db.Chunk
	var head chunkDoc
	err = s.chunks().FindOne(ctx, s.chunkFilter(rid, name, bson.E{Key: "first_step", Value: bson.D{{Key: "$lte", Value: lo}}}),
		options.FindOne().SetSort(bson.D{{Key: "first_step", Value: -1}})).Decode(&head)
	switch {
	case errors.Is(err, mdb.ErrNoDocuments):
	case err != nil:
		return 0, 0, next, classify(err)
	case head.LastStep >= lo || head.Count < db.ChunkPoints:
		c, err := decodeChunk(&head)
		if err != nil {
			return 0, 0, next, err
		}
		existing = append(existing, c)
	}
	rest, err := findAll[chunkDoc](ctx, s.chunks(), "read series chunks",
		s.chunkFilter(rid, name, bson.E{Key: "first_step", Value: bson.D{{Key: "$gt", Value: lo}, {Key: "$lte", Value: hi}}}),
		options.Find().SetSort(bson.D{{Key: "first_step", Value: 1}}))
	if err != nil {
		return 0, 0, next, err
	}
	for i := range rest {
		c, err := decodeChunk(&rest[i])
		if err != nil {
			return 0, 0, next, err
		}
		existing = append(existing, c)
	}
	chunks, added, changed := db.MergeSeries(name, existing, points)
	keep := map[int64]bool{}
	for _, c := range chunks {
		keep[c.FirstStep] = true
		doc := toChunkDoc(rid, name, c)
		_, err := s.chunks().ReplaceOne(ctx, s.chunkFilter(rid, name, bson.E{Key: "first_step", Value: c.FirstStep}), doc,
			options.Replace().SetUpsert(true))
		if err != nil {
			return 0, 0, next, classify(err)
		}
	}
	for _, c := range existing {
		if keep[c.FirstStep] {
			continue
		}
		if _, err := s.chunks().DeleteOne(ctx, s.chunkFilter(rid, name, bson.E{Key: "first_step", Value: c.FirstStep})); err != nil {
			return 0, 0, next, classify(err)
		}
	}

	id := rid.Hex() + "|" + name
	var oldDoc seriesDoc
	var oldp *db.SeriesSummary
	err = s.seriesColl().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&oldDoc)
	switch {
	case err == nil:
		old, err := oldDoc.summary()
		if err != nil {
			return 0, 0, next, err
		}
		oldp = &old
	case !errors.Is(err, mdb.ErrNoDocuments):
		return 0, 0, next, classify(err)
	}
	next, full := db.NextSummary(oldp, name, points, added)
	if full {
		all, err := s.chunkSummaries(ctx, s.chunkFilter(rid, name))
		if err != nil {
			return 0, 0, next, err
		}
		next = db.SummarizeSeries(name, all)
	}
	_, err = s.seriesColl().ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, seriesDoc{ID: id, RunID: rid, Name: name,
		Count: next.Count, FirstStep: next.FirstStep, LastStep: next.LastStep, Min: storedFloat(next.Min),
		Max: storedFloat(next.Max), Last: storedFloat(next.Last)}, options.Replace().SetUpsert(true))
	return added, changed, next, classify(err)
}

func decodeChunk(d *chunkDoc) (db.Chunk, error) {
	sum, err := d.summary()
	if err != nil {
		return db.Chunk{}, err
	}
	pts, err := db.DecodePoints(d.Points)
	return db.Chunk{ChunkSummary: sum, Points: pts}, err
}

// chunkSummaries reads summaries only (the points are left on the server).
func (s *Store) chunkSummaries(ctx context.Context, filter bson.D) ([]db.ChunkSummary, error) {
	docs, err := findAll[chunkDoc](ctx, s.chunks(), "read chunk summaries", filter,
		options.Find().SetSort(bson.D{{Key: "first_step", Value: 1}}).SetProjection(bson.D{{Key: "points", Value: 0}}))
	if err != nil {
		return nil, err
	}
	out := make([]db.ChunkSummary, 0, len(docs))
	for i := range docs {
		c, err := docs[i].summary()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// SeriesSummaries returns a run's series by name.
func (s *Store) SeriesSummaries(ctx context.Context, runID string) ([]db.SeriesSummary, error) {
	rid, err := oid(runID)
	if err != nil {
		return []db.SeriesSummary{}, nil
	}
	docs, err := findAll[seriesDoc](ctx, s.seriesColl(), "series summaries", bson.D{{Key: "run_id", Value: rid}},
		options.Find().SetSort(bson.D{{Key: "name", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]db.SeriesSummary, 0, len(docs))
	for i := range docs {
		sum, err := docs[i].summary()
		if err != nil {
			return nil, fmt.Errorf("db: series summaries: %w", err)
		}
		out = append(out, sum)
	}
	return out, nil
}

// SummariesOf returns the named series of several runs, by run id, from
// the series collection's (run_id, name) index.
func (s *Store) SummariesOf(ctx context.Context, runIDs, names []string) (map[string][]db.SeriesSummary, error) {
	out := map[string][]db.SeriesSummary{}
	rids := make([]bson.ObjectID, 0, len(runIDs))
	for _, id := range runIDs {
		if rid, err := oid(id); err == nil {
			rids = append(rids, rid)
		}
	}
	if len(rids) == 0 || len(names) == 0 {
		return out, nil
	}
	docs, err := findAll[seriesDoc](ctx, s.seriesColl(), "series summaries of runs",
		bson.D{{Key: "run_id", Value: bson.D{{Key: "$in", Value: rids}}}, {Key: "name", Value: bson.D{{Key: "$in", Value: names}}}},
		options.Find().SetSort(bson.D{{Key: "run_id", Value: 1}, {Key: "name", Value: 1}}))
	if err != nil {
		return nil, err
	}
	for i := range docs {
		sum, err := docs[i].summary()
		if err != nil {
			return nil, fmt.Errorf("db: series summaries of runs: %w", err)
		}
		run := docs[i].RunID.Hex()
		out[run] = append(out[run], sum)
	}
	return out, nil
}

// ChunkSummaries returns the chunk holding from, then those starting in
// (from, to], without their points.
func (s *Store) ChunkSummaries(ctx context.Context, runID, name string, from, to int64) ([]db.ChunkSummary, error) {
	rid, err := oid(runID)
	if err != nil {
		return []db.ChunkSummary{}, nil
	}
	var head chunkDoc
	var out []db.ChunkSummary
	err = s.chunks().FindOne(ctx, s.chunkFilter(rid, name, bson.E{Key: "first_step", Value: bson.D{{Key: "$lte", Value: from}}}),
		options.FindOne().SetSort(bson.D{{Key: "first_step", Value: -1}}).SetProjection(bson.D{{Key: "points", Value: 0}})).Decode(&head)
	switch {
	case errors.Is(err, mdb.ErrNoDocuments):
	case err != nil:
		return nil, fmt.Errorf("db: chunk summaries: %w", classify(err))
	case head.LastStep >= from:
		c, err := head.summary()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	rest, err := s.chunkSummaries(ctx, s.chunkFilter(rid, name,
		bson.E{Key: "first_step", Value: bson.D{{Key: "$gt", Value: from}, {Key: "$lte", Value: to}}}))
	if err != nil {
		return nil, err
	}
	return append(out, rest...), nil
}

// Chunks reads the chunks that start at the given steps.
func (s *Store) Chunks(ctx context.Context, runID, name string, firstSteps []int64) ([]db.Chunk, error) {
	rid, err := oid(runID)
	if err != nil || len(firstSteps) == 0 {
		return []db.Chunk{}, nil
	}
	docs, err := findAll[chunkDoc](ctx, s.chunks(), "read chunks",
		s.chunkFilter(rid, name, bson.E{Key: "first_step", Value: bson.D{{Key: "$in", Value: firstSteps}}}),
		options.Find().SetSort(bson.D{{Key: "first_step", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]db.Chunk, 0, len(docs))
	for i := range docs {
		c, err := decodeChunk(&docs[i])
		if err != nil {
			return nil, fmt.Errorf("db: read chunks: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// DeleteSeries removes the points from fromStep on under the lease on the
// run's series: the chunk that holds fromStep is rewritten with its
// earlier points, then the later chunks go, then the summaries and the
// run follow (single-document writes; a crash in between leaves points
// that a second call removes).
func (s *Store) DeleteSeries(ctx context.Context, runID, name string, fromStep int64, now time.Time) (int64, error) {
	rid, err := oid(runID)
	if err != nil {
		return 0, nil
	}
	var removed int64
	err = s.WithLease(ctx, "series:"+runID, seriesLeaseTTL, 10*time.Second, func() error {
		var head chunkDoc
		err := s.chunks().FindOne(ctx, s.chunkFilter(rid, name, bson.E{Key: "first_step", Value: bson.D{{Key: "$lt", Value: fromStep}}}),
			options.FindOne().SetSort(bson.D{{Key: "first_step", Value: -1}})).Decode(&head)
		switch {
		case errors.Is(err, mdb.ErrNoDocuments):
		case err != nil:
			return classify(err)
		case head.LastStep >= fromStep:
			c, err := decodeChunk(&head)
			if err != nil {
				return err
			}
			kept := c.Points[:0]
			for _, p := range c.Points {
				if p.Step < fromStep {
					kept = append(kept, p)
				}
			}
			removed += int64(len(c.Points) - len(kept))
			doc := toChunkDoc(rid, name, db.Chunk{ChunkSummary: db.Summarize(kept), Points: kept})
			if _, err := s.chunks().ReplaceOne(ctx, s.chunkFilter(rid, name, bson.E{Key: "first_step", Value: head.FirstStep}), doc); err != nil {
				return classify(err)
			}
		}
		later := s.chunkFilter(rid, name, bson.E{Key: "first_step", Value: bson.D{{Key: "$gte", Value: fromStep}}})
		gone, err := s.chunkSummaries(ctx, later)
		if err != nil {
			return err
		}
		for _, c := range gone {
			removed += int64(c.Count)
		}
		if removed == 0 {
			return nil
		}
		if _, err := s.chunks().DeleteMany(ctx, later); err != nil {
			return classify(err)
		}
		left, err := s.chunkSummaries(ctx, s.chunkFilter(rid, name))
		if err != nil {
			return err
		}
		id := rid.Hex() + "|" + name
		var update bson.D
		if len(left) == 0 {
			if _, err := s.seriesColl().DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
				return classify(err)
			}
			update = bson.D{{Key: "$unset", Value: bson.D{{Key: "summaries." + fieldName(name), Value: ""}}}}
		} else {
			next := db.SummarizeSeries(name, left)
			if _, err := s.seriesColl().ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, seriesDoc{ID: id, RunID: rid, Name: name,
				Count: next.Count, FirstStep: next.FirstStep, LastStep: next.LastStep, Min: storedFloat(next.Min),
				Max: storedFloat(next.Max), Last: storedFloat(next.Last)}, options.Replace().SetUpsert(true)); err != nil {
				return classify(err)
			}
			update = bson.D{{Key: "$set", Value: bson.D{{Key: "summaries." + fieldName(name), Value: seriesSums{Min: storedFloat(next.Min),
				Max: storedFloat(next.Max), Last: storedFloat(next.Last), Count: next.Count}}}}}
		}
		if name == db.ClockSeries {
			return nil // the clock has no summary on the run and is no judged data
		}
		update = append(update, bson.E{Key: "$inc", Value: bson.D{{Key: "data_version", Value: 1}, {Key: "version", Value: 1}}})
		if len(left) == 0 {
			update = append(update, bson.E{Key: "$set", Value: bson.D{{Key: "updated_at", Value: now}}})
		} else {
			update[0].Value = append(update[0].Value.(bson.D), bson.E{Key: "updated_at", Value: now})
		}
		var before runDoc
		if err := s.runs().FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: rid}}, update,
			options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&before); err != nil {
			return classify(err)
		}
		if len(left) == 0 && !before.Deleted {
			if err := s.moveNames(ctx, before.Project, map[string]int64{db.NameSeries + name: -1}); err != nil {
				return err
			}
		}
		return s.outdateVerdict(ctx, rid, before.Project, now)
	})
	if err != nil {
		return 0, fmt.Errorf("db: delete series: %w", classify(err))
	}
	return removed, nil
}

// outdateVerdict marks a verdict on the run outdated after its judged
// data changed, and moves the project's counters and activity.
func (s *Store) outdateVerdict(ctx context.Context, rid bson.ObjectID, project string, now time.Time) error {
	var before runDoc
	err := s.runs().FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: rid},
		{Key: "review.state", Value: bson.D{{Key: "$ne", Value: db.ReviewUnreviewed}}},
		{Key: "review.outdated", Value: false}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "review.outdated", Value: true}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&before)
	switch {
	case errors.Is(err, mdb.ErrNoDocuments):
		return s.moveProject(ctx, project, nil, now)
	case err != nil:
		return classify(err)
	}
	return s.moveProject(ctx, before.Project, map[string]int64{db.CountOutdated: 1}, now)
}
