package db

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
)

// Params hold JSON-shaped values in one normal form, the same from both
// adapters: strings, bools, nil, []any, map[string]any, and numbers as
// int64 when integral and within int64's range (3.0 and 3 are the same
// value), float64 otherwise.

// DecodeJSONObject decodes a JSON object into that normal form, keeping
// integers exact (no detour through float64).
func DecodeJSONObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the JSON object")
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return NormalizeJSON(m).(map[string]any), nil
}

// NormalizeJSON brings a decoded JSON value into the normal form.
func NormalizeJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = NormalizeJSON(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = NormalizeJSON(e)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil {
			return x.String() // beyond float64: kept as its text
		}
		return normalFloat(f)
	case float64:
		return normalFloat(x)
	case float32:
		return normalFloat(float64(x))
	case int:
		return int64(x)
	case int32:
		return int64(x)
	}
	return v
}

func normalFloat(f float64) any {
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return int64(f)
	}
	return f
}

// CloneRun copies a run deeply enough that a change of the copy cannot
// reach the original's params, metrics and tags.
func CloneRun(r *Run) *Run {
	c := *r
	params := r.Params
	if params == nil {
		params = map[string]any{}
	}
	b, _ := json.Marshal(params)      // JSON-shaped values always marshal
	c.Params, _ = DecodeJSONObject(b) // and decode back
	c.Metrics = make(Metrics, len(r.Metrics))
	for k, v := range r.Metrics {
		c.Metrics[k] = v
	}
	c.Tags = append([]string{}, r.Tags...)
	c.KeyTags = cloneStrings(r.KeyTags)
	c.ParamText = cloneStrings(r.ParamText)
	return &c
}

// cloneStrings copies a string map (nil stays nil).
func cloneStrings(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
