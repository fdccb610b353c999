package db

// Project counter keys: live and deleted runs; live runs by status, by
// verdict state, and with an outdated verdict.
const (
	CountLive     = "live"
	CountDeleted  = "deleted"
	CountOutdated = "outdated"
)

// CountStatus is the key of live runs with a status.
func CountStatus(status string) string { return "status:" + status }

// CountReview is the key of live runs with a verdict state.
func CountReview(state string) string { return "review:" + state }

// projectKeys lists the counters a run adds to its project.
func projectKeys(r *Run) []string {
	if r.DeletedAt != nil {
		return []string{CountDeleted}
	}
	keys := []string{CountLive, CountStatus(r.Status), CountReview(NormalReviewState(r.Review.State))}
	if r.Review.Outdated {
		keys = append(keys, CountOutdated)
	}
	return keys
}

// ProjectDelta is how a run write moves its project's counters: before is
// nil for a new run. Keys that do not move are left out.
func ProjectDelta(before, after *Run) map[string]int64 {
	d := map[string]int64{}
	if before != nil {
		for _, k := range projectKeys(before) {
			d[k]--
		}
	}
	for _, k := range projectKeys(after) {
		d[k]++
	}
	for k, v := range d {
		if v == 0 {
			delete(d, k)
		}
	}
	return d
}
