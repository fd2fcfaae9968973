package catalog

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/stackhub/stackhub/engine/manifest"
)

// Param describes one parameter of an app for a generated form: its JSON
// schema keywords plus whether it is sensitive, generated or required.
type Param struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Description is the manifest's (English) description; Descriptions
	// adds the Chinese one from custom.stackhub.parameters.<name>.zh.
	Description  string   `json:"description,omitempty"`
	Descriptions Text     `json:"descriptions"`
	Default      any      `json:"default,omitempty"`
	Enum         []any    `json:"enum,omitempty"`
	Minimum      *float64 `json:"minimum,omitempty"`
	Maximum      *float64 `json:"maximum,omitempty"`
	MinLength    *int     `json:"minLength,omitempty"`
	MaxLength    *int     `json:"maxLength,omitempty"`
	Pattern      string   `json:"pattern,omitempty"`
	Sensitive    bool     `json:"sensitive"`
	// Generated marks a parameter a stackhub step's secret takes its value
	// from: left empty, the mixin generates it on the first install and
	// the installation keeps it over upgrades (source.output).
	Generated bool `json:"generated"`
	// Required parameters have no default: an install must give them.
	Required bool `json:"required"`
	// ApplyTo lists the actions the parameter is used by; empty means all.
	ApplyTo []string `json:"applyTo,omitempty"`
}

// Output describes one output of an app.
type Output struct {
	Name         string `json:"name"`
	Description  string `json:"description,omitempty"`
	Descriptions Text   `json:"descriptions"`
	Sensitive    bool   `json:"sensitive"`
}

// zhText returns custom.stackhub.<section>.<name>.zh.
func zhText(m *manifest.Manifest, section, name string) string {
	sh, _ := m.Custom[Key].(map[string]any)
	sec, _ := sh[section].(map[string]any)
	entry, _ := sec[name].(map[string]any)
	return str(entry["zh"])
}

// paramRef matches a template naming a parameter: ${ bundle.parameters.x }
// or {{ bundle.parameters.x }}.
var paramRef = regexp.MustCompile(`^\s*(?:\$\{|\{\{)\s*bundle\.parameters\.([A-Za-z0-9_-]+)\s*(?:\}|\}\})\s*$`)

// Params describes the manifest's parameters in order. Porter-internal
// ones (porter-*) are left out.
func Params(m *manifest.Manifest) []Param {
	generated := GeneratedParams(m)
	out := make([]Param, 0, len(m.Parameters))
	for _, p := range m.Parameters {
		if strings.HasPrefix(p.Name, "porter-") || strings.HasPrefix(p.Name, "porter_") {
			continue
		}
		typ := p.Type
		if typ == "" {
			typ = "string"
			if p.Path != "" {
				typ = "file"
			}
		}
		q := Param{Name: p.Name, Type: typ, Description: p.Description, Enum: p.Enum, Minimum: p.Minimum,
			Descriptions: Text{En: p.Description, Zh: zhText(m, "parameters", p.Name)},
			Maximum:      p.Maximum, MinLength: p.MinLength, MaxLength: p.MaxLength, Pattern: p.Pattern,
			Sensitive: p.Sensitive, Generated: generated[p.Name], Required: !p.HasDefault, ApplyTo: p.ApplyTo}
		if p.HasDefault {
			q.Default = p.Default
		}
		out = append(out, q)
	}
	return out
}

// GeneratedParams returns the parameters whose value a stackhub step's
// secret takes (secrets: [{value: "${ bundle.parameters.x }"}]).
func GeneratedParams(m *manifest.Manifest) map[string]bool {
	out := map[string]bool{}
	for _, steps := range m.Actions {
		for _, s := range steps {
			if s.Mixin != "stackhub" {
				continue
			}
			list, _ := s.Data["secrets"].([]any)
			for _, item := range list {
				sec, _ := item.(map[string]any)
				if g := paramRef.FindStringSubmatch(fmt.Sprint(sec["value"])); g != nil {
					out[g[1]] = true
				}
			}
		}
	}
	return out
}

// Outputs describes the manifest's outputs in order, Porter-internal ones
// left out.
func Outputs(m *manifest.Manifest) []Output {
	out := make([]Output, 0, len(m.Outputs))
	for _, o := range m.Outputs {
		if strings.HasPrefix(o.Name, "porter-") {
			continue
		}
		out = append(out, Output{Name: o.Name, Description: o.Description, Sensitive: o.Sensitive,
			Descriptions: Text{En: o.Description, Zh: zhText(m, "outputs", o.Name)}})
	}
	return out
}
