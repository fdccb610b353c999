package runs

import (
	"context"
	"unicode/utf8"

	"labreview/db"
)

// MaxKeyPrefix bounds the prefix of a keys list (the longest names are
// param paths).
const MaxKeyPrefix = 1000

// KeysQuery selects the names runs use: of one project or of every
// project the caller reaches, those that start with Prefix.
type KeysQuery struct {
	Project string
	Prefix  string
}

// Keys lists the param paths, metric names and series names of live runs,
// up to db.RunKeysLimit of each kind (Truncated when there are more), for
// completion and the column chooser. A token limited to some projects
// sees only those projects' names: with no project asked for, each of its
// projects is read and the lists are merged, so the cost stays that of a
// few index ranges.
func (s *Service) Keys(ctx context.Context, a Actor, q KeysQuery) (*db.RunKeys, error) {
	if q.Project != "" {
		if _, err := label("project", q.Project, false); err != nil {
			return nil, err
		}
	}
	if len(q.Prefix) > MaxKeyPrefix || !utf8.ValidString(q.Prefix) {
		return nil, invalid("prefix", "A prefix is text of at most %d bytes.", MaxKeyPrefix)
	}
	projects := []string{q.Project}
	if len(a.limitedTo()) > 0 {
		if q.Project != "" && !a.reaches(q.Project) {
			return db.MergeRunKeys(db.RunKeysLimit), nil
		}
		if q.Project == "" {
			projects = a.limitedTo()
		}
	}
	lists := make([]*db.RunKeys, 0, len(projects))
	for _, p := range projects {
		k, err := s.db.ListRunKeys(ctx, p, q.Prefix, db.RunKeysLimit)
		if err != nil {
			return nil, err
		}
		lists = append(lists, k)
	}
	return db.MergeRunKeys(db.RunKeysLimit, lists...), nil
}
