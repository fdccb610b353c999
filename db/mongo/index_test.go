package mongo

import "testing"

// queryShape is one kind of query this adapter sends: equality fields, then
// at most one sort or range field.
type queryShape struct {
	what       string
	collection string
	equal      []string
	then       string
}

// queryShapes lists every query of this adapter that does not go by _id
// alone. The FerretDB stand-in cannot show real MongoDB's plans, so the
// index specifications are checked as data: every shape must have an index
// whose keys start with its equality fields (in any order) followed by its
// sort or range field.
var queryShapes = []queryShape{
	{"ListArtifacts", artifactsCollection, []string{"run_id"}, "path"},
	{"PutArtifact: a run's files", artifactsCollection, []string{"run_id"}, ""},
	{"ProjectArtifactBytes", artifactsCollection, []string{"project"}, ""},
	{"UserByEmail", usersCollection, []string{"email"}, ""},
	{"UserBySkeleton", usersCollection, []string{"email_skeleton"}, ""},
	{"UsersWithoutSkeleton", usersCollection, []string{"email_skeleton"}, ""},
	{"ListUsers", usersCollection, nil, "email"},
	{"CountActiveAdmins", usersCollection, []string{"role", "disabled"}, ""},
	{"LiveSessions", sessionsCollection, []string{"user_id", "revoked_at"}, "last_used_at"},
	{"RevokeUserSessions", sessionsCollection, []string{"user_id", "revoked_at"}, ""},
	{"SweepSessions, absolute end", sessionsCollection, nil, "expires_at"},
	{"SweepSessions, idle end", sessionsCollection, nil, "idle_expires_at"},
	{"SweepSessions, revoked", sessionsCollection, nil, "revoked_at"},
	{"SweepCounters", throttleCollection, nil, "window_ends"},
	{"ListAudit about a user", auditCollection, []string{"user_id"}, "_id"},
	{"ListAudit by a user", auditCollection, []string{"actor_id"}, "_id"},
	{"ListAudit by event", auditCollection, []string{"event"}, "_id"},
	{"audit retention", auditCollection, nil, "at"},
	{"SigningKeys", keysCollection, nil, "created_at"},
	{"CreateRun by external id", runsCollection, []string{"project", "external_id"}, ""},
	{"ListRuns", runsCollection, []string{"deleted"}, "_id"},
	{"ListRuns by project", runsCollection, []string{"deleted", "project"}, "_id"},
	{"ListRuns by status", runsCollection, []string{"deleted", "status"}, "_id"},
	{"ListRuns by project and status", runsCollection, []string{"deleted", "project", "status"}, "_id"},
	{"ListRuns, stale", runsCollection, []string{"deleted", "status"}, "alive_at"},
	{"series chunks by step", chunksCollection, []string{"run_id", "series"}, "first_step"},
	{"SeriesSummaries", seriesCollection, []string{"run_id"}, "name"},
	{"SummariesOf: a page's runs, named series", seriesCollection, []string{"run_id", "name"}, ""},
	{"ListRuns by verdict", runsCollection, []string{"deleted", "review.state"}, "_id"},
	{"ListRuns by project and verdict", runsCollection, []string{"deleted", "project", "review.state"}, "_id"},
	{"ListRuns, outdated verdicts", runsCollection, []string{"deleted", "review.outdated"}, "_id"},
	{"ListComments", commentsCollection, []string{"run_id"}, "_id"},
	{"ReviewHistory", reviewsCollection, []string{"run_id"}, "_id"},
	{"ReviewBatch", reviewsCollection, []string{"batch_id"}, "_id"},
	{"ReviewBatchSizes", reviewsCollection, []string{"batch_id"}, ""},
	{"APITokenByHash", tokensCollection, []string{"hash"}, ""},
	{"ListAPITokens of a user", tokensCollection, []string{"user_id"}, "_id"},
	{"ListSavedViews", viewsCollection, []string{"user_id"}, "name"},
	{"ListRunKeys", runKeysCollection, []string{"project"}, "key"},
	{"saved views of a user: the limit's count, DeleteUser", viewsCollection, []string{"user_id"}, ""},
	// Queries (q) and sorted pages, by the classes of issue 18.
	{"query: tag = x, newest first", runsCollection, []string{"deleted", "tags"}, "_id"},
	{"query: host = x, newest first", runsCollection, []string{"deleted", "host"}, "_id"},
	{"query: reviewer = x, newest first", runsCollection, []string{"deleted", "review.by"}, "_id"},
	{"query: project, status, review (as the chips)", runsCollection, []string{"deleted", "project", "status"}, "_id"},
	{"sorted by name", runsCollection, []string{"deleted"}, "name"},
	{"sorted by creation", runsCollection, []string{"deleted"}, "created_at"},
	{"sorted by start", runsCollection, []string{"deleted"}, "started_at"},
	{"sorted by duration", runsCollection, []string{"deleted"}, "duration_ms"},
	{"query: created in a range", runsCollection, []string{"deleted"}, "created_at"},
}

// TestWildcardIndexesServeParamsMetricsAndSeries: conditions and sorts on
// any param, metric or series summary name a path that no fixed index can
// know; a wildcard index on each serves them on MongoDB. They are optional
// (the FerretDB stand-in has none), so these plans cannot be measured
// here: docs/query.md says so.
func TestWildcardIndexesServeParamsMetricsAndSeries(t *testing.T) {
	for _, path := range []string{"params.$**", "metrics.$**", "summaries.$**"} {
		found := false
		for _, spec := range indexSpecs {
			if spec.collection == runsCollection && len(spec.keys) == 1 && spec.keys[0].Key == path && spec.optional {
				found = true
			}
		}
		if !found {
			t.Errorf("no optional wildcard index on runs.%s", path)
		}
	}
}

func TestIndexSpecsServeEveryQuery(t *testing.T) {
	for _, q := range queryShapes {
		if !served(q) {
			t.Errorf("%s: no index on %s starts with %v then %q", q.what, q.collection, q.equal, q.then)
		}
	}
	names := map[string]bool{}
	for _, spec := range indexSpecs {
		key := spec.collection + "." + spec.name
		if names[key] {
			t.Errorf("two indexes named %s", key)
		}
		names[key] = true
	}
}

func served(q queryShape) bool {
	for _, spec := range indexSpecs {
		if spec.collection != q.collection || len(spec.keys) < len(q.equal) {
			continue
		}
		prefix := map[string]bool{}
		for _, k := range spec.keys[:len(q.equal)] {
			prefix[k.Key] = true
		}
		ok := true
		for _, f := range q.equal {
			ok = ok && prefix[f]
		}
		if !ok {
			continue
		}
		if q.then == "" || (len(spec.keys) > len(q.equal) && spec.keys[len(q.equal)].Key == q.then) {
			return true
		}
	}
	return q.then == "_id" && len(q.equal) == 0
}
