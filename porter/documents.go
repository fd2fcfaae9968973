package porter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/stackhub/stackhub/engine"
)

// Porter's installation document (porter show -o json, porter list -o json;
// porter-compat.md 7.3) and its run listing (porter installation runs list,
// 7.1), built here so that the local CLI and the service answer the same
// shape.

// SchemaVersion is the schemaVersion of Installation.
const SchemaVersion = "1.0.2"

// MaskedValue stands in for a sensitive value in documents, unless the
// caller asked to see it. Porter prints such values in plaintext; StackHub
// does not, because its answers never carry secrets nobody asked for.
const MaskedValue = "*******"

// Installation is Porter's installation document. The JSON names are
// Porter's and must not change; StackHub's own facts go only under
// "stackhub", so that scripts written for porter keep working.
type Installation struct {
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
	Parameters map[string]any     `json:"parameters,omitempty"`
	Status     InstallationStatus `json:"status"`
	Calculated Calculated         `json:"_calculated"`
	// StackHub holds StackHub's facts beyond Porter's document; nil unless
	// DocOptions.StackHub asked for them.
	StackHub *StackHubFacts `json:"stackhub,omitempty"`
}

// InstallationStatus is the document's status block.
type InstallationStatus struct {
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

// Calculated is the document's _calculated block.
type Calculated struct {
	// ResolvedParameters are the values of the last modifying run (show
	// only; null in lists, as in Porter).
	ResolvedParameters        []Parameter `json:"resolvedParameters"`
	DisplayInstallationState  string      `json:"displayInstallationState"`
	DisplayInstallationStatus string      `json:"displayInstallationStatus"`
}

// Parameter is one resolved parameter of a run.
type Parameter struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Sensitive bool   `json:"sensitive"`
	Value     any    `json:"value"`
}

// StackHubFacts is what StackHub knows of an installation beyond Porter's
// document: the catalog app, the live status and the leased ports.
type StackHubFacts struct {
	App           string         `json:"app"`
	Status        engine.Status  `json:"status"`
	Reason        string         `json:"reason,omitempty"`
	ContainerName string         `json:"containerName"`
	Ports         map[string]int `json:"ports"`
	JobID         string         `json:"jobId,omitempty"`
}

