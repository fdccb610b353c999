package db

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Metrics are a run's final scalars by name. JSON has no NaN or infinity,
// so in JSON (the API, the export and the embedded store) those three
// values are the strings "NaN", "Infinity" and "-Infinity"; every other
// value is a number.
type Metrics map[string]float64

// Float is one number in the JSON form of Metrics.
type Float float64

// FloatValue is v as the JSON form has it: a float64, or for NaN and ±Inf
// the string "NaN", "Infinity" or "-Infinity".
func FloatValue(v float64) any {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	return v
}

// MarshalJSON writes a number, or one of the three strings.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number or one of the three strings. null and
// numbers beyond float64's range (1e999) are errors.
func (f *Float) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return errors.New(`null is not a number (send "NaN" for a missing value)`)
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = Float(math.NaN())
		case "Infinity":
			*f = Float(math.Inf(1))
		case "-Infinity":
			*f = Float(math.Inf(-1))
		default:
			return fmt.Errorf(`%q is not a number (the only strings allowed are "NaN", "Infinity" and "-Infinity")`, s)
		}
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("%.40s is not a number", b)
	}
	v, err := n.Float64()
	if err != nil {
		return fmt.Errorf("%.40s is beyond the range of a 64-bit float", b)
	}
	*f = Float(v)
	return nil
}

// MetricError is a metric whose value is not a number.
type MetricError struct {
	Name string
	Err  error
}

func (e *MetricError) Error() string { return fmt.Sprintf("metric %q: %v", e.Name, e.Err) }
func (e *MetricError) Unwrap() error { return e.Err }

// MarshalJSON writes the metrics as an object of Floats.
func (m Metrics) MarshalJSON() ([]byte, error) {
	out := make(map[string]Float, len(m))
	for k, v := range m {
		out[k] = Float(v)
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads an object of Floats; a value that is not one is a
// *MetricError naming the metric.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	names := make([]string, 0, len(in))
	for k := range in {
		names = append(names, k)
	}
	sort.Strings(names)
	*m = make(Metrics, len(in))
	for _, k := range names {
		var f Float
		if err := f.UnmarshalJSON(in[k]); err != nil {
			return &MetricError{Name: k, Err: err}
		}
		(*m)[k] = float64(f)
	}
	return nil
}
