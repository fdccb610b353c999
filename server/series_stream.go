package server

import (
	"bufio"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"labreview/db"
	"labreview/runs"
)

// writeSeriesAnswer streams the answer of GET /api/runs/{id}/series:
// {"series": [{…summary, "window_count", "downsampled", "points"}, …],
// "max_points": n, "clock": {…}|null}. The points go straight from the read
// into a 32 KiB buffer on the connection, never into a whole JSON document
// (which encoding/json then copied and checked again: an 84.5 MB answer
// took about 550 MB to build). Once the status is sent, a failed write
// only ends the answer (the client went away).
func (s *Server) writeSeriesAnswer(c *gin.Context, data *runs.SeriesRead) {
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Status(http.StatusOK)
	w := bufio.NewWriterSize(c.Writer, 32<<10)
	var scratch []byte
	put := func(b []byte) { _, _ = w.Write(b) } // a bufio.Writer keeps its first error and returns it from Flush
	put([]byte(`{"series":[`))
	for i, d := range data.Series {
		if i > 0 {
			put([]byte{','})
		}
		head, err := json.Marshal(toSeriesResponse(d.SeriesSummary)) // a small struct: never fails
		if err != nil {
			s.log.ErrorContext(c.Request.Context(), "encoding a series summary", "err", err)
			return
		}
		put(head[:len(head)-1]) // without its closing brace
		scratch = append(scratch[:0], `,"window_count":`...)
		scratch = strconv.AppendInt(scratch, d.WindowCount, 10)
		scratch = append(scratch, `,"downsampled":`...)
		scratch = strconv.AppendBool(scratch, d.Downsampled)
		scratch = append(scratch, `,"points":[`...)
		put(scratch)
		for j, p := range d.Points {
			scratch = scratch[:0]
			if j > 0 {
				scratch = append(scratch, ',')
			}
			scratch = appendPoint(scratch, p, d.Times, j)
			put(scratch)
		}
		put([]byte("]}"))
	}
	scratch = append(scratch[:0], `],"max_points":`...)
	scratch = strconv.AppendInt(scratch, int64(data.MaxPoints), 10)
	scratch = append(scratch, `,"clock":`...)
	if data.Clock.Count > 0 {
		scratch = append(scratch, `{"first":`...)
		scratch = strconv.AppendFloat(scratch, data.Clock.Min, 'f', -1, 64)
		scratch = append(scratch, `,"last":`...)
		scratch = strconv.AppendFloat(scratch, data.Clock.Max, 'f', -1, 64)
		scratch = append(scratch, '}')
	} else {
		scratch = append(scratch, "null"...)
	}
	scratch = append(scratch, '}')
	put(scratch)
	if err := w.Flush(); err != nil {
		s.log.DebugContext(c.Request.Context(), "series answer cut short", "request_id", requestIDOf(c), "err", err)
	}
}

// appendPoint appends point j as [step, value] or, with times, [step,
// value, time] (null where the clock does not reach): the value a number
// or "NaN", "Infinity", "-Infinity".
func appendPoint(b []byte, p db.Point, times []float64, j int) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, p.Step, 10)
	b = append(b, ',')
	v, _ := db.Float(p.Value).MarshalJSON() // never fails
	b = append(b, v...)
	if times != nil {
		b = append(b, ',')
		if t := times[j]; math.IsNaN(t) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, t, 'f', -1, 64)
		}
	}
	return append(b, ']')
}