// DocOptions say how much of the document to build.
type DocOptions struct {
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

// Docs builds Porter's documents from the engine's records.
type Docs struct {
	recs engine.Records
}

// NewDocs returns the document builder over recs.
func NewDocs(recs engine.Records) Docs { return Docs{recs: recs} }

// Document builds inst's document from the store: the last modifying
// run and its results fill the status and the resolved parameters. A run
// the store no longer has is left out.
func (d Docs) Document(ctx context.Context, inst *engine.Installation, opts DocOptions) (*Installation, error) {
	var (
		run     *engine.Run
		results []*engine.Result
	)
	if inst.LastRunID != "" {
		r, err := d.recs.GetRun(ctx, inst.LastRunID)
		switch {
		case errors.Is(err, engine.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("read run %s of installation %s: %w", inst.LastRunID, inst.Name, err)
		default:
			run = r
			results, err = d.recs.ListResults(ctx, run.ID)
			if err != nil {
				return nil, fmt.Errorf("read results of run %s: %w", run.ID, err)
			}
		}
	}
	return NewInstallation(inst, run, results, opts), nil
}

// Documents builds the documents of list, without parameters, newest
// modified first (porter list).
func (d Docs) Documents(ctx context.Context, list []*engine.Installation, opts DocOptions) ([]*Installation, error) {
	opts.Resolve = false
	docs := make([]*Installation, 0, len(list))
	for _, inst := range list {
		doc, err := d.Document(ctx, inst, opts)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	SortInstallations(docs)
	return docs, nil
}

// SortInstallations orders docs by status.modified, newest first, as
// porter list does; ties keep their order.
func SortInstallations(docs []*Installation) {
	slices.SortStableFunc(docs, func(a, b *Installation) int {
		return b.Status.Modified.Compare(a.Status.Modified)
	})
}

// NewInstallation builds inst's document from its last modifying run
// (nil when there is none) and that run's results, oldest first.
func NewInstallation(inst *engine.Installation, run *engine.Run, results []*engine.Result, opts DocOptions) *Installation {
	doc := &Installation{
		SchemaType: "Installation", SchemaVersion: SchemaVersion,
		ID: inst.ID, Name: inst.Name, Namespace: inst.Namespace,
		Bundle: porterBundle(inst.Reference), Custom: map[string]any{},
		Labels: inst.Labels, CredentialSets: inst.CredentialSets, ParameterSets: inst.ParameterSets,
		Status: InstallationStatus{
			Action: inst.LastAction, Created: inst.Created.UTC(), Modified: inst.Modified.UTC(),
			Installed: utcTime(inst.Installed), Uninstalled: utcTime(inst.Uninstalled),
			BundleReference: inst.Reference, BundleVersion: inst.BundleVersion, BundleDigest: inst.BundleDigest,
		},
	}
	var defs map[string]engine.FieldDef
	if run != nil {
		defs = engine.BundleParameters(run.Bundle)
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
				doc.Parameters[name] = maskValue(v, !known || def.Sensitive, opts.Reveal)
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
		doc.StackHub = &StackHubFacts{App: inst.App, Status: inst.Status, Reason: inst.Reason,
			ContainerName: inst.ContainerName, Ports: ports, JobID: inst.JobID}
	}
	return doc
}

// porterParameters lists a run's parameter values with their types, the
// internal ones left out, sensitive ones masked unless reveal.
func porterParameters(values map[string]any, defs map[string]engine.FieldDef, reveal bool) []Parameter {
	out := []Parameter{}
	for _, name := range slices.Sorted(maps.Keys(values)) {
		def, known := defs[name]
		if def.Internal || strings.HasPrefix(name, "porter-") {
			continue
		}
		// Without the bundle's definition nothing says it is no secret.
		sensitive := !known || def.Sensitive
		out = append(out, Parameter{Name: name, Type: def.Type, Sensitive: sensitive,
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
	repo := engine.Repository(ref)
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
func displayState(inst *engine.Installation) string {
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
func displayStatus(status engine.Status, action, result string) string {
	switch {
	case result == engine.ResultRunning:
		switch action {
		case "install":
			return "installing"
		case "upgrade":
			return "upgrading"
		case "uninstall":
			return "uninstalling"
		}
		return "running " + action
	case status == engine.StatusInstalling || status == engine.StatusUpgrading || status == engine.StatusUninstalling:
		return string(status)
	case result == engine.ResultSucceeded || result == engine.ResultFailed:
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

// Run is one run as porter installation runs list shows it.
type Run struct {
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

// NewRun builds run's entry from its results, oldest first;
// sensitive parameters are MaskedValue unless reveal.
func NewRun(run *engine.Run, results []*engine.Result, reveal bool) Run {
	r := Run{ID: run.ID, Bundle: run.BundleRef, Version: engine.BundleVersion(run.Bundle), Action: run.Action,
		Started: run.Created.UTC()}
	if len(results) > 0 {
		r.Started = results[0].Created.UTC()
		r.Status = results[len(results)-1].Status
		if len(results) > 1 {
			r.Stopped = utcTime(&results[1].Created)
		}
	}
	if ps := porterParameters(run.Parameters, engine.BundleParameters(run.Bundle), reveal); len(ps) > 0 {
		r.Parameters = make(map[string]any, len(ps))
		for _, p := range ps {
			r.Parameters[p.Name] = p.Value
		}
	}
	return r
}

// Runs lists inst's runs, newest first, as porter installation runs
// list does.
func (d Docs) Runs(ctx context.Context, inst *engine.Installation, reveal bool) ([]Run, error) {
	runs, err := d.recs.ListRuns(ctx, inst.Namespace, inst.Name)
	if err != nil {
		return nil, fmt.Errorf("list runs of installation %s: %w", inst.Name, err)
	}
	out := make([]Run, 0, len(runs))
	for _, run := range runs {
		results, err := d.recs.ListResults(ctx, run.ID)
		if err != nil {
			return nil, fmt.Errorf("read results of run %s: %w", run.ID, err)
		}
		out = append(out, NewRun(run, results, reveal))
	}
	return out, nil
}

// Engine is an engine that also answers Porter's installation documents,
// as the service does (GET /api/v1/installations?format=porter).
type Engine struct {
	*engine.Engine
	docs Docs
}

// WithDocs returns eng with Porter's documents built over its records.
func WithDocs(eng *engine.Engine) Engine {
	return Engine{Engine: eng, docs: NewDocs(eng.Records())}
}

// PorterDocument builds inst's document (see Docs.Document).
func (e Engine) PorterDocument(ctx context.Context, inst *engine.Installation, opts DocOptions) (*Installation, error) {
	return e.docs.Document(ctx, inst, opts)
}
