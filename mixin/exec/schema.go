package exec

import (
	_ "embed"
	"fmt"
)

// schemaJSON is the draft-07 JSON schema of exec steps, in the shape Porter
// merges into its manifest schema (relative #/definitions refs only).
//
//go:embed schema/exec.json
var schemaJSON string

// Schema returns the mixin's JSON schema.
func Schema() string { return schemaJSON }

// PrintSchema writes the JSON schema to Out.
func (m *Mixin) PrintSchema() error {
	_, err := fmt.Fprint(m.Out, schemaJSON)
	return err
}
