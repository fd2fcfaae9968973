package manifest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"unicode/utf8"
)

// validTypes are the types a parameter or output may declare.
var validTypes = map[string]bool{
	"string": true, "integer": true, "number": true, "boolean": true,
	"object": true, "array": true, "file": true,
}

// checkSchema validates the schema keywords themselves.
func (s Schema) checkSchema() error {
	if !validTypes[s.Type] {
		return fmt.Errorf("unsupported type %q, expected one of string, integer, number, boolean, object, array or file", s.Type)
	}
	if s.Pattern != "" {
		if _, err := regexp.Compile(s.Pattern); err != nil {
			return fmt.Errorf("invalid pattern %q: %w", s.Pattern, err)
		}
	}
	if s.Minimum != nil && s.Maximum != nil && *s.Minimum > *s.Maximum {
		return fmt.Errorf("minimum %v is greater than maximum %v", *s.Minimum, *s.Maximum)
	}
	if s.MinLength != nil && s.MaxLength != nil && *s.MinLength > *s.MaxLength {
		return fmt.Errorf("minLength %d is greater than maxLength %d", *s.MinLength, *s.MaxLength)
	}
	return nil
}

// CheckValue validates v (as decoded from YAML or JSON) against the schema:
// type, enum, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
// minLength, maxLength and pattern. A file value must be "" or base64.
func (s Schema) CheckValue(v any) error {
	if err := checkType(s.Type, v); err != nil {
		return err
	}
	if len(s.Enum) > 0 {
		found := false
		for _, e := range s.Enum {
			if sameValue(e, v) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("%v is not one of the allowed values %v", v, s.Enum)
		}
	}
	if n, ok := toFloat(v); ok {
		switch {
		case s.Minimum != nil && n < *s.Minimum:
			return fmt.Errorf("%v is less than the minimum %v", v, *s.Minimum)
		case s.Maximum != nil && n > *s.Maximum:
			return fmt.Errorf("%v is greater than the maximum %v", v, *s.Maximum)
		case s.ExclusiveMinimum != nil && n <= *s.ExclusiveMinimum:
			return fmt.Errorf("%v must be greater than %v", v, *s.ExclusiveMinimum)
		case s.ExclusiveMaximum != nil && n >= *s.ExclusiveMaximum:
			return fmt.Errorf("%v must be less than %v", v, *s.ExclusiveMaximum)
		}
	}
	if str, ok := v.(string); ok && s.Type != "file" {
		n := utf8.RuneCountInString(str)
		switch {
		case s.MinLength != nil && n < *s.MinLength:
			return fmt.Errorf("%q is shorter than the minimum length %d", str, *s.MinLength)
		case s.MaxLength != nil && n > *s.MaxLength:
			return fmt.Errorf("%q is longer than the maximum length %d", str, *s.MaxLength)
		}
		if s.Pattern != "" {
			re, err := regexp.Compile(s.Pattern)
			if err != nil {
				return fmt.Errorf("invalid pattern %q: %w", s.Pattern, err)
			}
			if !re.MatchString(str) {
				return fmt.Errorf("%q does not match the pattern %q", str, s.Pattern)
			}
		}
	}
	return nil
}

func checkType(typ string, v any) error {
	ok := false
	switch typ {
	case "string":
		_, ok = v.(string)
	case "file":
		str, isStr := v.(string)
		if !isStr {
			break
		}
		if str != "" {
			if _, err := base64.StdEncoding.DecodeString(str); err != nil {
				return errors.New("a file default must be empty or base64 encoded")
			}
		}
		ok = true
	case "boolean":
		_, ok = v.(bool)
	case "integer":
		f, isNum := toFloat(v)
		ok = isNum && f == math.Trunc(f)
	case "number":
		_, ok = toFloat(v)
	case "object":
		_, ok = v.(map[string]any)
	case "array":
		_, ok = v.([]any)
	default:
		return fmt.Errorf("unsupported type %q", typ)
	}
	if !ok {
		return fmt.Errorf("%v (%T) is not of type %s", v, v, typ)
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}

func sameValue(a, b any) bool {
	fa, okA := toFloat(a)
	fb, okB := toFloat(b)
	if okA && okB {
		return fa == fb
	}
	return reflect.DeepEqual(a, b)
}
