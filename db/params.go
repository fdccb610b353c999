package db

import (
	"fmt"
	"sort"
	"strings"
)

// A dot in a param name separates levels: {"model.lr": 0.1} and
// {"model": {"lr": 0.1}} are the same param, model.lr, to queries and
// lists of names. A run keeps its params as sent; ExpandParams gives the
// nested form, which the query values (RunValues) and the hosted
// adapter's query view are built from.

// ExpandParams returns params with every dotted name turned into nested
// objects ({"a.b": 1} → {"a": {"b": 1}}), objects that meet merged, and
// objects inside arrays expanded too. Params without a dotted name come
// back as they are (not copied). Two names that reach the same path, or a
// value where another name needs an object, are an error naming the path.
func ExpandParams(params map[string]any) (map[string]any, error) {
	if !HasDottedName(params) {
		return params, nil
	}
	out := map[string]any{}
	if err := expandInto(out, "", params); err != nil {
		return nil, err
	}
	return out, nil
}

// HasDottedName reports whether a name in v (an object, or objects in
// arrays) holds a dot.
func HasDottedName(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, ".") || HasDottedName(e) {
				return true
			}
		}
	case Params:
		return HasDottedName(map[string]any(x))
	case []any:
		for _, e := range x {
			if HasDottedName(e) {
				return true
			}
		}
	}
	return false
}

// expandInto adds the members of src, expanded, to dst (the object at
// path prefix).
func expandInto(dst map[string]any, prefix string, src map[string]any) error {
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		levels := strings.Split(k, ".")
		at, path := dst, prefix
		for _, level := range levels[:len(levels)-1] {
			path = join(path, level)
			switch x := at[level].(type) {
			case nil:
				if _, taken := at[level]; taken {
					return fmt.Errorf("the param %s is given twice", path)
				}
				m := map[string]any{}
				at[level] = m
				at = m
			case map[string]any:
				at = x
			default:
				return fmt.Errorf("the param %s is given twice", path)
			}
		}
		last := levels[len(levels)-1]
		path = join(path, last)
		value := src[k]
		old, taken := at[last]
		if obj, ok := value.(map[string]any); ok {
			if !taken {
				m := map[string]any{}
				at[last] = m
				old = m
			}
			m, isObj := old.(map[string]any)
			if !isObj {
				return fmt.Errorf("the param %s is given twice", path)
			}
			if err := expandInto(m, path, obj); err != nil {
				return err
			}
			continue
		}
		if taken {
			return fmt.Errorf("the param %s is given twice", path)
		}
		v, err := expandValue(path, value)
		if err != nil {
			return err
		}
		at[last] = v
	}
	return nil
}

// expandValue expands the objects inside an array (queries do not walk
// arrays, but a hosted store keeps no dotted names).
func expandValue(path string, v any) (any, error) {
	arr, ok := v.([]any)
	if !ok || !HasDottedName(arr) {
		return v, nil
	}
	out := make([]any, len(arr))
	for i, e := range arr {
		at := fmt.Sprintf("%s[%d]", path, i)
		switch x := e.(type) {
		case map[string]any:
			m := map[string]any{}
			if err := expandInto(m, at, x); err != nil {
				return nil, err
			}
			out[i] = m
		default:
			var err error
			if out[i], err = expandValue(at, x); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
