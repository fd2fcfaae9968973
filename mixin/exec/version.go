package exec

import (
	"encoding/json"
	"fmt"
)

// VersionInfo is what the version command reports.
type VersionInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Author  string `json:"author"`
}

// Output formats of the version command.
const (
	FormatPlaintext = "plaintext"
	FormatJSON      = "json"
)

// VersionOptions selects the version command's output format.
type VersionOptions struct {
	Format string
}

// Validate checks the format (empty means plaintext).
func (o *VersionOptions) Validate() error {
	switch o.Format {
	case "":
		o.Format = FormatPlaintext
	case FormatPlaintext, FormatJSON:
	default:
		return fmt.Errorf("invalid format %q: expected json or plaintext", o.Format)
	}
	return nil
}

// Info returns the mixin's name, version, commit and author.
func Info() VersionInfo {
	return VersionInfo{Name: Name, Version: Version, Commit: Commit, Author: Author}
}

// PrintVersion writes the version as JSON or as
// "<name> <version> (<commit>) by <author>".
func (m *Mixin) PrintVersion(opts VersionOptions) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	info := Info()
	if opts.Format == FormatJSON {
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return fmt.Errorf("marshal version: %w", err)
		}
		_, err = fmt.Fprintln(m.Out, string(b))
		return err
	}
	_, err := fmt.Fprintf(m.Out, "%s %s (%s) by %s\n", info.Name, info.Version, info.Commit, info.Author)
	return err
}
