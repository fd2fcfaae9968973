package sets

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ParseAssignment splits a --param or --cred flag value NAME=VALUE; the
// value is trimmed of surrounding space, as Porter does.
func ParseAssignment(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", "", fmt.Errorf("invalid value %q: use NAME=VALUE", s)
	}
	return name, strings.TrimSpace(value), nil
}

// yamlToJSON encodes a non-string YAML value (schema 1.1.0 parameter sets
// allow them) as JSON text; numbers and booleans print plainly.
func yamlToJSON(v any) (string, error) {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	b, err := json.Marshal(normalize(v))
	if err != nil {
		return "", fmt.Errorf("encode value: %w", err)
	}
	return string(b), nil
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := map[string]any{}
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}
