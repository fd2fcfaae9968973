package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Porter's installation document (porter show -o json, porter list -o json;
// porter-compat.md 7.3) and its run listing (porter installation runs list,
// 7.1), built here so that the local CLI and the service answer the same
// shape.

// PorterSchemaVersion is the schemaVersion of PorterInstallation.
const PorterSchemaVersion = "1.0.2"

// MaskedValue stands in for a sensitive value in documents, unless the
// caller asked to see it. Porter prints such values in plaintext; StackHub
// does not, because its answers never carry secrets nobody asked for.
const MaskedValue = "*******"

// PorterInstallation is Porter's installation document. The JSON names are
// Porter's and must not change; StackHub's own facts go only under
// "stackhub", so that scripts written for porter keep working.
type PorterInstallation struct {
	SchemaType     string            `json:"schemaType"`
	SchemaVersion  string            `json:"schemaVersion"`
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	Namespace      string            `json:"namespace"`
	Uninstalled    bool              `json:"uninstalled,omitempty"`
	Bundle         map[string]string `json:"bundle"`
	Custom         map[string]any    `json:"custom"`
	Labels         map[string]string `json:"labels,omitempty"`
	CredentialSets []string          `json:"credentialSets,omitempty"`
	ParameterSets  []string          `json:"parameterSets,omitempty"`
	// Parameters are the installation's own values (the user's --param),
	// show only.
	Parameters map[string]any           `json:"parameters,omitempty"`
	Status     PorterInstallationStatus `json:"status"`
	Calculated PorterCalculated         `json:"_calculated"`
	// StackHub holds StackHub's facts beyond Porter's document; nil unless
	// PorterDocOptions.StackHub asked for them.
	StackHub *PorterStackHub `json:"stackhub,omitempty"`
}

// PorterInstallationStatus is the document's status block.
type PorterInstallationStatus struct {
	RunID           string     `json:"runId"`
	Action          string     `json:"action"`
	ResultID        string     `json:"resultId"`
	ResultStatus    string     `json:"resultStatus"`
	Created         time.Time  `json:"created"`
	Modified        time.Time  `json:"modified"`
	Installed       *time.Time `json:"installed"`
	Uninstalled     *time.Time `json:"uninstalled"`
	BundleReference string     `json:"bundleReference"`
	BundleVersion   string     `json:"bundleVersion"`
	BundleDigest    string     `json:"bundleDigest"`
}

// PorterCalculated is the document's _calculated block.
type PorterCalculated struct {
	// ResolvedParameters are the values of the last modifying run (show
	// only; null in lists, as in Porter).
	ResolvedParameters        []PorterParameter `json:"resolvedParameters"`
	DisplayInstallationState  string            `json:"displayInstallationState"`
	DisplayInstallationStatus string            `json:"displayInstallationStatus"`
}

// PorterParameter is one resolved parameter of a run.
type PorterParameter struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Sensitive bool   `json:"sensitive"`
	Value     any    `json:"value"`
}

// PorterStackHub is what StackHub knows of an installation beyond Porter's
// document: the catalog app, the live status and the leased ports.
type PorterStackHub struct {
	App           string         `json:"app"`
	Status        Status         `json:"status"`
	Reason        string         `json:"reason,omitempty"`
	ContainerName string         `json:"containerName"`
	Ports         map[string]int `json:"ports"`
	JobID         string         `json:"jobId,omitempty"`
}

// PorterDocOptions say how much of the document to build.
type PorterDocOptions struct {
	// Resolve fills parameters and _calculated.resolvedParameters, as
	// porter show does; porter list leaves them out.
	Resolve bool
	// Reveal shows sensitive values in plaintext, as Porter always does.
	// Otherwise they are MaskedValue. Callers must check the requester may
	// see them.
	Reveal bool
	// StackHub adds the "stackhub" key.
	StackHub bool
}

// PorterDocument builds inst's document from the store: the last modifying
// run and its results fill the status and the resolved parameters. A run
// the store no longer has is left out.
func (e *Engine) PorterDocument(ctx context.Context, inst *Installation, opts PorterDocOptions) (*PorterInstallation, error) {
	var (
		run     *Run
		results []*Result
	)
	if inst.LastRunID != "" {
		r, err := e.deps.Store.GetRun(ctx, inst.LastRunID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("read run %s of installation %s: %w", inst.LastRunID, inst.Name, err)
		default:
			run = r
			results, err = e.deps.Store.ListResults(ctx, run.ID)
			if err != nil {
				return nil, fmt.Errorf("read results of run %s: %w", run.ID, err)
			}
		}
	}
	return NewPorterInstallation(inst, run, results, opts), nil
}

