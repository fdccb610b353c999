package server

import (
	"encoding/csv"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"labreview/db"
	"labreview/runs"
)

// CSV export of the runs table and of a run's series (docs/api.md, "CSV
// export"). Both answers are streamed: the runs a page of MaxPageSize at a
// time through the same list as GET /api/runs, the points from one series
// read, so what the server holds at once is one page or one read whatever
// the export's size.

const (
	// maxExportRows bounds a runs export: a view of more runs is refused
	// before anything is sent (the total is counted exactly first), so
	// that a file never ends short without saying so.
	maxExportRows = 100_000
	// maxExportColumns bounds the columns of one export.
	maxExportColumns = 200
	// exportSlots is how many runs exports one server streams at once;
	// more are answered 503 busy.
	exportSlots = 2
)

var errExportBusy = &Error{Status: http.StatusServiceUnavailable, Code: "busy", RetryAfter: 1,
	Message: "The server is busy with other exports. Try again in a moment."}

// defaultExportColumns are the columns of an export that names none: the
// table's fixed columns, with the run's id first and its failure reason.
var defaultExportColumns = []string{"id", "name", "project", "status", "review", "created", "duration", "tags", "failure"}

// exportColumns are the columns an export may name besides params.<path>
// and metrics.<name>: each turns a run (as the API answers it) into text.
var exportColumns = map[string]func(r *runResponse) string{
	"id":              func(r *runResponse) string { return r.ID },
	"name":            func(r *runResponse) string { return r.Name },
	"project":         func(r *runResponse) string { return r.Project },
	"external_id":     func(r *runResponse) string { return r.ExternalID },
	"status":          func(r *runResponse) string { return r.Status },
	"review":          func(r *runResponse) string { return r.Review.State },
	"review_outdated": func(r *runResponse) string { return strconv.FormatBool(r.Review.Outdated) },
	"created":         func(r *runResponse) string { return csvTime(&r.CreatedAt) },
	"started":         func(r *runResponse) string { return csvTime(r.StartedAt) },
	"finished":        func(r *runResponse) string { return csvTime(r.FinishedAt) },
	"duration": func(r *runResponse) string {
		if r.DurationSeconds == nil {
			return ""
		}
		return strconv.FormatFloat(*r.DurationSeconds, 'f', -1, 64)
	},
	"tags":   func(r *runResponse) string { return strings.Join(r.Tags, ",") },
	"host":   func(r *runResponse) string { return r.Host },
	"job_id": func(r *runResponse) string { return r.JobID },
	"failure": func(r *runResponse) string {
		if r.Failure == nil {
			return ""
		}
		return r.Failure.Reason
	},
}

// exportColumn is one column of a runs export: its header and its cell;
// series names the series a summary column reads.
type exportColumn struct {
	name   string
	cell   func(r *runResponse) string
	series string
}

// parseExportColumns reads columns= (comma-separated keys), or the default.
func parseExportColumns(spec string) ([]exportColumn, error) {
	keys := defaultExportColumns
	if spec != "" {
		keys = strings.Split(spec, ",")
	}
	if len(keys) > maxExportColumns {
		return nil, &runs.InputError{Field: "columns", Code: "invalid", Message: fmt.Sprintf("An export has at most %d columns.", maxExportColumns)}
	}
	out := make([]exportColumn, 0, len(keys))
	for _, k := range keys {
		k = strings.TrimSpace(k)
		switch {
		case exportColumns[k] != nil:
			out = append(out, exportColumn{k, exportColumns[k], ""})
		case strings.HasPrefix(k, "metrics.") && len(k) > len("metrics."):
			name := k[len("metrics."):]
			out = append(out, exportColumn{k, func(r *runResponse) string {
				v, ok := r.Metrics[name]
				if !ok {
					return ""
				}
				return csvFloat(v)
			}, ""})
		case strings.HasPrefix(k, "params.") && len(k) > len("params."):
			path := k[len("params."):]
			out = append(out, exportColumn{k, func(r *runResponse) string {
				v, ok := paramAt(r.Params, path)
				if !ok {
					return ""
				}
				return csvValue(v)
			}, ""})
		default:
			fn, name, ok := runs.SeriesSummaryField(k)
			if !ok {
				return nil, &runs.InputError{Field: "columns", Code: "invalid",
					Message: fmt.Sprintf("Unknown column %q: use params.<path>, metrics.<name>, min|max|last|count(<series>) or one of %s.",
						k, strings.Join(slices.Sorted(maps.Keys(exportColumns)), ", "))}
			}
			out = append(out, exportColumn{k, summaryCell(fn, name), name})
		}
	}
	if len(seriesNames(out)) > runs.MaxSummaryNames {
		return nil, &runs.InputError{Field: "columns", Code: "invalid",
			Message: fmt.Sprintf("An export summarises at most %d series.", runs.MaxSummaryNames)}
	}
	return out, nil
}

// summaryCell is the cell of a series summary column: the summary's
// value, empty when the run has no such series (or no finite value).
func summaryCell(fn, name string) func(r *runResponse) string {
	return func(r *runResponse) string {
		if r.Series == nil {
			return ""
		}
		for _, sum := range *r.Series {
			if sum.Name != name {
				continue
			}
			var v *db.Float
			switch fn {
			case "count":
				return strconv.FormatInt(sum.Count, 10)
			case "min":
				v = sum.Min
			case "max":
				v = sum.Max
			case "last":
				v = sum.Last
			}
			if v == nil {
				return ""
			}
			return csvFloat(float64(*v))
		}
		return ""
	}
}

