package exec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// processOutputs evaluates every output of step against the command's stdout
// and writes each to OutputsDir: jsonPath outputs first, then regex, then path.
func (m *Mixin) processOutputs(step Step, stdout string) error {
	if len(step.Outputs) == 0 {
		return nil
	}
	if err := m.jsonPathOutputs(step.Outputs, stdout); err != nil {
		return err
	}
	if err := m.regexOutputs(step.Outputs, stdout); err != nil {
		return err
	}
	return m.fileOutputs(step.Outputs)
}

func (m *Mixin) jsonPathOutputs(outputs []Output, stdout string) error {
	var (
		doc    any
		parsed bool
	)
	for _, o := range outputs {
		if o.JSONPath == "" {
			continue
		}
		if !parsed && stdout != "" {
			d := json.NewDecoder(strings.NewReader(stdout))
			d.UseNumber()
			if err := d.Decode(&doc); err != nil {
				return fmt.Errorf("error unmarshaling stdout as json %s: %w", stdout, err)
			}
		}
		parsed = true
		// An output is always written, even when stdout was empty.
		var value []byte
		if doc != nil {
			v, err := EvalJSONPath(o.JSONPath, doc)
			if err != nil {
				return fmt.Errorf("error evaluating jsonpath %q for output %q against %s: %w", o.JSONPath, o.Name, stdout, err)
			}
			value, err = formatJSONValue(v)
			if err != nil {
				return fmt.Errorf("error marshaling jsonpath result for output %q: %w", o.Name, err)
			}
		}
		if err := m.writeOutput(o.Name, value); err != nil {
			return err
		}
	}
	return nil
}

// formatJSONValue renders maps and arrays as compact JSON and everything else
// with %v (json.Number keeps the number's exact text).
func formatJSONValue(v any) ([]byte, error) {
	switch v.(type) {
	case map[string]any, []any:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return bytes.TrimRight(buf.Bytes(), "\n"), nil
	case nil:
		return []byte("<nil>"), nil
	default:
		return fmt.Appendf(nil, "%v", v), nil
	}
}

func (m *Mixin) regexOutputs(outputs []Output, stdout string) error {
	for _, o := range outputs {
		if o.Regex == "" {
			continue
		}
		re, err := regexp.Compile(o.Regex)
		if err != nil {
			return fmt.Errorf("invalid regular expression %q for output %q: %w", o.Regex, o.Name, err)
		}
		var groups []string
		for _, match := range re.FindAllStringSubmatch(stdout, -1) {
			groups = append(groups, match[1:]...)
		}
		if err := m.writeOutput(o.Name, []byte(strings.Join(groups, "\n"))); err != nil {
			return err
		}
	}
	return nil
}

func (m *Mixin) fileOutputs(outputs []Output) error {
	for _, o := range outputs {
		if o.Path == "" {
			continue
		}
		m.debugf("Processing file output %s...\n", o.Name)
		value, err := os.ReadFile(o.Path)
		if err != nil {
			return fmt.Errorf("error evaluating filepath %q for output %q: %w", o.Path, o.Name, err)
		}
		if err := m.writeOutput(o.Name, value); err != nil {
			return err
		}
	}
	return nil
}

// writeOutput writes one step output file for the runtime to collect.
func (m *Mixin) writeOutput(name string, value []byte) error {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return fmt.Errorf("invalid output name %q", name)
	}
	if err := os.MkdirAll(m.OutputsDir, 0o755); err != nil {
		return fmt.Errorf("create outputs directory: %w", err)
	}
	p := filepath.Join(m.OutputsDir, name)
	if err := os.WriteFile(p, value, 0o600); err != nil {
		return fmt.Errorf("error writing mixin output for %q: %w", name, err)
	}
	return nil
}