// PorterDocuments builds the documents of list, without parameters, newest
// modified first (porter list).
func (e *Engine) PorterDocuments(ctx context.Context, list []*Installation, opts PorterDocOptions) ([]*PorterInstallation, error) {
	opts.Resolve = false
	docs := make([]*PorterInstallation, 0, len(list))
	for _, inst := range list {
		d, err := e.PorterDocument(ctx, inst, opts)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	SortPorterInstallations(docs)
	return docs, nil
}

// SortPorterInstallations orders docs by status.modified, newest first, as
// porter list does; ties keep their order.
func SortPorterInstallations(docs []*PorterInstallation) {
	slices.SortStableFunc(docs, func(a, b *PorterInstallation) int {
		return b.Status.Modified.Compare(a.Status.Modified)
	})
}

// NewPorterInstallation builds inst's document from its last modifying run
// (nil when there is none) and that run's results, oldest first.
func NewPorterInstallation(inst *Installation, run *Run, results []*Result, opts PorterDocOptions) *PorterInstallation {
	doc := &PorterInstallation{
		SchemaType: "Installation", SchemaVersion: PorterSchemaVersion,
		ID: inst.ID, Name: inst.Name, Namespace: inst.Namespace,
		Bundle: porterBundle(inst.Reference), Custom: map[string]any{},
		Labels: inst.Labels, CredentialSets: inst.CredentialSets, ParameterSets: inst.ParameterSets,
		Status: PorterInstallationStatus{
			Action: inst.LastAction, Created: inst.Created.UTC(), Modified: inst.Modified.UTC(),
			Installed: utcTime(inst.Installed), Uninstalled: utcTime(inst.Uninstalled),
			BundleReference: inst.Reference, BundleVersion: inst.BundleVersion, BundleDigest: inst.BundleDigest,
		},
	}
	var defs map[string]paramDef
	if run != nil {
		defs = bundleParams(run.Bundle)
		doc.Status.RunID, doc.Status.Action = run.ID, run.Action
		if run.BundleDigest != "" {
			doc.Status.BundleDigest = run.BundleDigest
		}
		if len(results) > 0 {
			last := results[len(results)-1]
			doc.Status.ResultID, doc.Status.ResultStatus = last.ID, last.Status
		}
	}
	if opts.Resolve {
		if len(inst.Parameters) > 0 {
			doc.Parameters = map[string]any{}
			for name, v := range inst.Parameters {
				// Without the bundle's definitions nothing says a value is
				// not a secret: mask it.
				def, known := defs[name]
				doc.Parameters[name] = maskValue(v, !known || def.sensitive, opts.Reveal)
			}
		}
		if run != nil {
			doc.Calculated.ResolvedParameters = porterParameters(run.Parameters, defs, opts.Reveal)
		}
	}
	doc.Calculated.DisplayInstallationState = displayState(inst)
	doc.Calculated.DisplayInstallationStatus = displayStatus(inst.Status, doc.Status.Action, doc.Status.ResultStatus)
	if opts.StackHub {
		ports := inst.Ports
		if ports == nil {
			ports = map[string]int{}
		}
		doc.StackHub = &PorterStackHub{App: inst.App, Status: inst.Status, Reason: inst.Reason,
			ContainerName: inst.ContainerName, Ports: ports, JobID: inst.JobID}
	}
	return doc
}

// porterParameters lists a run's parameter values with their types, the
// internal ones left out, sensitive ones masked unless reveal.
func porterParameters(values map[string]any, defs map[string]paramDef, reveal bool) []PorterParameter {
	out := []PorterParameter{}
	for _, name := range slices.Sorted(maps.Keys(values)) {
		def, known := defs[name]
		if def.internal || strings.HasPrefix(name, "porter-") {
			continue
		}
		// Without the bundle's definition nothing says it is no secret.
		sensitive := !known || def.sensitive
		out = append(out, PorterParameter{Name: name, Type: def.typ, Sensitive: sensitive,
			Value: maskValue(values[name], sensitive, reveal)})
	}
	return out
}

func maskValue(v any, sensitive, reveal bool) any {
	if sensitive && !reveal {
		return MaskedValue
	}
	return v
}

// porterBundle splits a bundle reference into Porter's bundle parts: the
// repository and one of digest, version (a tag that parses as semver, in
// its canonical form) or tag, in that order. Bundles not installed from a
// registry (the catalog, a local folder, an archive) have none.
func porterBundle(ref string) map[string]string {
	b := map[string]string{}
	if ref == "" || strings.HasPrefix(ref, "archive:") {
		return b
	}
	repo := repository(ref)
	b["repository"] = repo
	switch {
	case strings.Contains(ref, "@"):
		b["digest"] = ref[strings.Index(ref, "@")+1:]
	case len(ref) > len(repo):
		tag := ref[len(repo)+1:]
		if v, err := semver.NewVersion(tag); err == nil {
			b["version"] = v.String()
		} else {
			b["tag"] = tag
		}
	}
	return b
}

// displayState is Porter's displayInstallationState: installed,
// uninstalled, or defined when neither applies.
func displayState(inst *Installation) string {
	switch {
	case inst.Uninstalled != nil && (inst.Installed == nil || !inst.Installed.After(*inst.Uninstalled)):
		return "uninstalled"
	case inst.Installed != nil:
		return "installed"
	}
	return "defined"
}

// displayStatus is Porter's displayInstallationStatus: succeeded or failed
// after a run; while one runs, installing, upgrading, uninstalling or
// "running ACTION"; empty otherwise. StackHub's queued jobs count as
// running.
func displayStatus(status Status, action, result string) string {
	switch {
	case result == ResultRunning:
		switch action {
		case "install":
			return "installing"
		case "upgrade":
			return "upgrading"
		case "uninstall":
			return "uninstalling"
		}
		return "running " + action
	case status == StatusInstalling || status == StatusUpgrading || status == StatusUninstalling:
		return string(status)
	case result == ResultSucceeded || result == ResultFailed:
		return result
	}
	return ""
}

func utcTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// paramDef is what a document needs of a parameter's or output's
// definition.
type paramDef struct {
	typ       string
	sensitive bool
	internal  bool
}

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
	out := make(map[string]FieldDef, len(outs))
	for k, d := range outs {
		out[k] = FieldDef{Type: d.typ, Sensitive: d.sensitive, Internal: d.internal}
	}
	return out
}

