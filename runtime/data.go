package runtime

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/stackhub/stackhub/engine/manifest"
	"github.com/stackhub/stackhub/engine/template"
)

// templateData is the data model of one step's template (porter-compat.md
// 2.2) and the values to mask while the step runs (2.3).
type templateData struct {
	data    map[string]any
	secrets []string
}

func (r *run) addSecret(list *[]string, v string) {
	if strings.TrimSpace(v) == "" {
		return
	}
	for _, s := range *list {
		if s == v {
			return
		}
	}
	*list = append(*list, v)
}

// buildData builds the template data from the environment, the manifest,
// bundle.json and the step outputs collected so far.
func (r *run) buildData() (templateData, error) {
	var secrets []string
	env := map[string]any{}
	for k, v := range r.env {
		env[k] = v
	}

	bun := map[string]any{
		"name":           r.m.Name,
		"version":        r.m.Version,
		"description":    r.m.Description,
		"installerImage": r.installerImage,
		"custom":         custom(r.m.Custom),
		"images":         r.images,
	}

	params := map[string]any{}
	for _, p := range r.m.Parameters {
		if !manifest.AppliesTo(p.ApplyTo, r.action) {
			continue
		}
		v, raw, err := r.parameterValue(p)
		if err != nil {
			return templateData{}, err
		}
		params[p.Name] = v
		if p.Sensitive {
			r.addSecret(&secrets, raw)
			for _, s := range objectSecrets(v) {
				r.addSecret(&secrets, s)
			}
		}
	}
	bun["parameters"] = params

	creds := map[string]any{}
	for _, c := range r.m.Credentials {
		if !manifest.AppliesTo(c.ApplyTo, r.action) {
			continue
		}
		var v string
		switch {
		case c.Env != "":
			v = r.env[c.Env]
		case c.Path != "":
			v = r.paths.Host(manifest.ResolvePath(c.Path))
		default:
			return templateData{}, fmt.Errorf("credential: %s is malformed", c.Name)
		}
		creds[c.Name] = v
		r.addSecret(&secrets, v)
	}
	bun["credentials"] = creds

	outputs := map[string]any{}
	for name, v := range r.stepOutputs {
		outputs[name] = v
		if o, ok := r.output(name); ok && !o.Sensitive {
			continue
		}
		// Step-only outputs are always masked.
		r.addSecret(&secrets, v)
	}
	templated, depTemplated := r.templatedOutputs()
	for _, name := range templated {
		if v, ok := r.stepOutputs[name]; ok && v != "" {
			continue
		}
		v, ok := r.wiredValue("porter-"+name+"-output", "PORTER_"+manifest.EnvName(name)+"_OUTPUT")
		if !ok {
			continue
		}
		outputs[name] = v
		if o, ok := r.output(name); ok && o.Sensitive {
			r.addSecret(&secrets, v)
		}
	}
	bun["outputs"] = outputs

	deps := map[string]any{}
	if r.m.Dependencies != nil {
		for _, d := range r.m.Dependencies.Requires {
			db := r.deps[d.Name]
			entry := map[string]any{"outputs": map[string]any{}}
			if db != nil {
				entry["name"], entry["version"], entry["description"] = db.Name, db.Version, db.Description
			}
			deps[d.Name] = entry
		}
	}
	for _, ref := range depTemplated {
		entry, ok := deps[ref.dep].(map[string]any)
		if !ok {
			continue
		}
		v, ok := r.wiredValue("porter-"+ref.dep+"-"+ref.output+"-dep-output",
			"PORTER_"+manifest.EnvName(ref.dep)+"_"+manifest.EnvName(ref.output)+"_DEP_OUTPUT")
		if !ok {
			continue
		}
		entry["outputs"].(map[string]any)[ref.output] = v
		if db := r.deps[ref.dep]; db != nil && db.outputWriteOnly(ref.output) {
			r.addSecret(&secrets, v)
		}
	}
	bun["dependencies"] = deps

	data := map[string]any{
		"installation": map[string]any{
			"name":      r.env["PORTER_INSTALLATION_NAME"],
			"namespace": r.env["PORTER_INSTALLATION_NAMESPACE"],
			"id":        r.env["PORTER_INSTALLATION_ID"],
		},
		"bundle": bun,
		"env":    env,
	}
	return templateData{data: data, secrets: secrets}, nil
}

