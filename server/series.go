package server

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json/jsontext"

	"labreview/db"
	"labreview/runs"
)

// seriesBodyLimit caps a series batch (100,000 points take about 3 MiB of
// JSON); server.max_body_bytes applies when it is larger.
const seriesBodyLimit = 16 << 20

// seriesInput is a client's fault in a series body.
func seriesInput(format string, args ...any) error {
	return &runs.InputError{Field: "series", Code: "invalid", Message: fmt.Sprintf(format, args...)}
}

// parseSeriesBody reads {"<series>": [[step, value], …], …} token by
// token (a 100,000-point batch is not decoded into generic values first).
// A point may carry its wall time, [step, value, time] in Unix seconds
// (null: none): times holds it by step (the earliest, when series of the
// batch disagree). A body whose shape is wrong is an error; a point whose
// step, value or time is wrong goes to bad, with its place, and parsing
// goes on, so that one answer names every bad point (its step becomes 0
// and its value NaN in the batch, which is refused anyway).
func parseSeriesBody(r io.Reader) (batch map[string][]db.Point, times map[int64]float64, bad []runs.PointError, err error) {
	dec := jsontext.NewDecoder(r)
	expect := func(kind jsontext.Kind, what string) error {
		tok, err := dec.ReadToken()
		if err != nil {
			return readErr(err)
		}
		if tok.Kind() != kind {
			return seriesInput("Expected %s.", what)
		}
		return nil
	}
	if err := expect('{', `an object {"<series>": [[step, value], …]}`); err != nil {
		return nil, nil, nil, err
	}
	out := map[string][]db.Point{}
	total := 0
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, nil, nil, readErr(err)
		}
		name := tok.String()
		if _, dup := out[name]; dup {
			return nil, nil, nil, seriesInput("Series %q appears twice.", name)
		}
		if err := expect('[', fmt.Sprintf("an array of [step, value] pairs for series %q", name)); err != nil {
			return nil, nil, nil, err
		}
		points := []db.Point{}
		for dec.PeekKind() != ']' {
			if dec.PeekKind() == 0 {
				return nil, nil, nil, readErr(io.ErrUnexpectedEOF)
			}
			index := len(points)
			// where names the point in messages; made only for one.
			where := func() string { return fmt.Sprintf("series %q, point %d", name, index) }
			fault := func(format string, args ...any) {
				bad = append(bad, runs.PointError{Series: name, Index: index, Message: fmt.Sprintf(format, args...)})
			}
			if tok, err := dec.ReadToken(); err != nil {
				return nil, nil, nil, readErr(err)
			} else if tok.Kind() != '[' {
				return nil, nil, nil, seriesInput("Expected [step, value] at %s.", where())
			}
			p := db.Point{}
			raw, err := dec.ReadValue()
			if err != nil {
				return nil, nil, nil, readErr(err)
			}
			if p.Step, err = strconv.ParseInt(string(raw), 10, 64); err != nil {
				p.Step = 0
				fault("the step %s is not a whole number", truncateRaw(raw))
			}
			raw, err = dec.ReadValue()
			if err != nil {
				return nil, nil, nil, readErr(err)
			}
			switch raw.Kind() {
			case '0':
				if p.Value, err = strconv.ParseFloat(string(raw), 64); err != nil {
					p.Value = math.NaN()
					fault("the value %s is beyond the range of a 64-bit float", truncateRaw(raw))
				}
			case '"':
				var f db.Float
				if err := f.UnmarshalJSON(raw); err != nil {
					p.Value = math.NaN()
					fault(`the value %s is a text; only "NaN", "Infinity" and "-Infinity" are allowed`, truncateRaw(raw))
				} else {
					p.Value = float64(f)
				}
			case 'n':
				p.Value = math.NaN()
				fault(`the value is null: send a number, or "NaN" for a missing one`)
			default:
				p.Value = math.NaN()
				fault("the value %s is not a number", truncateRaw(raw))
			}
			switch dec.PeekKind() { // its time
			case '0':
				raw, err := dec.ReadValue()
				if err != nil {
					return nil, nil, nil, readErr(err)
				}
				t, err := strconv.ParseFloat(string(raw), 64)
				switch {
				case err != nil || !runs.ValidTime(t):
					fault("the time %s is not Unix seconds from 0 to the year 9999", truncateRaw(raw))
				default:
					if times == nil {
						times = map[int64]float64{}
					}
					if old, ok := times[p.Step]; !ok || t < old {
						times[p.Step] = t
					}
				}
			case 'n':
				if _, err := dec.ReadValue(); err != nil {
					return nil, nil, nil, readErr(err)
				}
			case ']':
			default:
				raw, err := dec.ReadValue()
				if err != nil {
					return nil, nil, nil, readErr(err)
				}
				fault("the time %s is not a number of Unix seconds", truncateRaw(raw))
			}
			if tok, err := dec.ReadToken(); err != nil {
				return nil, nil, nil, readErr(err)
			} else if tok.Kind() != ']' {
				return nil, nil, nil, seriesInput("A point is [step, value] or [step, value, time] (%s).", where())
			}
			points = append(points, p)
			if total++; total > runs.MaxPointsPerBatch {
				return nil, nil, nil, &runs.InputError{Field: "series", Code: "too_large", Message: "A batch holds at most 100,000 points; send several."}
			}
		}
		if _, err := dec.ReadToken(); err != nil { // ]
			return nil, nil, nil, readErr(err)
		}
		out[name] = points
	}
	if _, err := dec.ReadToken(); err != nil { // }
		return nil, nil, nil, readErr(err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, nil, nil, errBadJSON
	}
	return out, times, bad, nil
}