// bundleParams reads the parameter definitions of a bundle.json.
func bundleParams(bundleJSON []byte) map[string]paramDef {
	params, _ := bundleFields(bundleJSON)
	return params
}

func bundleFields(bundleJSON []byte) (params, outputs map[string]paramDef) {
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
	read := func(fields map[string]field) map[string]paramDef {
		defs := make(map[string]paramDef, len(fields))
		for name, f := range fields {
			d := b.Definitions[f.Definition]
			typ := ""
			if d.Type != nil {
				typ = fmt.Sprint(d.Type)
			}
			if d.Encoding == "base64" {
				typ = "file"
			}
			defs[name] = paramDef{typ: typ, sensitive: d.WriteOnly, internal: d.Comment == "porter-internal"}
		}
		return defs
	}
	return read(b.Parameters), read(b.Outputs)
}

// bundleVersion reads the version of a bundle.json.
func bundleVersion(bundleJSON []byte) string {
	var b struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(bundleJSON, &b)
	return b.Version
}

// PorterRun is one run as porter installation runs list shows it.
type PorterRun struct {
	ID      string `json:"id"`
	Bundle  string `json:"bundle,omitempty"`
	Version string `json:"version"`
	Action  string `json:"action"`
	// Parameters are the run's values, internal ones left out.
	Parameters map[string]any `json:"parameters,omitempty"`
	// Started is the first result's time (the run's creation without one);
	// Stopped the second result's, null while only `running` exists.
	Started time.Time  `json:"started"`
	Stopped *time.Time `json:"stopped"`
	// Status is the last result's status.
	Status string `json:"status"`
}

// NewPorterRun builds run's entry from its results, oldest first;
// sensitive parameters are MaskedValue unless reveal.
func NewPorterRun(run *Run, results []*Result, reveal bool) PorterRun {
	r := PorterRun{ID: run.ID, Bundle: run.BundleRef, Version: bundleVersion(run.Bundle), Action: run.Action,
		Started: run.Created.UTC()}
	if len(results) > 0 {
		r.Started = results[0].Created.UTC()
		r.Status = results[len(results)-1].Status
		if len(results) > 1 {
			r.Stopped = utcTime(&results[1].Created)
		}
	}
	if ps := porterParameters(run.Parameters, bundleParams(run.Bundle), reveal); len(ps) > 0 {
		r.Parameters = make(map[string]any, len(ps))
		for _, p := range ps {
			r.Parameters[p.Name] = p.Value
		}
	}
	return r
}

// PorterRuns lists inst's runs, newest first, as porter installation runs
// list does.
func (e *Engine) PorterRuns(ctx context.Context, inst *Installation, reveal bool) ([]PorterRun, error) {
	runs, err := e.deps.Store.ListRuns(ctx, inst.Namespace, inst.Name)
	if err != nil {
		return nil, fmt.Errorf("list runs of installation %s: %w", inst.Name, err)
	}
	out := make([]PorterRun, 0, len(runs))
	for _, run := range runs {
		results, err := e.deps.Store.ListResults(ctx, run.ID)
		if err != nil {
			return nil, fmt.Errorf("read results of run %s: %w", run.ID, err)
		}
		out = append(out, NewPorterRun(run, results, reveal))
	}
	return out, nil
}
