package db

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestAppendJSONIsEncodingJSON: AppendJSON writes what encoding/json
// writes, but for whole floats, which keep a fraction.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", `quo"te \\ back`, "<b>&amp;</b>", "line\nbreak\ttab\r\x00\x1f\x7f", "é ü 数字 😀",
		"bad \xff utf8", "sep \u2028 \u2029", strings.Repeat("x", 300)}
	floats := []float64{0.5, -0.25, 1e-7, 1.5e-6, 123456.789, 1e15 + 0.5, -3.1e-300, 1e300 * 1.5, math.SmallestNonzeroFloat64}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		f := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) && f != math.Trunc(f) {
			floats = append(floats, f)
		}
	}
	v := map[string]any{}
	for i, s := range strs {
		v[s] = s
		v["n"+s] = []any{int64(i), nil, true, false, map[string]any{s: int64(-i)}}
	}
	for i, f := range floats {
		v["f"+string(rune('a'+i%26))+strings.Repeat("_", i/26)] = f
	}
	got, err := AppendJSON(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(v)
	if string(got) != string(want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("differs at %d:\n got …%s\nwant …%s", i, got[max(0, i-40):min(len(got), i+40)], want[max(0, i-40):min(len(want), i+40)])
			}
		}
		t.Fatalf("lengths %d and %d", len(got), len(want))
	}
	for f, wantText := range map[float64]string{2: "2.0", -3: "-3.0", 0: "0.0", 1e21: "1e+21", 1e20: "100000000000000000000.0", 1e-7: "1e-7"} {
		if got, _ := AppendJSON(nil, f); string(got) != wantText {
			t.Errorf("%v: %s, want %s", f, got, wantText)
		}
	}
	if _, err := AppendJSON(nil, math.NaN()); err == nil {
		t.Error("NaN was written")
	}
}
