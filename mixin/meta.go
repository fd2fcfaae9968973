package mixin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stackhub/stackhub/mixin/schema"
)

// VersionInfo is what `version -o json` prints.
type VersionInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Author  string `json:"author"`
}

// PrintVersion prints the version as plaintext or json.
func (m *Mixin) PrintVersion(format string) error {
	v, c := versionString()
	info := VersionInfo{Name: Name, Version: v, Commit: c, Author: Author}
	switch format {
	case "json":
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return fmt.Errorf("encode version: %w", err)
		}
		_, err = fmt.Fprintln(m.Out, string(b))
		return err
	case "plaintext", "":
		_, err := fmt.Fprintf(m.Out, "%s %s (%s) by %s\n", info.Name, info.Version, info.Commit, info.Author)
		return err
	}
	return usageError{fmt.Errorf("invalid output format %q: use plaintext or json", format)}
}

// PrintSchema prints the JSON schema of the mixin's steps.
func (m *Mixin) PrintSchema() error {
	_, err := m.Out.Write(schema.JSON)
	return err
}

// BuildInput is what Porter writes to build and lint: the mixin's
// declaration config and the steps of every action that use the mixin.
type BuildInput struct {
	Config  any                               `yaml:"config"`
	Actions map[string][]map[string]yaml.Node `yaml:"actions"`
}

func readBuildInput(in io.Reader) (*BuildInput, error) {
	b, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	var bi BuildInput
	if err := yaml.Unmarshal(b, &bi); err != nil {
		return nil, fmt.Errorf("parse input: %w", err)
	}
	return &bi, nil
}

// Build prints the Dockerfile lines the mixin needs: none, since the
// mixin is part of StackHub's static binary.
func (m *Mixin) Build(_ context.Context, in io.Reader) error {
	if _, err := readBuildInput(in); err != nil {
		return err
	}
	_, err := fmt.Fprintln(m.Out, "# stackhub mixin has no buildtime dependencies")
	return err
}

// LintResult is one lint finding, in the shape Porter reads.
type LintResult struct {
	Level    int          `json:"Level"`
	Location LintLocation `json:"Location"`
	Code     string       `json:"Code"`
	Title    string       `json:"Title"`
	Message  string       `json:"Message"`
	URL      string       `json:"URL"`
}

// LintLocation says which step a finding is about.
type LintLocation struct {
	Action          string `json:"Action"`
	Mixin           string `json:"Mixin"`
	StepNumber      int    `json:"StepNumber"`
	StepDescription string `json:"StepDescription"`
}

// LintURL documents the lint codes.
const LintURL = "https://github.com/stackhub/stackhub/blob/main/mixin/README.md#lint-codes"

// Lint checks every stackhub step and prints the findings as JSON.
func (m *Mixin) Lint(_ context.Context, in io.Reader) error {
	bi, err := readBuildInput(in)
	if err != nil {
		return err
	}
	results := []LintResult{}
	actions := make([]string, 0, len(bi.Actions))
	for a := range bi.Actions {
		actions = append(actions, a)
	}
	slices.SortFunc(actions, func(a, b string) int {
		if r := actionRank(a) - actionRank(b); r != 0 {
			return r
		}
		return strings.Compare(a, b)
	})
	for _, action := range actions {
		for i, raw := range bi.Actions[action] {
			node, ok := raw[Name]
			if !ok {
				continue
			}
			loc := LintLocation{Action: action, Mixin: Name, StepNumber: i + 1}
			step, err := decodeStep(&node)
			if err != nil {
				results = append(results, LintResult{Level: LevelError, Location: loc, Code: "stackhub-100",
					Title: "Invalid step", Message: err.Error(), URL: LintURL})
				continue
			}
			loc.StepDescription = step.Description
			for _, p := range Validate(action, step) {
				results = append(results, LintResult{Level: p.Level, Location: loc, Code: p.Code,
					Title: p.Title, Message: p.Message, URL: LintURL})
			}
		}
	}
	enc := json.NewEncoder(m.Out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(results); err != nil {
		return fmt.Errorf("encode lint results: %w", err)
	}
	return nil
}

func actionRank(a string) int {
	switch a {
	case "install":
		return -3000
	case "upgrade":
		return -2000
	case "uninstall":
		return -1000
	}
	return 0
}
