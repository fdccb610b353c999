package runs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"labreview/db"
	"labreview/db/query"
)

// Page sizes of run lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// ListQuery selects a page of runs, newest first.
type ListQuery struct {
	Project string
	Status  string // a stored status, or stale
	Review  string // a verdict state, or outdated (not with Status)
	Deleted bool   // deleted runs instead of live ones (admins)
	Cursor  string // from the previous page's Next
	Limit   int    // 0: DefaultPageSize
	// Q is a query in the query language (docs/query.md), "" for none.
	Q string
	// Sort orders the page (see sortKey); "" is newest first.
	Sort string
}

// QueryTimeLimit bounds the time a list with a query may take.
const QueryTimeLimit = 5 * time.Second

// ErrQueryTimeout: the query took longer than QueryTimeLimit.
var ErrQueryTimeout = errors.New("runs: the query took too long")

// Page is one page of runs; Next is the cursor of the following page, ""
// at the end.
type Page struct {
	Runs []db.Run
	Next string
	// Total is the number of runs the query selects; TotalExact is false
	// when it is an estimate (stale runs: the running ones; with a query
	// Q: the runs the other filters select, an upper bound).
	Total      int64
	TotalExact bool
}

// List returns a page of runs. A token limited to some projects sees only
// those: with no project asked for, each of its projects is read by its
// index and the pages are merged, so the cost stays that of a page.
func (s *Service) List(ctx context.Context, a Actor, q ListQuery) (*Page, error) {
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return nil, invalid("limit", "A page holds 1 to %d runs.", MaxPageSize)
	}
	if q.Project != "" {
		if _, err := label("project", q.Project, false); err != nil {
			return nil, err
		}
	}
	f := db.RunFilter{Project: q.Project, Status: q.Status, Review: q.Review, Deleted: q.Deleted}
	if q.Sort != "" && q.Sort != "-created" {
		var err error
		if f.SortKey, f.SortDesc, err = sortKey(q.Sort); err != nil {
			return nil, err
		}
	}
	switch {
	case q.Cursor == "":
	case f.SortKey != "":
		after, err := decodeCursor(q.Cursor, f.SortKey, f.SortDesc)
		if err != nil {
			return nil, err
		}
		f.After = after
	case db.ValidID(q.Cursor):
		f.Before = q.Cursor
	default:
		return nil, invalid("cursor", "The cursor is not one this server gave out.")
	}
	if q.Q != "" {
		now := s.now()
		n, err := query.Parse(q.Q, now)
		if err != nil {
			return nil, err
		}
		f.Query, f.QueryNow, f.QueryStaleBefore = n, now, now.Add(-s.cfg.StaleAfter)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, QueryTimeLimit)
		defer cancel()
	}
	switch q.Review {
	case "", db.ReviewUnreviewed, db.ReviewApproved, db.ReviewRejected, db.ReviewNeedsRerun, db.ReviewOutdated:
	default:
		return nil, invalid("review", "review is unreviewed, approved, rejected, needs_rerun or outdated.")
	}
	if q.Review != "" && q.Status != "" {
		return nil, invalid("review", "Filter by status or by review here, not both (the query parameter q combines any conditions).")
	}
	switch q.Status {
	case "":
	case StatusStale:
		f.Status, f.StaleBefore = db.StatusRunning, s.now().Add(-s.cfg.StaleAfter)
	default:
		if err := checkStatus(q.Status); err != nil {
			return nil, err
		}
	}
	projects := []string{q.Project}
	if len(a.limitedTo()) > 0 {
		if q.Project != "" && !a.reaches(q.Project) {
			return &Page{Runs: []db.Run{}}, nil
		}
		if q.Project == "" {
			projects = a.limitedTo()
		}
	}
	if f.SortKey != "" && len(projects) > 1 {
		// A sorted page of several projects is one walk of the sort key.
		f.Projects, projects = projects, []string{""}
	}
	var all []db.Run
	more := false
	for _, p := range projects {
		f.Project = p
		runs, m, err := s.db.ListRuns(ctx, f, q.Limit)
		if err != nil {
			if f.Query != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, ErrQueryTimeout
			}
			return nil, err
		}
		all, more = append(all, runs...), more || m
	}
	if len(projects) > 1 {
		slices.SortFunc(all, func(x, y db.Run) int { return strings.Compare(y.ID, x.ID) })
		if len(all) > q.Limit {
			all, more = all[:q.Limit], true
		}
	}
	page := &Page{Runs: all}
	var err error
	if page.Total, page.TotalExact, err = s.total(ctx, a, q); err != nil {
		return nil, err
	}
	if q.Q != "" {
		// Counting a query's runs would read them: the total is the count
		// of the other filters', an upper bound, marked as an estimate.
		page.TotalExact = false
	}
	if page.Runs == nil {
		page.Runs = []db.Run{}
	}
	if more && len(all) > 0 {
		page.Next = all[len(all)-1].ID
		if f.SortKey != "" {
			c, err := s.cursorAfter(ctx, &all[len(all)-1], f.SortKey)
			if err != nil {
				return nil, err
			}
			page.Next = encodeCursor(f.SortKey, f.SortDesc, c)
		}
	}
	return page, nil
}
