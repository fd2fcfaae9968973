// Package template renders the mustache templates of Porter manifests
// ({{ bundle.x }} for schema 1.0.0-alpha.1, ${ bundle.x } afterwards), lists
// the variables a template references and masks sensitive values in output
// streams. It is the only package that imports the mustache engine; it must
// not import Docker, cnab-go, SQL or other StackHub packages.
package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/cbroglie/mustache"
)

// DollarDelimiters is the set-delimiter tag Porter prepends to templates of
// manifests newer than 1.0.0-alpha.1 so that tags read ${ name }.
const DollarDelimiters = "{{=${ }=}}\n"

// ErrMissingVariable is wrapped by the error Render returns when the template
// references a variable absent from the data.
var ErrMissingVariable = errors.New("missing variable")

func init() {
	// Porter renders with AllowMissingVariables=false: a missing variable is
	// an error, not an empty string. The setting is a package global of the
	// mustache module, which is why only this package may import it.
	mustache.AllowMissingVariables = false
}

// noPartials resolves every partial tag to an empty template, so that a
// template can never read files from the disk ({{> /etc/passwd }}).
var noPartials = &mustache.StaticProvider{}

func parse(tmpl string, dollar bool) (*mustache.Template, error) {
	if dollar {
		tmpl = DollarDelimiters + tmpl
	}
	t, err := mustache.ParseStringPartialsRaw(tmpl, noPartials, true)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	return t, nil
}

// Render renders tmpl with data in raw mode (no HTML escaping). With dollar
// the tags are ${ name } ({{ is then literal text); otherwise {{ name }}.
// ${{ name }} (or {{{ name }}}) is the unescaped form and renders the same.
// Maps and slices in data render as compact JSON when referenced whole, and
// their fields stay addressable (${ bundle.parameters.cfg.name }). A
// variable missing from data is an error wrapping ErrMissingVariable that
// names the full dotted path.
func Render(tmpl string, data map[string]any, dollar bool) (string, error) {
	t, err := parse(tmpl, dollar)
	if err != nil {
		return "", err
	}
	ctx := jsonify(data)
	for _, tag := range t.Tags() {
		if tag.Type() != mustache.Variable || tag.Name() == "." {
			continue
		}
		if !resolves(ctx, tag.Name()) {
			return "", fmt.Errorf("render template: %w %q", ErrMissingVariable, tag.Name())
		}
	}
	out, err := t.Render(ctx)
	if err != nil {
		if strings.HasPrefix(err.Error(), "missing variable") {
			return "", fmt.Errorf("render template: %w: %w", ErrMissingVariable, err)
		}
		return "", fmt.Errorf("render template: %w", err)
	}
	return out, nil
}

// Variables returns the sorted, de-duplicated names of the variables and
// sections tmpl references (e.g. bundle.parameters.port). Names inside a
// section are listed as written, relative to the section.
func Variables(tmpl string, dollar bool) ([]string, error) {
	t, err := parse(tmpl, dollar)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var walk func(tags []mustache.Tag)
	walk = func(tags []mustache.Tag) {
		for _, tag := range tags {
			switch tag.Type() {
			case mustache.Variable:
				seen[tag.Name()] = true
			case mustache.Section, mustache.InvertedSection:
				seen[tag.Name()] = true
				walk(tag.Tags())
			}
		}
	}
	walk(t.Tags())
	delete(seen, ".")
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// jsonMap and jsonList render as compact JSON when a template references the
// whole value; mustache still walks into them by key and index.
type (
	jsonMap  map[string]any
	jsonList []any
)

func (m jsonMap) String() string  { return compactJSON(map[string]any(m)) }
func (l jsonList) String() string { return compactJSON([]any(l)) }

func compactJSON(v any) string {
	b, err := json.Marshal(unjsonify(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// jsonify copies data, turning map[string]any and []any into their
// JSON-rendering named types.
func jsonify(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(jsonMap, len(t))
		for k, e := range t {
			out[k] = jsonify(e)
		}
		return out
	case []any:
		out := make(jsonList, len(t))
		for i, e := range t {
			out[i] = jsonify(e)
		}
		return out
	default:
		return v
	}
}

func unjsonify(v any) any {
	switch t := v.(type) {
	case jsonMap:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = unjsonify(e)
		}
		return out
	case jsonList:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = unjsonify(e)
		}
		return out
	default:
		return v
	}
}

// resolves reports whether the dotted path names a value in ctx, following
// mustache's lookup rules: methods without arguments, pointers and
// interfaces, map keys and struct fields.
func resolves(ctx any, path string) bool {
	v := reflect.ValueOf(ctx)
	for _, part := range strings.Split(path, ".") {
		next, ok := lookupPart(v, part)
		if !ok {
			return false
		}
		v = next
	}
	return true
}

func lookupPart(v reflect.Value, name string) (reflect.Value, bool) {
	for v.IsValid() {
		if m, ok := v.Type().MethodByName(name); ok && m.Type.NumIn() == 1 {
			return v.Method(m.Index).Call(nil)[0], true
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			v = v.Elem()
		case reflect.Map:
			if v.Type().Key().Kind() != reflect.String {
				return reflect.Value{}, false
			}
			e := v.MapIndex(reflect.ValueOf(name).Convert(v.Type().Key()))
			return e, e.IsValid()
		case reflect.Struct:
			f := v.FieldByName(name)
			return f, f.IsValid()
		default:
			return reflect.Value{}, false
		}
	}
	return reflect.Value{}, false
}
