package query

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// check applies the type rules: which operators and values each field
// takes.
func check(c *Cond) error {
	typ := c.Field.Type()
	ops := map[Type][]Op{
		TypeText:   {OpEq, OpNe, OpContains, OpIn},
		TypeEnum:   {OpEq, OpNe, OpIn},
		TypeTime:   {OpLt, OpLe, OpGt, OpGe},
		TypeNumber: {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn, OpExists},
		TypeAny:    {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpContains, OpIn, OpExists},
	}[typ]
	switch c.Field.Kind {
	case FieldTag, FieldNotes, FieldFailure:
		ops = append(ops, OpExists)
	case FieldStarted, FieldFinished:
		ops = append(ops, OpExists)
	case FieldDuration:
		ops = slices.DeleteFunc(slices.Clone(ops), func(o Op) bool { return o == OpExists })
	}
	if !slices.Contains(ops, c.Op) {
		names := make([]string, len(ops))
		for i, o := range ops {
			names[i] = string(o)
		}
		return fmt.Errorf("%s takes %s, not %s", c.Field, strings.Join(names, " "), c.Op)
	}
	for i, v := range c.Values {
		nv, err := checkValue(c.Field, typ, c.Op, v)
		if err != nil {
			return err
		}
		c.Values[i] = nv
	}
	return nil
}

func checkValue(f Field, typ Type, op Op, v Value) (Value, error) {
	switch typ {
	case TypeText:
		if v.Kind != ValueText {
			return v, fmt.Errorf("%s compares with text: write %s in quotes", f, v)
		}
	case TypeEnum:
		if v.Kind != ValueText || !slices.Contains(Enums[f.Kind], v.Text) {
			return v, fmt.Errorf("%s is one of %s, not %s", f, strings.Join(Enums[f.Kind], ", "), v)
		}
	case TypeTime:
		if v.Kind != ValueTime {
			return v, fmt.Errorf("%s compares with a date (2026-11-29), a time (2026-11-29T14:30:00Z) or a time ago (-7d, -12h), not %s", f, v)
		}
	case TypeNumber:
		if v.Kind != ValueNumber {
			return v, fmt.Errorf("%s compares with a number, not %s", f, v)
		}
	case TypeAny:
		if op == OpContains && v.Kind != ValueText {
			return v, errors.New("~ looks for text: write the text in quotes")
		}
		if (op == OpLt || op == OpLe || op == OpGt || op == OpGe) && v.Kind == ValueBool {
			return v, fmt.Errorf("%s: true and false have no order", f)
		}
	}
	if op == OpContains && v.Text == "" {
		return v, errors.New("~ needs some text to look for")
	}
	return v, nil
}
