package runs

import (
	"strings"
	"unicode/utf8"

	"labreview/db"
)

// Names of params, metrics and series (docs/ingest.md, "Names").
//
// A name is 1 to MaxKeyLength characters of letters, marks, digits,
// punctuation, symbols and the space: val.loss, train/loss, acc@5,
// layer:0 weight, Verlust (ü). Control and format characters are refused,
// and so is a leading $ (the server's own series, the run's clock, is
// $time; MongoDB reads a leading $ as an operator).
//
// In params a dot separates levels: {"model.lr": 0.1} and {"model":
// {"lr": 0.1}} are the same param to queries (params.model.lr) and are
// shown as sent. So a param name neither starts nor ends with a dot, holds
// no two dots in a row, no level starts with $, and no two names of a
// run's params may reach the same path (db.ExpandParams).

// NameProblem says what is wrong with a metric or series name ("" when
// nothing is).
func NameProblem(name string) string {
	switch {
	case name == "":
		return "a name is 1 to 200 characters; this one is empty"
	case !utf8.ValidString(name):
		return "a name is UTF-8 text"
	case utf8.RuneCountInString(name) > MaxKeyLength:
		return "a name is at most 200 characters"
	case !printable(name):
		return "a name holds no control or format characters (tabs, line breaks, zero-width characters)"
	case strings.HasPrefix(name, "$"):
		return "a name does not start with $"
	}
	return ""
}

// ParamNameProblem is NameProblem for a param name, with the rules of
// dots.
func ParamNameProblem(name string) string {
	if p := NameProblem(name); p != "" {
		return p
	}
	for _, level := range strings.Split(name, ".") {
		switch {
		case level == "":
			return "a dot separates levels of a param name: it does not start or end one, and two dots do not follow each other"
		case strings.HasPrefix(level, "$"):
			return "no level of a param name starts with $"
		}
	}
	return ""
}

// checkName checks a metric or series name for field.
func checkName(field, name string) error {
	if p := NameProblem(name); p != "" {
		return invalid(field, "%s (%q).", capitalize(p), truncate(name, 40))
	}
	return nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// checkParamNames checks every name of a params object and that no two
// reach the same path.
func checkParamNames(params map[string]any) error {
	var walk func(v any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if p := ParamNameProblem(k); p != "" {
					return invalid("params", "%s (%q).", capitalize(p), truncate(k, 40))
				}
				if err := walk(e); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(params); err != nil {
		return err
	}
	if _, err := db.ExpandParams(params); err != nil {
		return invalid("params", "%s.", capitalize(err.Error()))
	}
	return nil
}