// seriesNames are the series the columns summarise, each once.
func seriesNames(cols []exportColumn) []string {
	var out []string
	for _, c := range cols {
		if c.series != "" && !slices.Contains(out, c.series) {
			out = append(out, c.series)
		}
	}
	return out
}

// handleRunsCSV: GET /api/runs.csv?<the filters of GET /api/runs>&columns=…
// streams every run of the view as CSV, in the view's order.
func (s *Server) handleRunsCSV(c *gin.Context) {
	q, err := listQueryOf(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	cols, err := parseExportColumns(c.Query("columns"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	select {
	case s.exports <- struct{}{}:
		defer func() { <-s.exports }()
	default:
		s.writeError(c, errExportBusy)
		return
	}
	ctx := c.Request.Context()
	q.Summaries = seriesNames(cols)
	q.Limit = s.exportPage
	q.Cursor = ""
	q.Count = "exact"
	page, err := s.runs.List(ctx, runActor(c), q)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if page.Total > int64(s.exportMax) {
		s.writeError(c, &runs.InputError{Field: "q", Code: "too_many_rows",
			Message: fmt.Sprintf("The view holds %d runs; an export takes at most %d. Narrow the query.", page.Total, s.exportMax)})
		return
	}
	q.Count = ""
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="runs.csv"`)
	c.Header("X-Total-Count", strconv.FormatInt(page.Total, 10))
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	row := make([]string, len(cols))
	for i, col := range cols {
		row[i] = col.name
	}
	_ = w.Write(row) // a csv.Writer keeps its error for Flush
	for written := 0; ; {
		for i := range page.Runs {
			r := s.toRunResponse(&page.Runs[i])
			if len(q.Summaries) > 0 {
				r.Series = seriesOf(page.Summaries[r.ID])
			}
			for j, col := range cols {
				row[j] = csvSafe(col.cell(&r))
			}
			_ = w.Write(row)
			written++
		}
		w.Flush()
		if err := w.Error(); err != nil || page.Next == "" || written >= s.exportMax {
			return // err: the client went away
		}
		q.Cursor = page.Next
		if page, err = s.runs.List(ctx, runActor(c), q); err != nil {
			// The status is sent: the file ends here, and the log says why.
			s.log.WarnContext(ctx, "runs export cut short", "request_id", requestIDOf(c), "err", err, "rows", written)
			return
		}
	}
}

// handleSeriesCSV: GET /api/runs/{id}/series.csv?<the query of GET
// /api/runs/{id}/series> streams the points in long form: one line per
// point (series, step, value, time). It reads as the JSON answer does, at
// most max_points points in all (default and limit runs.MaxMaxPoints);
// X-Downsampled says when a series had more in the window, which is then
// its M4 summary: read windows of from/to for every point.
func (s *Server) handleSeriesCSV(c *gin.Context) {
	q, err := seriesQueryOf(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	q.Time = true
	if q.MaxPoints == 0 {
		q.MaxPoints = runs.MaxMaxPoints
	}
	data, err := s.runs.ReadSeries(c.Request.Context(), runActor(c), c.Param("id"), q)
	if err != nil {
		s.writeError(c, err)
		return
	}
	downsampled := false
	for _, d := range data.Series {
		downsampled = downsampled || d.Downsampled
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="series.csv"`)
	c.Header("X-Downsampled", strconv.FormatBool(downsampled))
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	_ = w.Write([]string{"series", "step", "value", "time"})
	row := make([]string, 4)
	for _, d := range data.Series {
		row[0] = csvSafe(d.Name)
		for j, p := range d.Points {
			row[1] = strconv.FormatInt(p.Step, 10)
			row[2] = csvFloat(p.Value)
			row[3] = ""
			if j < len(d.Times) && !math.IsNaN(d.Times[j]) {
				row[3] = time.UnixMilli(int64(d.Times[j] * 1000)).UTC().Format(time.RFC3339Nano)
			}
			_ = w.Write(row)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		s.log.DebugContext(c.Request.Context(), "series export cut short", "request_id", requestIDOf(c), "err", err)
	}
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (OWASP's
// CSV injection advice): text that starts with = + - @ or a tab or
// carriage return gets a leading apostrophe, unless it is a plain number
// (-0.5 stays a number).
func csvSafe(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// csvFloat writes a number as the JSON answers do: shortest exact form,
// and NaN, Infinity, -Infinity by name.
func csvFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// csvValue writes a param value: text as it is, numbers and other values
// in their JSON form (a float keeps its fraction: 2.0).
func csvValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := db.AppendJSON(nil, v)
	if err != nil {
		return ""
	}
	return string(b)
}

// paramAt finds the value at a dotted path in params, where a key may hold
// dots itself (params are stored as sent): at each level the whole rest of
// the path is tried as a key first, then each shorter prefix.
func paramAt(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] != '.' {
			continue
		}
		if sub, ok := m[path[:i]].(map[string]any); ok {
			if v, ok := paramAt(sub, path[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}
