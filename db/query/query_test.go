package query

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestParseValid(t *testing.T) {
	cases := map[string]string{
		`project = "sweep-12"`:                     `project = "sweep-12"`,
		`project = sweep-12`:                       `project = "sweep-12"`,
		`status in (failed, stale)`:                `status in ("failed", "stale")`,
		`status = running and metrics.loss < 1e-3`: `status = "running" and metrics.loss < 0.001`,
		`a_b`: ``, // replaced below: unknown field
		`review = outdated or review = unreviewed and tag = x`:                      `review = "outdated" or review = "unreviewed" and tag = "x"`,
		`(review = outdated or review = unreviewed) and tag = x`:                    `(review = "outdated" or review = "unreviewed") and tag = "x"`,
		`not metrics.acc >= 0.9`:                                                    `not metrics.acc >= 0.9`,
		`NOT (params.optimizer.name = adam OR params.lr > 0.1)`:                     `not (params.optimizer.name = "adam" or params.lr > 0.1)`,
		`params.use_bn = true and params.layers exists`:                             `params.use_bn = true and params.layers exists`,
		`created > -7d and started <= 2026-11-01`:                                   `created > 2026-11-22T12:00:00Z and started <= 2026-11-01T00:00:00Z`,
		`finished < 2026-11-29T10:30:00Z`:                                           `finished < 2026-11-29T10:30:00Z`,
		`duration > 1.5h and duration <= 7200`:                                      `duration > 5400 and duration <= 7200`,
		`min(loss) < 0.01 and count(loss) >= 1000 and last("val loss") > -Infinity`: `min(loss) < 0.01 and count(loss) >= 1000 and last("val loss") > -Infinity`,
		`metrics.grad = NaN or metrics.ratio = Infinity`:                            `metrics.grad = NaN or metrics.ratio = Infinity`,
		`name ~ 'lr scan' and notes ~ "it's \"fine\""`:                              `name ~ "lr scan" and notes ~ "it's \"fine\""`,
		`reviewer = "6b0a0000aaaabbbbccccdddd"`:                                     `reviewer = "6b0a0000aaaabbbbccccdddd"`,
		`host != node-3 and metrics.x in (1, 2.5, -3e2)`:                            `host != "node-3" and metrics.x in (1, 2.5, -300)`,
		"  \n": ``,
		// Any name is reached by quoting it; names that need no quotes
		// are written bare.
		`metrics."val.loss" < 0.3`:                             `metrics.val.loss < 0.3`,
		`metrics.val.loss < 0.3`:                               `metrics.val.loss < 0.3`,
		`metrics."train/loss" < 1 and metrics.'acc@5' > 0`:     `metrics."train/loss" < 1 and metrics."acc@5" > 0`,
		`params.model."opt lr" = 1`:                            `params.model."opt lr" = 1`,
		`params."model.lr" > 0`:                                `params.model.lr > 0`,
		`min("val.loss") < 1 and last("train/loss") < 2`:       `min(val.loss) < 1 and last("train/loss") < 2`,
		`failure.reason ~ "NaN loss" or failure.reason exists`: `failure.reason ~ "NaN loss" or failure.reason exists`,
		`metrics."Verlust (ü)" exists`:                         `metrics."Verlust (ü)" exists`,
	}
	delete(cases, "a_b")
	for src, want := range cases {
		n, err := Parse(src, now)
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		got := ""
		if n != nil {
			got = n.String()
		}
		if got != want {
			t.Errorf("%q:\n got %s\nwant %s", src, got, want)
		}
		// The printed form parses to the same tree.
		if n != nil {
			again, err := Parse(got, now)
			if err != nil || again.String() != got {
				t.Errorf("%q does not round-trip: %v %v", got, again, err)
			}
		}
	}
}

