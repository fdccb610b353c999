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
	// Count is "exact" for an exact total (a count of the query's runs),
	// "" for the cheap one (see Page.Total).
	Count string
	// Summaries names series whose summaries come with the page (table
	// columns such as last(loss)); a name given twice counts once.
	Summaries []string
}

// MaxSummaryNames bounds the series a list page carries summaries of.
const MaxSummaryNames = MaxSeriesPerRead

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
	// Warnings are hints about names in the query that no run in view
	// has (see Warning).
	Warnings []Warning
	// Summaries holds, by run id, the summaries of the series that
	// ListQuery.Summaries names, for the runs that have them.
	Summaries map[string][]db.SeriesSummary
}

// ErrTooManyQueries: the caller has runs.queries_per_principal queries
// running and none ended within QueryWait.
var ErrTooManyQueries = errors.New("runs: too many queries at once")

// DefaultQueriesPerPrincipal is runs.queries_per_principal when unset:
// how many lists with a query, a sort or an exact count one user (or API
// token) may have running at once; more wait up to QueryWait for a turn.
const DefaultQueriesPerPrincipal = 2

// QueryWait is how long a query waits for one of its caller's turns.
const QueryWait = 2 * time.Second

// queryTurn waits for one of the caller's turns for expensive work.
func (s *Service) queryTurn(ctx context.Context, a Actor) (release func(), err error) {
	who := "u:" + a.UserID
	if a.TokenID != "" {
		who = "t:" + a.TokenID
	}
	s.turnsMu.Lock()
	ch := s.turns[who]
	if ch == nil {
		ch = make(chan struct{}, s.cfg.QueriesPerPrincipal)
		s.turns[who] = ch
	}
	s.turnsMu.Unlock()
	t := time.NewTimer(QueryWait)
	defer t.Stop()
	select {
	case ch <- struct{}{}:
	case <-t.C:
		return nil, ErrTooManyQueries
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return func() {
		s.turnsMu.Lock()
		<-ch
		if len(ch) == 0 {
			delete(s.turns, who)
		}
		s.turnsMu.Unlock()
	}, nil
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
	switch q.Count {
	case "", "exact":
	default:
		return nil, invalid("count", `count is "exact" or absent.`)
	}
	summaries, err := summaryNames(q.Summaries)
	if err != nil {
		return nil, err
	}
	if q.Q != "" {
		now := s.now()
		n, err := query.Parse(q.Q, now)
		if err != nil {
			return nil, err
		}
		f.Query, f.QueryNow, f.QueryStaleBefore = n, now, now.Add(-s.cfg.StaleAfter)
	}
	if q.Q != "" || f.SortKey != "" || q.Count == "exact" {
		release, err := s.queryTurn(ctx, a)
		if err != nil {
			return nil, err
		}
		defer release()
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
	if page.Total, page.TotalExact, err = s.total(ctx, a, q); err != nil {
		return nil, err
	}
	if q.Q != "" {
		// Without count=exact, the total is the count of the other
		// filters' runs (kept by every write), an upper bound, marked as
		// an estimate.
		page.TotalExact = false
	}
	if q.Count == "exact" && !page.TotalExact {
		cf := f
		cf.Project, cf.Projects = q.Project, nil
		if q.Project == "" && len(a.limitedTo()) > 0 {
			cf.Projects = a.limitedTo()
		}
		if page.Total, err = s.db.CountRuns(ctx, cf); err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, ErrQueryTimeout
			}
			return nil, err
		}
		page.TotalExact = true
	}
	if f.Query != nil || q.Project != "" {
		if page.Warnings, err = s.hints(ctx, a, q, f.Query); err != nil {
			return nil, err
		}
	}
	if page.Runs == nil {
		page.Runs = []db.Run{}
	}
	if len(summaries) > 0 && len(page.Runs) > 0 {
		ids := make([]string, len(page.Runs))
		for i := range page.Runs {
			ids[i] = page.Runs[i].ID
		}
		if page.Summaries, err = s.db.SummariesOf(ctx, ids, summaries); err != nil {
			return nil, err
		}
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

// summaryNames checks the series names a page's summaries are asked for:
// at most MaxSummaryNames distinct names, each a valid series name.
func summaryNames(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		if err := checkName("summaries", n); err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) > MaxSummaryNames {
		return nil, invalid("summaries", "Ask for the summaries of at most %d series.", MaxSummaryNames)
	}
	return out, nil
}