// parameterValue returns a parameter's template value and its raw text: the
// env var's content if it has one (parsed JSON for objects), else its path.
func (r *run) parameterValue(p manifest.Parameter) (any, string, error) {
	env := p.Env
	if env == "" && p.Path == "" {
		env = manifest.EnvName(p.Name)
	}
	if env == "" {
		path := r.paths.Host(manifest.ResolvePath(p.Path))
		return path, path, nil
	}
	raw := r.env[env]
	if p.Type != "object" {
		return raw, raw, nil
	}
	if strings.TrimSpace(raw) == "" || raw == "null" {
		return map[string]any{}, raw, nil
	}
	var obj any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return nil, raw, fmt.Errorf("parameter %s is not a valid JSON object: %w", p.Name, err)
	}
	return obj, raw, nil
}

// objectSecrets lists the leaves and nested JSON fragments of an object
// parameter's value, so that no part of a sensitive object is displayed.
func objectSecrets(v any) []string {
	var out []string
	var walk func(v any, top bool)
	walk = func(v any, top bool) {
		switch t := v.(type) {
		case map[string]any:
			if !top {
				b, _ := json.Marshal(t)
				out = append(out, string(b))
			}
			for _, e := range t {
				walk(e, false)
			}
		case []any:
			if !top {
				b, _ := json.Marshal(t)
				out = append(out, string(b))
			}
			for _, e := range t {
				walk(e, false)
			}
		case nil:
		case string:
			out = append(out, t)
		default:
			out = append(out, fmt.Sprint(t))
		}
	}
	switch v.(type) {
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		out = append(out, string(b))
		walk(v, true)
	}
	return out
}

// wiredValue reads an output injected by the host through a wiring
// parameter: bundle.json names its env var (falling back to Porter's
// naming), and a wiring parameter that does not apply to the action is
// ignored.
func (r *run) wiredValue(param, fallbackEnv string) (string, bool) {
	env := fallbackEnv
	if p, ok := r.bundle.Parameters[param]; ok {
		if !manifest.AppliesTo(p.ApplyTo, r.action) {
			return "", false
		}
		if e := p.env(); e != "" {
			env = e
		}
	}
	v, ok := r.env[env]
	return v, ok
}

type depOutputRef struct{ dep, output string }

// templatedOutputs lists the bundle outputs and dependency outputs that the
// manifest's templates reference.
func (r *run) templatedOutputs() ([]string, []depOutputRef) {
	seenOut := map[string]bool{}
	seenDep := map[depOutputRef]bool{}
	for _, v := range r.templateVariables() {
		if rest, ok := strings.CutPrefix(v, "bundle.outputs."); ok {
			name, _, _ := strings.Cut(rest, ".")
			seenOut[name] = true
			continue
		}
		if rest, ok := strings.CutPrefix(v, "bundle.dependencies."); ok {
			parts := strings.SplitN(rest, ".", 4)
			if len(parts) >= 3 && parts[1] == "outputs" {
				seenDep[depOutputRef{dep: parts[0], output: parts[2]}] = true
			}
		}
	}
	outs := make([]string, 0, len(seenOut))
	for n := range seenOut {
		outs = append(outs, n)
	}
	sort.Strings(outs)
	deps := make([]depOutputRef, 0, len(seenDep))
	for d := range seenDep {
		deps = append(deps, d)
	}
	sort.Slice(deps, func(i, j int) bool {
		if deps[i].dep != deps[j].dep {
			return deps[i].dep < deps[j].dep
		}
		return deps[i].output < deps[j].output
	})
	return outs, deps
}

func (r *run) output(name string) (manifest.Output, bool) {
	for _, o := range r.m.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return manifest.Output{}, false
}

// toAny normalises YAML-decoded values (map[string]any, []any) so that the
// template engine renders them as JSON.
func toAny(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = toAny(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = toAny(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = toAny(e)
		}
		return out
	default:
		return v
	}
}

func custom(c map[string]any) any {
	if c == nil {
		return map[string]any{}
	}
	return toAny(c)
}

// templateVariables lists the variables referenced anywhere in the manifest.
func (r *run) templateVariables() []string {
	if len(r.m.TemplateVariables) > 0 {
		return r.m.TemplateVariables
	}
	vars, err := template.Variables(string(r.m.Raw), r.m.UsesDollarDelimiters())
	if err != nil {
		return nil
	}
	return vars
}
