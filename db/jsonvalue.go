package db

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Params hold JSON-shaped values in one normal form, the same from both
// adapters: strings, bools, nil, []any, map[string]any, and numbers as
// int64 when written as an integer within int64's range (3), float64
// otherwise (3.0, 1e3, 0.5). A float stays a float: 2.0 reads back 2.0,
// as a value copied into a paper or a config must.

// Params are a run's params in the normal form. They marshal to JSON with
// integral floats written with a fraction (2.0), so that they read back
// as floats.
type Params map[string]any

// MarshalJSON writes the params as AppendJSON does.
func (p Params) MarshalJSON() ([]byte, error) {
	if p == nil {
		return []byte("{}"), nil
	}
	return AppendJSON(nil, map[string]any(p))
}

// UnmarshalJSON reads a JSON object into the normal form (null: nil).
func (p *Params) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*p = nil
		return nil
	}
	m, err := DecodeJSONObject(b)
	if err != nil {
		return err
	}
	*p = m
	return nil
}

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

// NormalizeJSON brings a decoded JSON value into the normal form. A
// json.Number beyond float64's range stays its text (the API refuses such
// numbers before they are stored: CheckJSONNumbers).
func NormalizeJSON(v any) any {
	switch x := v.(type) {
	case Params:
		return NormalizeJSON(map[string]any(x))
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
		if i, err := x.Int64(); err == nil { // an integer literal: ParseInt takes no fraction or exponent
			return i
		}
		f, err := x.Float64()
		if err != nil {
			return x.String() // beyond float64: kept as its text
		}
		return f
	case float32:
		return float64(x)
	case int:
		return int64(x)
	case int32:
		return int64(x)
	}
	return v
}

// NumberError is a number that float64 cannot hold (1e999), at Path
// (".lr", ".grid[2]"; "" for a value that is not in an object).
type NumberError struct {
	Path string
	Text string
}

func (e *NumberError) Error() string {
	return fmt.Sprintf("the number %s at %s is beyond the range of a 64-bit float", e.Text, e.Path)
}

// DecodeParams decodes a JSON object as DecodeJSONObject does, for input:
// a number beyond float64's range is a *NumberError rather than kept as
// text.
func DecodeParams(b []byte) (map[string]any, error) {
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
	if err := checkNumbers("", m); err != nil {
		return nil, err
	}
	return NormalizeJSON(m).(map[string]any), nil
}

func checkNumbers(path string, v any) error {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := checkNumbers(path+"."+k, x[k]); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := checkNumbers(fmt.Sprintf("%s[%d]", path, i), e); err != nil {
				return err
			}
		}
	case json.Number:
		if _, err := x.Float64(); err != nil {
			return &NumberError{Path: path, Text: x.String()}
		}
	}
	return nil
}

// AppendJSON appends the JSON of a normal-form value to b, as
// encoding/json writes it (object members sorted by name, the same string
// escapes and number forms) except that a float64 without a fraction is
// written with one (2.0, -3.0), so that it decodes as a float again. NaN
// and infinities cannot be written.
func AppendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendJSONString(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case Params:
		return AppendJSON(b, map[string]any(x))
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendJSONString(b, k), ':')
			var err error
			if b, err = AppendJSON(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = AppendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("db: %v cannot be written in JSON", x)
		}
		start := len(b)
		b = appendJSONFloat(b, x)
		if !bytes.ContainsAny(b[start:], ".eE") {
			b = append(b, ".0"...)
		}
		return b, nil
	}
	vb, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, vb...), nil
}

// appendJSONFloat writes f as encoding/json does (the ES6 number form).
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as encoding/json does: HTML characters, line
// and paragraph separators and control characters escaped, invalid UTF-8
// replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// CloneRun copies a run deeply enough that a change of the copy cannot
// reach the original's params, metrics and tags.
func CloneRun(r *Run) *Run {
	c := *r
	c.Params = map[string]any{}
	if r.Params != nil {
		c.Params = cloneJSON(r.Params).(map[string]any)
	}
	c.Metrics = make(Metrics, len(r.Metrics))
	for k, v := range r.Metrics {
		c.Metrics[k] = v
	}
	c.Tags = append([]string{}, r.Tags...)
	if r.Failure != nil {
		f := *r.Failure
		c.Failure = &f
	}
	c.KeyTags = cloneStrings(r.KeyTags)
	c.ParamText = cloneStrings(r.ParamText)
	return &c
}

// cloneJSON copies a normal-form value (maps and slices anew; the leaves
// are immutable).
func cloneJSON(v any) any {
	switch x := v.(type) {
	case Params:
		return cloneJSON(map[string]any(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneJSON(e)
		}
		return out
	}
	return v
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
