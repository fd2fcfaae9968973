package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/stackhub/stackhub/mixin"
)

func stackhubMixinSchema() (map[string]any, error) {
	var buf bytes.Buffer
	if err := mixin.New(nil, &buf, &buf).PrintSchema(); err != nil {
		return nil, fmt.Errorf("stackhub mixin schema: %w", err)
	}
	var s map[string]any
	if err := json.Unmarshal(buf.Bytes(), &s); err != nil {
		return nil, fmt.Errorf("stackhub mixin schema: %w", err)
	}
	return s, nil
}

// rewriteRefs points a mixin schema's "#/..." references at its copy under
// definitions.mixin.<name>, as Porter does.
func rewriteRefs(v any, name string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "$ref" {
				if s, ok := e.(string); ok && strings.HasPrefix(s, "#/") {
					x[k] = "#/definitions/mixin." + name + "/" + strings.TrimPrefix(s, "#/")
					continue
				}
			}
			x[k] = rewriteRefs(e, name)
		}
	case []any:
		for i, e := range x {
			x[i] = rewriteRefs(e, name)
		}
	}
	return v
}

// combineSchema builds porter.yaml's schema around the mixins' schemas:
// each action's steps are any of the mixins' steps for that action.
func combineSchema(mixins map[string]map[string]any) map[string]any {
	names := make([]string, 0, len(mixins))
	for n := range mixins {
		names = append(names, n)
	}
	sort.Strings(names)
	defs := map[string]any{}
	stepRefs := map[string][]any{"install": {}, "upgrade": {}, "uninstall": {}, "invoke": {}}
	var mixinNames []any
	for _, n := range names {
		s := rewriteRefs(mixins[n], n).(map[string]any)
		delete(s, "$schema")
		defs["mixin."+n] = s
		mixinNames = append(mixinNames, n)
		d, _ := s["definitions"].(map[string]any)
		for action, def := range map[string]string{"install": "installStep", "upgrade": "upgradeStep", "uninstall": "uninstallStep", "invoke": "invokeStep"} {
			if _, ok := d[def]; ok {
				stepRefs[action] = append(stepRefs[action], map[string]any{"$ref": "#/definitions/mixin." + n + "/definitions/" + def})
			}
		}
	}
	steps := func(action string) map[string]any {
		return map[string]any{"type": "array", "items": map[string]any{"anyOf": stepRefs[action]}, "description": "The steps to execute when " + action + " is run"}
	}
	namedList := func(desc string, props map[string]any) map[string]any {
		p := map[string]any{"name": map[string]any{"type": "string"}, "description": map[string]any{"type": "string"}}
		for k, v := range props {
			p[k] = v
		}
		return map[string]any{"type": "array", "description": desc, "items": map[string]any{
			"type": "object", "required": []any{"name"}, "properties": p, "additionalProperties": true}}
	}
	strList := map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
	str := map[string]any{"type": "string"}
	boolean := map[string]any{"type": "boolean"}
	return map[string]any{
		"$schema":     "http://json-schema.org/draft-07/schema#",
		"$id":         "https://porter.sh/schema/v1/manifest.schema.json",
		"title":       "Porter manifest json schema",
		"type":        "object",
		"definitions": defs,
		"required":    []any{"schemaVersion", "name", "mixins", "install", "uninstall"},
		"properties": map[string]any{
			"schemaType":    map[string]any{"type": "string", "enum": []any{"Bundle"}},
			"schemaVersion": map[string]any{"type": "string", "description": "The version of the bundle schema used in this file"},
			"name":          str, "version": str, "description": str, "registry": str, "reference": str, "dockerfile": str,
			"maintainers": map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
			"custom":      map[string]any{"type": "object", "additionalProperties": true},
			"required":    map[string]any{"type": "array", "items": map[string]any{"anyOf": []any{map[string]any{"type": "string", "enum": []any{"docker"}}, map[string]any{"type": "object"}}}},
			"mixins": map[string]any{"type": "array", "minItems": 1, "items": map[string]any{"anyOf": []any{
				map[string]any{"type": "string", "pattern": "^(" + joinAny(mixinNames) + ")(@.*)?$"},
				map[string]any{"type": "object", "minProperties": 1, "maxProperties": 1}}}},
			"parameters": namedList("Parameters of the bundle", map[string]any{"type": str, "default": map[string]any{}, "env": str, "path": str,
				"sensitive": boolean, "applyTo": strList, "source": map[string]any{"type": "object"}}),
			"credentials":  namedList("Credentials of the bundle", map[string]any{"env": str, "path": str, "required": boolean, "applyTo": strList}),
			"outputs":      namedList("Outputs of the bundle", map[string]any{"type": str, "path": str, "sensitive": boolean, "applyTo": strList}),
			"state":        namedList("State kept between runs", map[string]any{"path": str, "mixin": str}),
			"images":       map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "object", "required": []any{"repository"}}},
			"dependencies": map[string]any{"type": "object"},
			"customActions": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "object", "properties": map[string]any{
				"description": str, "modifies": boolean, "stateless": boolean}}},
			"install":   steps("install"),
			"upgrade":   steps("upgrade"),
			"uninstall": steps("uninstall"),
		},
		"additionalProperties": steps("invoke"),
	}
}

func joinAny(v []any) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, "|")
}
