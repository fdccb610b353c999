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
	w := startStream(c)
	appendSeriesRead(w, nil, "", data)
	s.endStream(c, w)
}

// writeRunsSeriesAnswer streams the answer of GET /api/runs/series: {"runs":
// [{"id", then as one run's answer}, …], "missing": [ids]}.
func (s *Server) writeRunsSeriesAnswer(c *gin.Context, found []runs.RunSeriesRead, missing []string) {
	w := startStream(c)
	var scratch []byte
	_, _ = w.WriteString(`{"runs":[`)
	for i, r := range found {
		if i > 0 {
			_ = w.WriteByte(',')
		}
		scratch = appendSeriesRead(w, scratch, r.RunID, r.SeriesRead)
	}
	_, _ = w.WriteString(`],"missing":`)
	ids, _ := json.Marshal(orEmpty(missing)) // strings: never fails
	_, _ = w.Write(ids)
	_ = w.WriteByte('}')
	s.endStream(c, w)
}

// startStream sends the status and headers of a streamed JSON answer and
// gives the buffer its body goes through. A bufio.Writer keeps its first
// error and returns it from Flush, so writes to it are not checked one by
// one.
func startStream(c *gin.Context) *bufio.Writer {
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Status(http.StatusOK)
	return bufio.NewWriterSize(c.Writer, 32<<10)
}

// endStream flushes a streamed answer; a failure only means the client
// went away.
func (s *Server) endStream(c *gin.Context, w *bufio.Writer) {
	if err := w.Flush(); err != nil {
		s.log.DebugContext(c.Request.Context(), "streamed answer cut short", "request_id", requestIDOf(c), "err", err)
	}
}

// appendSeriesRead writes one read as {["id": id,] "series": […],
// "max_points": n, "clock": …} and gives back its scratch buffer.
func appendSeriesRead(w *bufio.Writer, scratch []byte, id string, data *runs.SeriesRead) []byte {
	scratch = append(scratch[:0], '{')
	if id != "" {
		scratch = append(scratch, `"id":`...)
		scratch = strconv.AppendQuote(scratch, id) // run ids are hex
		scratch = append(scratch, ',')
	}
	scratch = append(scratch, `"series":[`...)
	_, _ = w.Write(scratch)
	for i, d := range data.Series {
		if i > 0 {
			_ = w.WriteByte(',')
		}
		head, _ := json.Marshal(toSeriesResponse(d.SeriesSummary)) // a small struct: never fails
		_, _ = w.Write(head[:len(head)-1])                         // without its closing brace
		scratch = append(scratch[:0], `,"window_count":`...)
		scratch = strconv.AppendInt(scratch, d.WindowCount, 10)
		scratch = append(scratch, `,"downsampled":`...)
		scratch = strconv.AppendBool(scratch, d.Downsampled)
		scratch = append(scratch, `,"points":[`...)
		_, _ = w.Write(scratch)
		for j, p := range d.Points {
			scratch = scratch[:0]
			if j > 0 {
				scratch = append(scratch, ',')
			}
			scratch = appendPoint(scratch, p, d.Times, j)
			_, _ = w.Write(scratch)
		}
		_, _ = w.WriteString("]}")
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
	_, _ = w.Write(scratch)
	return scratch
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

// orEmpty is s, or an empty list for nil (JSON [] rather than null).
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
