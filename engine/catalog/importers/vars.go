package importers

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Vars says what becomes of each compose interpolation variable a store
// sets for its apps. A variable in neither map, used without a default,
// makes the app unconvertible: the bundle would deploy with it empty.
type Vars struct {
	// Replace maps a variable to the text that replaces the whole
	// reference (${NAME}, ${NAME:-x} or $NAME): a literal, or another
	// reference such as "${STACKHUB_PORT_PORT}".
	Replace map[string]string
	// Keep lists variables the bundle defines itself (its secrets,
	// parameters passed as step env, ports); references stay as written.
	Keep map[string]bool
	// Unsupported maps a variable to the reason StackHub has no equivalent.
	Unsupported map[string]string
}

// varRE matches $$ (an escaped dollar), ${...} and $NAME.
var varRE = regexp.MustCompile(`\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

var varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)

// rewrite replaces variable references in s. It reports every variable it
// could not resolve, with the reason.
func (v *Vars) rewrite(s string, problems map[string]string) string {
	return varRE.ReplaceAllStringFunc(s, func(ref string) string {
		if ref == "$$" {
			return ref
		}
		name, rest := ref[1:], ""
		if strings.HasPrefix(ref, "${") {
			body := ref[2 : len(ref)-1]
			name = varNameRE.FindString(body)
			rest = body[len(name):]
		}
		if name == "" {
			problems[ref] = fmt.Sprintf("the reference %s is not a valid compose variable", ref)
			return ref
		}
		if r, ok := v.Replace[name]; ok {
			return r
		}
		if v.Keep[name] {
			return ref
		}
		if why, ok := v.Unsupported[name]; ok {
			problems[name] = fmt.Sprintf("it uses ${%s}: %s", name, why)
			return ref
		}
		// A default makes an unknown variable harmless: it is what the
		// store itself would use when the variable is unset.
		if strings.HasPrefix(rest, ":-") || strings.HasPrefix(rest, "-") {
			return ref
		}
		problems[name] = fmt.Sprintf("it uses ${%s}, which the store sets and StackHub has no value for", name)
		return ref
	})
}

// rewriteAll rewrites every string (values and map keys are left alone
// except values) of a decoded YAML document in place.
func (v *Vars) rewriteAll(doc any, problems map[string]string) any {
	switch x := doc.(type) {
	case string:
		return v.rewrite(x, problems)
	case map[string]any:
		for k, val := range x {
			x[k] = v.rewriteAll(val, problems)
		}
		return x
	case []any:
		for i, val := range x {
			x[i] = v.rewriteAll(val, problems)
		}
		return x
	}
	return doc
}

// sortedProblems returns the reasons of a problems map in a stable order.
func sortedProblems(problems map[string]string) []string {
	out := make([]string, 0, len(problems))
	for _, why := range problems {
		out = append(out, why)
	}
	slices.Sort(out)
	return out
}

// Rewrite replaces the variables of s as the compose conversion does;
// unknown variables are left as written.
func (v *Vars) Rewrite(s string) string { return v.rewrite(s, map[string]string{}) }
