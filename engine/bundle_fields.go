package engine

import (
	"encoding/json"
	"fmt"
)

// What the views (the console, Porter's documents) need of a bundle.json's
// parameter and output definitions.

// FieldDef is what a view needs of a bundle parameter's or output's
// definition: its type ("file" for base64-encoded ones), whether it is
// sensitive, and whether it is Porter-internal.
type FieldDef struct {
	Type      string
	Sensitive bool
	Internal  bool
}

// BundleOutputs reads the output definitions of a bundle.json; an
// unreadable bundle.json yields none.
func BundleOutputs(bundleJSON []byte) map[string]FieldDef {
	_, outs := bundleFields(bundleJSON)
	return outs
}

// BundleParameters reads the parameter definitions of a bundle.json; an
// unreadable bundle.json yields none.
func BundleParameters(bundleJSON []byte) map[string]FieldDef {
	params, _ := bundleFields(bundleJSON)
	return params
}

func bundleFields(bundleJSON []byte) (params, outputs map[string]FieldDef) {
	type field struct {
		Definition string `json:"definition"`
	}
	var b struct {
		Parameters  map[string]field `json:"parameters"`
		Outputs     map[string]field `json:"outputs"`
		Definitions map[string]struct {
			Type      any    `json:"type"`
			WriteOnly bool   `json:"writeOnly"`
			Comment   string `json:"$comment"`
			Encoding  string `json:"contentEncoding"`
		} `json:"definitions"`
	}
	if len(bundleJSON) == 0 || json.Unmarshal(bundleJSON, &b) != nil {
		return nil, nil
	}
	read := func(fields map[string]field) map[string]FieldDef {
		defs := make(map[string]FieldDef, len(fields))
		for name, f := range fields {
			d := b.Definitions[f.Definition]
			typ := ""
			if d.Type != nil {
				typ = fmt.Sprint(d.Type)
			}
			if d.Encoding == "base64" {
				typ = "file"
			}
			defs[name] = FieldDef{Type: typ, Sensitive: d.WriteOnly, Internal: d.Comment == "porter-internal"}
		}
		return defs
	}
	return read(b.Parameters), read(b.Outputs)
}

// BundleVersion reads the version of a bundle.json.
func BundleVersion(bundleJSON []byte) string {
	var b struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(bundleJSON, &b)
	return b.Version
}