// truncateRaw is a JSON value for a message, cut to 40 bytes.
func truncateRaw(raw jsontext.Value) string {
	if len(raw) > 40 {
		return string(raw[:37]) + "..."
	}
	return string(raw)
}

// pointErrors is the bad points of a batch: those the parser met and
// those the rules refuse, a refused series standing for all its points.
func pointErrors(batch map[string][]db.Point, parsed []runs.PointError) *runs.PointErrors {
	all := append(runs.CheckSeries(batch), parsed...)
	if len(all) == 0 {
		return nil
	}
	whole := map[string]bool{}
	for _, e := range all {
		if e.Index < 0 {
			whole[e.Series] = true
		}
	}
	kept := all[:0]
	for _, e := range all {
		if e.Index < 0 || !whole[e.Series] {
			kept = append(kept, e)
		}
	}
	return runs.NewPointErrors(kept)
}

// readErr keeps a body-size error (413) and turns the rest into 400.
func readErr(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	return errBadJSON
}

// ingestWait bounds how long a series batch waits for its turn before it
// is answered 503 busy (the client retries; batches are idempotent).
const ingestWait = 30 * time.Second

var errIngestBusy = &Error{Status: http.StatusServiceUnavailable, Code: "busy", RetryAfter: 1,
	Message: "The server is busy storing series points. Try again in a moment."}

// newIngestSlots sizes the series-ingest turnstile: half the processors
// (at least one). Parsing and merging a batch is CPU work; however many
// jobs push at once, the other half stays free for the people using the
// UI (measured: with 4 jobs pushing unbounded on 2 cores, the p99 of
// GET /api/me rose 11-fold).
func newIngestSlots() chan struct{} {
	return make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))
}

// handleSeriesAppend: POST /api/runs/{id}/series.
func (s *Server) handleSeriesAppend(c *gin.Context) {
	if mediaType(c) != "application/json" {
		s.writeError(c, errUnsupportedMediaType)
		return
	}
	// The body first (series_body.go), then the slot: a slow sender must
	// not hold the slot while its bytes trickle in.
	body, err := s.seriesBodies.receive(c.Request.Context(), c.Request.Body, ingestWait)
	if err != nil {
		s.writeError(c, err)
		return
	}
	defer body.release()
	wait := time.NewTimer(ingestWait)
	defer wait.Stop()
	select {
	case s.ingest <- struct{}{}:
		defer func() { <-s.ingest }()
	case <-wait.C:
		s.writeError(c, errIngestBusy)
		return
	case <-c.Request.Context().Done():
		s.writeError(c, errIngestBusy)
		return
	}
	batch, times, parsed, err := parseSeriesBody(body.reader())
	if err != nil {
		s.writeError(c, err)
		return
	}
	if bad := pointErrors(batch, parsed); bad != nil {
		s.writeError(c, bad)
		return
	}
	added, err := s.runs.AppendSeries(c.Request.Context(), runActor(c), c.Param("id"), batch, times)
	if err != nil {
		s.writeError(c, err)
		return
	}
	total := 0
	for _, p := range batch {
		total += len(p)
	}
	c.Set(pointsAddedKey, added)
	c.JSON(http.StatusOK, struct {
		Received int `json:"received"`
		Added    int `json:"added"`
	}{total, added})
}

