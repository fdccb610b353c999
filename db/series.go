package db

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sort"
)

// Series storage: the points of one series of a run are kept in chunks of
// at most ChunkPoints points with contiguous step ranges (a chunk holds the
// steps from its FirstStep up to the next chunk's FirstStep). Each chunk
// carries a summary written at ingest (count, first, last, minimum and
// maximum with their steps), so a downsampled read of a long series decodes
// only the chunks that straddle a bucket's edge.

// ChunkPoints is the most points a chunk holds: 3,840 bytes of points, so
// that a chunk row stays within one 4 KiB SQLite page (no overflow pages to
// follow on a read), and a small document in MongoDB (whose limit is
// 16 MiB). Measured: 512-point chunks (8 KiB, three pages a row) made a
// downsampled read of 1,000,000 points 22 ms at the median.
const ChunkPoints = 240

// ClockSeries is the run's clock: a series like the others, kept in the
// same chunks, whose value at a step is the wall time of that step in Unix
// seconds: the time a job sent with its points, else the time the server
// received them, and of several writes of a step the earliest
// (MergeSeries). Its name cannot be a user's series (names do not start
// with $); it has no query values and is not listed with the run's series.
const ClockSeries = "$time"

// Point is one value of a series at a step.
type Point struct {
	Step  int64
	Value float64
}

// ChunkSummary describes a chunk without its points. Minimum and maximum
// ignore NaN; a chunk of NaN only has NaN for both (and the steps of its
// first point).
type ChunkSummary struct {
	FirstStep, LastStep int64
	Count               int
	First, Last         float64
	Min, Max            float64
	MinStep, MaxStep    int64
}

// Chunk is a chunk of a series with its points, sorted by step.
type Chunk struct {
	ChunkSummary
	Points []Point
}

// SeriesSummary is what queries and lists need of a whole series, kept up
// to date at ingest.
type SeriesSummary struct {
	Name      string
	Count     int64
	FirstStep int64
	LastStep  int64
	Min, Max  float64 // NaN-free unless every value is NaN
	Last      float64 // the value at LastStep
}

// Summarize computes the summary of sorted points (at least one).
func Summarize(points []Point) ChunkSummary {
	s := ChunkSummary{FirstStep: points[0].Step, LastStep: points[len(points)-1].Step, Count: len(points),
		First: points[0].Value, Last: points[len(points)-1].Value, Min: math.NaN(), Max: math.NaN(),
		MinStep: points[0].Step, MaxStep: points[0].Step}
	for _, p := range points {
		if math.IsNaN(p.Value) {
			continue
		}
		if math.IsNaN(s.Min) || p.Value < s.Min {
			s.Min, s.MinStep = p.Value, p.Step
		}
		if math.IsNaN(s.Max) || p.Value > s.Max {
			s.Max, s.MaxStep = p.Value, p.Step
		}
	}
	return s
}

// SummarizeSeries combines the chunk summaries of a series, in step order.
func SummarizeSeries(name string, chunks []ChunkSummary) SeriesSummary {
	out := SeriesSummary{Name: name, Min: math.NaN(), Max: math.NaN()}
	for i, c := range chunks {
		if i == 0 {
			out.FirstStep = c.FirstStep
		}
		out.Count += int64(c.Count)
		out.LastStep, out.Last = c.LastStep, c.Last
		if !math.IsNaN(c.Min) && (math.IsNaN(out.Min) || c.Min < out.Min) {
			out.Min = c.Min
		}
		if !math.IsNaN(c.Max) && (math.IsNaN(out.Max) || c.Max > out.Max) {
			out.Max = c.Max
		}
	}
	return out
}

// SortPoints sorts points by step and keeps the last of repeated steps
// (a later value for a step replaces an earlier one).
func SortPoints(points []Point) []Point {
	sort.SliceStable(points, func(i, j int) bool { return points[i].Step < points[j].Step })
	out := points[:0]
	for i, p := range points {
		if i+1 < len(points) && points[i+1].Step == p.Step {
			continue
		}
		out = append(out, p)
	}
	return out
}

// MergeSeries merges points into the chunks of the named series: as
// MergeChunks, except that the clock keeps the earlier time of a step (the
// time it was first written: a retried batch, or another series logged at
// the same step later, does not move it).
func MergeSeries(name string, existing []Chunk, points []Point) (chunks []Chunk, added, changed int) {
	if name == ClockSeries {
		for i, p := range points {
			if j, ok := slices.BinarySearchFunc(existing, p.Step, func(c Chunk, step int64) int {
				return cmp.Compare(c.FirstStep, step)
			}); ok || j > 0 {
				if !ok {
					j--
				}
				c := existing[j].Points
				if k, ok := slices.BinarySearchFunc(c, p.Step, func(q Point, step int64) int { return cmp.Compare(q.Step, step) }); ok && c[k].Value < p.Value {
					points[i].Value = c[k].Value
				}
			}
		}
	}
	return MergeChunks(existing, points)
}