func TestParseTree(t *testing.T) {
	n, err := Parse(`a_param_free = 1`, now)
	if err == nil {
		t.Fatalf("unknown field accepted: %v", n)
	}
	n, err = Parse(`project = p and (status = failed or not metrics.loss < 1)`, now)
	if err != nil {
		t.Fatal(err)
	}
	and, ok := n.(*And)
	if !ok || len(and.Terms) != 2 {
		t.Fatalf("top: %#v", n)
	}
	or, ok := and.Terms[1].(*Or)
	if !ok || len(or.Terms) != 2 {
		t.Fatalf("or: %#v", and.Terms[1])
	}
	not, ok := or.Terms[1].(*Not)
	if !ok {
		t.Fatalf("not: %#v", or.Terms[1])
	}
	c := not.X.(*Cond)
	if c.Field.Kind != FieldMetric || c.Field.Name != "loss" || c.Op != OpLt || c.Values[0].Num != 1 || c.Pos != 40 {
		t.Fatalf("cond: %+v", c)
	}
	n, _ = Parse(`metrics.x = -Infinity`, now)
	if v := n.(*Cond).Values[0].Num; !math.IsInf(v, -1) {
		t.Fatalf("-Infinity: %v", v)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		src    string
		column int
		says   string
	}{
		{`project =`, 10, "expected a value, found the end of the query"},
		{`project = "open`, 11, "no closing"},
		{`status = done`, 1, "status is one of queued, running, succeeded, failed, cancelled, stale"},
		{`status < running`, 1, "status takes = != in, not <"},
		{`colour = red`, 1, `unknown field "colour"`},
		{`metrics."" > 1`, 1, `"metrics." is not a metrics name (the name is empty)`},
		{`params.a."$where" = 1`, 1, `is not a params name (no level starts with $)`},
		{`params."a..b" = 1`, 1, `is not a params name (a dot separates levels`},
		{`metrics."a\nb" > 1`, 1, `names hold no control characters`},
		{`failure.detail ~ x`, 1, `unknown field "failure.detail"`},
		{`params. = 1`, 1, "is not a params name"},
		{`metrics.loss < "low"`, 1, "compares with a number"},
		{`created > yesterday`, 1, "compares with a date"},
		{`created > 7d`, 11, "is a length of time"},
		{`project = a or`, 15, "expected a field"},
		{`project = a b = c`, 13, `expected "and", "or" or the end of the query, found "b"`},
		{`(project = a`, 13, `expected ")"`},
		{`project ! a`, 9, `"!" must be followed by "="`},
		{`project = a;`, 12, `unexpected ';'`},
		{`name ~ ""`, 1, "needs some text"},
		{`params.x ~ 3`, 1, "~ looks for text"},
		{`params.flag > true`, 1, "no order"},
		{`metrics.x in (1, 2`, 19, `expected "," or ")"`},
		{`min(loss < 1`, 10, `expected ")"`},
		{`notes = "a\q"`, 11, `unknown escape`},
		{`metrics.x = 12abc`, 13, `is not a number`},
		{`status = and`, 10, "expected a value"},
		{`project = 'é' and x = 1`, 19, `unknown field "x"`},
	}
	for _, tc := range cases {
		_, err := Parse(tc.src, now)
		var qe *Error
		if !errors.As(err, &qe) {
			t.Errorf("%q: %v, want a query error", tc.src, err)
			continue
		}
		if qe.Column != tc.column || !strings.Contains(qe.Message, tc.says) {
			t.Errorf("%q: column %d %q; want column %d and %q", tc.src, qe.Column, qe.Message, tc.column, tc.says)
		}
	}
}

func TestParseLimits(t *testing.T) {
	if _, err := Parse(strings.Repeat(" ", MaxLength+1), now); err == nil {
		t.Error("an over-long query was accepted")
	}
	many := strings.TrimSuffix(strings.Repeat("metrics.x > 1 and ", MaxConditions+1), " and ")
	if _, err := Parse(many, now); err == nil || !strings.Contains(err.Error(), "at most 50 conditions") {
		t.Errorf("too many conditions: %v", err)
	}
	deep := strings.Repeat("(", MaxDepth+2) + "project = a" + strings.Repeat(")", MaxDepth+2)
	if _, err := Parse(deep, now); err == nil || !strings.Contains(err.Error(), "nest at most") {
		t.Errorf("too deep: %v", err)
	}
	nots := strings.Repeat("not ", MaxDepth+2) + "project = a"
	if _, err := Parse(nots, now); err == nil {
		t.Error("too many nots accepted")
	}
	list := "metrics.x in (" + strings.TrimSuffix(strings.Repeat("1,", MaxInValues+1), ",") + ")"
	if _, err := Parse(list, now); err == nil {
		t.Error("an over-long list was accepted")
	}
	if _, err := Parse("project = \xff", now); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
}

// TestInjectionStaysInert: what would be operators or SQL elsewhere is a
// syntax error or a plain typed value here.
func TestInjectionStaysInert(t *testing.T) {
	for _, src := range []string{
		`project = "x'; DROP TABLE runs; --"`,
		`project = "{\"$ne\": null}"`,
		`params.lr = "1 OR 1=1"`,
		`name ~ "%_' OR '1'='1"`,
	} {
		n, err := Parse(src, now)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		c := n.(*Cond)
		if c.Values[0].Kind != ValueText {
			t.Fatalf("%q: value %+v is not text", src, c.Values[0])
		}
	}
	for _, src := range []string{
		`project; DROP TABLE runs`, `$where = 1`, `params.$gt = 1`, `metrics.$where > 1`, `project = x) or (1=1`,
		`project = x -- comment`, `params.a/*b*/ = 1`, `{"project": {"$ne": null}}`,
		`last("a\tb") > 1`, `min("$gt") < 1`, `count("") > 1`, `metrics."$where" > 1`, `params.a."$gt" = 1`,
	} {
		if _, err := Parse(src, now); err == nil {
			t.Errorf("%q was accepted", src)
		}
	}
}