// seriesResponse is a series' summary (null steps and values while it
// holds no point; min and max ignore NaN).
type seriesResponse struct {
	Name      string    `json:"name"`
	Count     int64     `json:"count"`
	FirstStep *int64    `json:"first_step"`
	LastStep  *int64    `json:"last_step"`
	Min       *db.Float `json:"min"`
	Max       *db.Float `json:"max"`
	Last      *db.Float `json:"last"`
}

// seriesOf is a list of summaries as the API answers them.
func seriesOf(sums []db.SeriesSummary) *[]seriesResponse {
	out := make([]seriesResponse, len(sums))
	for i, sum := range sums {
		out[i] = toSeriesResponse(sum)
	}
	return &out
}

func toSeriesResponse(sum db.SeriesSummary) seriesResponse {
	out := seriesResponse{Name: sum.Name, Count: sum.Count}
	if sum.Count > 0 {
		first, last := sum.FirstStep, sum.LastStep
		lo, hi, lv := db.Float(sum.Min), db.Float(sum.Max), db.Float(sum.Last)
		out.FirstStep, out.LastStep, out.Min, out.Max, out.Last = &first, &last, &lo, &hi, &lv
	}
	return out
}

// seriesQueryOf reads the query of GET /api/runs/{id}/series (and of its
// CSV export).
func seriesQueryOf(c *gin.Context) (runs.SeriesQuery, error) {
	var q runs.SeriesQuery
	switch c.Query("x") {
	case "", "step":
	case "time":
		q.Time = true
	default:
		return q, &runs.InputError{Field: "x", Code: "invalid", Message: "x is step or time."}
	}
	if n := c.Query("names"); n != "" {
		q.Names = strings.Split(n, ",")
	}
	q.Names = append(q.Names, c.QueryArray("name")...)
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := c.Query(f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return q, &runs.InputError{Field: f.name, Code: "invalid", Message: f.name + " is a step (a whole number)."}
			}
			*f.dst = &n
		}
	}
	if v := c.Query("max_points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return q, &runs.InputError{Field: "max_points", Code: "invalid", Message: fmt.Sprintf("max_points is 4 to %d.", runs.MaxMaxPoints)}
		}
		q.MaxPoints = n
	}
	return q, nil
}

// handleSeriesGet: GET /api/runs/{id}/series?names=a,b&max_points=&from=&to=&x=.
// `name` (repeatable) names one series exactly, for names with a comma;
// x=time adds each point's wall time.
func (s *Server) handleSeriesGet(c *gin.Context) {
	q, err := seriesQueryOf(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	data, err := s.runs.ReadSeries(c.Request.Context(), runActor(c), c.Param("id"), q)
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.writeSeriesAnswer(c, data)
}

// runIDsOf reads the runs a batch names: ids=a,b,c and id= (repeatable).
func runIDsOf(c *gin.Context) []string {
	var ids []string
	if v := c.Query("ids"); v != "" {
		ids = strings.Split(v, ",")
	}
	return append(ids, c.QueryArray("id")...)
}

// handleRunsSeriesGet: GET /api/runs/series?ids=a,b&names=loss&max_points=…
// (and from, to, x as for one run): the same series of up to 100 runs in
// one answer, which shares the cost bound of one read (compare).
func (s *Server) handleRunsSeriesGet(c *gin.Context) {
	q, err := seriesQueryOf(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	found, missing, err := s.runs.ReadSeriesOfRuns(c.Request.Context(), runActor(c), runIDsOf(c), q)
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.writeRunsSeriesAnswer(c, found, missing)
}