// MergeChunks merges sorted, deduplicated points into the chunks that
// overlap their step range (existing, in step order, with points) and
// returns the chunks that replace them. A step already stored takes the
// new value. Chunks are refilled to ChunkPoints, so appending to a series
// rewrites at most its last chunk. added counts the steps that were not
// stored before, changed the stored steps that got another value.
func MergeChunks(existing []Chunk, points []Point) (chunks []Chunk, added, changed int) {
	var old []Point
	for _, c := range existing {
		old = append(old, c.Points...)
	}
	merged := make([]Point, 0, len(old)+len(points))
	i, j := 0, 0
	for i < len(old) || j < len(points) {
		switch {
		case j == len(points) || (i < len(old) && old[i].Step < points[j].Step):
			merged = append(merged, old[i])
			i++
		case i == len(old) || points[j].Step < old[i].Step:
			merged = append(merged, points[j])
			added++
			j++
		default: // the same step: the new value wins
			if math.Float64bits(old[i].Value) != math.Float64bits(points[j].Value) {
				changed++
			}
			merged = append(merged, points[j])
			i++
			j++
		}
	}
	for len(merged) > 0 {
		n := min(len(merged), ChunkPoints)
		pts := slices.Clone(merged[:n])
		chunks = append(chunks, Chunk{ChunkSummary: Summarize(pts), Points: pts})
		merged = merged[n:]
	}
	return chunks, added, changed
}

// EncodePoints packs points as little-endian (int64 step, float64 value)
// pairs: 16 bytes a point, NaN and infinities kept bit for bit.
func EncodePoints(points []Point) []byte {
	b := make([]byte, 16*len(points))
	for i, p := range points {
		binary.LittleEndian.PutUint64(b[16*i:], uint64(p.Step))
		binary.LittleEndian.PutUint64(b[16*i+8:], math.Float64bits(p.Value))
	}
	return b
}

// DecodePoints unpacks EncodePoints.
func DecodePoints(b []byte) ([]Point, error) {
	if len(b)%16 != 0 {
		return nil, errors.New("db: series chunk of a length that is not a multiple of 16")
	}
	out := make([]Point, len(b)/16)
	for i := range out {
		out[i] = Point{Step: int64(binary.LittleEndian.Uint64(b[16*i:])), Value: math.Float64frombits(binary.LittleEndian.Uint64(b[16*i+8:]))}
	}
	return out, nil
}

// NextSummary updates a series summary after a write of sorted points, of
// which added steps were new. When the write replaced stored values the
// minimum and maximum may have moved anywhere: full is true and the
// caller recomputes the summary from the chunk summaries.
func NextSummary(old *SeriesSummary, name string, points []Point, added int) (next SeriesSummary, full bool) {
	if old != nil && added < len(points) {
		return SeriesSummary{}, true
	}
	s := Summarize(points)
	if old == nil {
		return SeriesSummary{Name: name, Count: int64(added), FirstStep: s.FirstStep, LastStep: s.LastStep,
			Min: s.Min, Max: s.Max, Last: s.Last}, false
	}
	next = *old
	next.Count += int64(added)
	next.FirstStep = min(next.FirstStep, s.FirstStep)
	if s.LastStep > next.LastStep {
		next.LastStep, next.Last = s.LastStep, s.Last
	}
	if !math.IsNaN(s.Min) && (math.IsNaN(next.Min) || s.Min < next.Min) {
		next.Min = s.Min
	}
	if !math.IsNaN(s.Max) && (math.IsNaN(next.Max) || s.Max > next.Max) {
		next.Max = s.Max
	}
	return next, false
}

// EncodeSummary packs a chunk summary into 72 bytes (nine little-endian
// 64-bit fields), for stores that read summaries faster as one value.
func EncodeSummary(c ChunkSummary) []byte {
	b := make([]byte, 72)
	for i, v := range []uint64{uint64(c.FirstStep), uint64(c.LastStep), uint64(c.Count), math.Float64bits(c.First),
		math.Float64bits(c.Last), math.Float64bits(c.Min), math.Float64bits(c.Max), uint64(c.MinStep), uint64(c.MaxStep)} {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

// DecodeSummary unpacks EncodeSummary.
func DecodeSummary(b []byte) (ChunkSummary, error) {
	if len(b) != 72 {
		return ChunkSummary{}, errors.New("db: a chunk summary is not 72 bytes")
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	f := func(i int) float64 { return math.Float64frombits(u(i)) }
	return ChunkSummary{FirstStep: int64(u(0)), LastStep: int64(u(1)), Count: int(u(2)), First: f(3), Last: f(4),
		Min: f(5), Max: f(6), MinStep: int64(u(7)), MaxStep: int64(u(8))}, nil
}
