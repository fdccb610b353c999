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

// seriesPoints is points as the API writes them: [[step, value], …], the
// value a number or "NaN", "Infinity", "-Infinity"; with times,
// [[step, value, time], …], the time in Unix seconds or null.
type seriesPoints struct {
	points []db.Point
	times  []float64 // nil: no times; else one a point, NaN for null
}

// MarshalJSON writes the pairs directly: a 2,000-point answer is one
// buffer, not 4,000 values through reflection.
func (p seriesPoints) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(p.points)*24)
	b = append(b, '[')
	for i, pt := range p.points {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, pt.Step, 10)
		b = append(b, ',')
		v, _ := db.Float(pt.Value).MarshalJSON() // never fails
		b = append(b, v...)
		if p.times != nil {
			b = append(b, ',')
			if t := p.times[i]; math.IsNaN(t) {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendFloat(b, t, 'f', -1, 64)
			}
		}
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// seriesInput is a client's fault in a series body.
func seriesInput(format string, args ...any) error {
	return &runs.InputError{Field: "series", Code: "invalid", Message: fmt.Sprintf(format, args...)}
}

// parseSeriesBody reads {"<series>": [[step, value], …], …} token by
// token (a 100,000-point batch is not decoded into generic values first).
// A point may carry its wall time, [step, value, time] in Unix seconds:
// times holds it by step (the earliest, when series of the batch disagree).
func parseSeriesBody(r io.Reader) (map[string][]db.Point, map[int64]float64, error) {
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
		return nil, nil, err
	}
	out := map[string][]db.Point{}
	var times map[int64]float64
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, nil, readErr(err)
		}
		name := tok.String()
		if _, dup := out[name]; dup {
			return nil, nil, seriesInput("Series %q appears twice.", name)
		}
		if err := expect('[', fmt.Sprintf("an array of [step, value] pairs for series %q", name)); err != nil {
			return nil, nil, err
		}
		var points []db.Point
		for dec.PeekKind() != ']' {
			if dec.PeekKind() == 0 {
				return nil, nil, readErr(io.ErrUnexpectedEOF)
			}
			// where names the point in messages; made only for one.
			where := func() string { return fmt.Sprintf("series %q, point %d", name, len(points)) }
			if tok, err := dec.ReadToken(); err != nil {
				return nil, nil, readErr(err)
			} else if tok.Kind() != '[' {
				return nil, nil, seriesInput("Expected [step, value] at %s.", where())
			}
			raw, err := dec.ReadValue()
			if err != nil {
				return nil, nil, readErr(err)
			}
			step, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				return nil, nil, seriesInput("The step of %s is not a whole number.", where())
			}
			raw, err = dec.ReadValue()
			if err != nil {
				return nil, nil, readErr(err)
			}
			var value float64
			switch raw.Kind() {
			case '0':
				if value, err = strconv.ParseFloat(string(raw), 64); err != nil && !errors.Is(err, strconv.ErrRange) {
					return nil, nil, seriesInput("The value of %s is not a number.", where())
				}
			case '"':
				var f db.Float
				if err := f.UnmarshalJSON(raw); err != nil {
					return nil, nil, seriesInput(`The value of %s is a text; only "NaN", "Infinity" and "-Infinity" are allowed.`, where())
				}
				value = float64(f)
			default:
				return nil, nil, seriesInput("The value of %s is not a number.", where())
			}
			if dec.PeekKind() == '0' { // its time
				raw, err := dec.ReadValue()
				if err != nil {
					return nil, nil, readErr(err)
				}
				t, err := strconv.ParseFloat(string(raw), 64)
				if err != nil {
					return nil, nil, seriesInput("The time of %s is not a number of Unix seconds.", where())
				}
				if times == nil {
					times = map[int64]float64{}
				}
				if old, ok := times[step]; !ok || t < old {
					times[step] = t
				}
			}
			if tok, err := dec.ReadToken(); err != nil {
				return nil, nil, readErr(err)
			} else if tok.Kind() != ']' {
				return nil, nil, seriesInput("A point is [step, value] or [step, value, time] (%s).", where())
			}
			points = append(points, db.Point{Step: step, Value: value})
			if len(points) > runs.MaxPointsPerBatch {
				return nil, nil, &runs.InputError{Field: "series", Code: "too_large", Message: "A batch holds at most 100,000 points; send several."}
			}
		}
		if _, err := dec.ReadToken(); err != nil { // ]
			return nil, nil, readErr(err)
		}
		out[name] = points
	}
	if _, err := dec.ReadToken(); err != nil { // }
		return nil, nil, readErr(err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, nil, errBadJSON
	}
	return out, times, nil
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
	batch, times, err := parseSeriesBody(c.Request.Body)
	if err != nil {
		s.writeError(c, err)
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

// seriesDataResponse is a series with the points of the window asked for.
type seriesDataResponse struct {
	seriesResponse
	WindowCount int64        `json:"window_count"`
	Downsampled bool         `json:"downsampled"`
	Points      seriesPoints `json:"points"`
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

// clockResponse is the span of a run's clock, in Unix seconds.
type clockResponse struct {
	First float64 `json:"first"`
	Last  float64 `json:"last"`
}

// handleSeriesGet: GET /api/runs/{id}/series?names=a,b&max_points=&from=&to=&x=.
// `name` (repeatable) names one series exactly, for names with a comma;
// x=time adds each point's wall time.
func (s *Server) handleSeriesGet(c *gin.Context) {
	var q runs.SeriesQuery
	switch c.Query("x") {
	case "", "step":
	case "time":
		q.Time = true
	default:
		s.writeError(c, &runs.InputError{Field: "x", Code: "invalid", Message: "x is step or time."})
		return
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
				s.writeError(c, &runs.InputError{Field: f.name, Code: "invalid", Message: f.name + " is a step (a whole number)."})
				return
			}
			*f.dst = &n
		}
	}
	if v := c.Query("max_points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			s.writeError(c, &runs.InputError{Field: "max_points", Code: "invalid", Message: fmt.Sprintf("max_points is 4 to %d.", runs.MaxMaxPoints)})
			return
		}
		q.MaxPoints = n
	}
	data, err := s.runs.ReadSeries(c.Request.Context(), runActor(c), c.Param("id"), q)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := make([]seriesDataResponse, len(data.Series))
	for i, d := range data.Series {
		out[i] = seriesDataResponse{seriesResponse: toSeriesResponse(d.SeriesSummary), WindowCount: d.WindowCount,
			Downsampled: d.Downsampled, Points: seriesPoints{points: d.Points, times: d.Times}}
	}
	var clock *clockResponse
	if data.Clock.Count > 0 {
		clock = &clockResponse{First: data.Clock.Min, Last: data.Clock.Max}
	}
	c.JSON(http.StatusOK, gin.H{"series": out, "clock": clock})
}
