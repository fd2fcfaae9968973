package engine

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stackhub/stackhub/engine/contract"
	"github.com/stackhub/stackhub/engine/manifest"
)

// LogsOutput is the output that holds an invocation container's log.
const LogsOutput = "io.cnab.outputs.invocationImageLogs"

type actionOptions struct {
	purge bool
	// files are extra files for the invocation container (dependency
	// bundle.json files); an app's run without them gets its recorded
	// dependencies' files.
	files map[string]string
	// local holds what differs for a run of the authoring lifecycle
	// (stackhub bundle ...): the user's values with Porter's precedence,
	// credentials, whether the run is recorded, where its output goes.
	// See bundle_lifecycle.go.
	local *localRun
}

// runAction is the one action pipeline, for apps run by the service and
// for the authoring lifecycle alike: it prepares the bundle's image,
// resolves the parameters, runs the action in an invocation container and
// records the run, its results, its outputs and its log as Porter does (a
// run, a `running` result, then `succeeded` or `failed`), unless an
// authoring run is not to be recorded (porter-compat.md 1.11).
//
// An app's failure comes back as the reason the bundle printed (see
// actionError); an authoring run's as the runtime's error, its output
// having gone to the user's terminal as it ran.
func (e *Engine) runAction(ctx context.Context, inst *Installation, fsys fs.FS, m *manifest.Manifest, action string, o actionOptions) error {
	l := o.local
	if l == nil {
		// An app run by the service: recorded, state kept, Docker access
		// as consented to at install.
		l = &localRun{m: m, allowHost: true, record: true, modifies: true, result: &BundleRunResult{}}
	}
	image, bundleJSON, digest, err := e.bundleImage(ctx, inst, fsys, m)
	if err != nil {
		return &prepareError{err: fmt.Errorf("prepare bundle %s: %w", inst.App, err)}
	}
	params, err := e.resolveParameters(ctx, inst, bundleJSON, action, o)
	if err != nil {
		return err
	}
	for _, name := range sortedKeys(params) {
		if p, ok := m.Parameter(name); ok && !p.IsFile() && name != contract.ContextParameter {
			if err := p.CheckValue(params[name]); err != nil {
				return NewUserError(ErrInvalid, fmt.Sprintf("invalid value for parameter %s: %v", name, err), "")
			}
		}
	}
	files := relocationFile(fsys)
	if o.files == nil && o.local == nil {
		o.files = e.recordedDependencyFiles(ctx, inst, m)
	}
	if len(o.files) > 0 {
		if files == nil {
			files = map[string]string{}
		}
		maps.Copy(files, o.files)
	}
	l.started = true

	run := &Run{
		ID: NewID(), Revision: NewID(), Installation: inst.Name, Namespace: inst.Namespace,
		Action: action, BundleDigest: digest, Bundle: bundleJSON, Parameters: params, Created: time.Now().UTC(),
	}
	if o.local == nil {
		run.BundleRef = inst.Reference
	}
	if l.record {
		if err := e.deps.Store.InsertRun(ctx, run); err != nil {
			return fmt.Errorf("record run: %w", err)
		}
		if l.modifies {
			inst.LastRunID = run.ID
		}
		if err := e.deps.Store.InsertResult(ctx, &Result{ID: NewID(), RunID: run.ID, Status: ResultRunning, Created: time.Now().UTC()}); err != nil {
			return fmt.Errorf("record run start: %w", err)
		}
		l.result.Run = run
	}
	runBundle := bundleJSON
	if action == manifest.ActionUninstall && o.local == nil {
		// What a failed install never produced cannot block its uninstall.
		if runBundle, err = uninstallBundle(bundleJSON, m, inst.Installed != nil); err != nil {
			return err
		}
	}
	logs := &tailBuffer{max: 256 << 10}
	var out io.Writer = logs
	if l.out != nil {
		logs.max = 1 << 20
		out = io.MultiWriter(logs, l.out)
	}
	res, runErr := e.deps.Runtime.Run(ctx, &Operation{
		Action: action, Installation: inst.Name, Namespace: inst.Namespace, InstallationID: inst.ID,
		RunID: run.ID, Revision: run.Revision, BundleJSON: runBundle, Image: image, Parameters: params,
		Credentials: l.creds, AllowDockerHost: l.allowHost && requiresDocker(m), Privileged: l.allowHost && requiresPrivileged(m),
		HostNetwork: true, Files: files, Out: out, Err: out,
	})
	if res != nil {
		l.result.Outputs = res.Outputs
	}
	if l.record {
		e.recordResult(ctx, inst, m, run, l.modifies, res, logs.Bytes(), runErr)
	}
	e.log.Debug("action finished", "installation", inst.Name, "action", action, "run", run.ID, "err", runErr)
	if runErr != nil && o.local == nil {
		return actionError(action, string(logs.Bytes()), runErr)
	}
	return runErr
}

// recordResult records how a run ended: its result, the outputs it
// produced (a run that keeps no state persists no porter-state) and its log.
func (e *Engine) recordResult(ctx context.Context, inst *Installation, m *manifest.Manifest, run *Run, modifies bool, res *OperationResult, logs []byte, runErr error) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	result := &Result{ID: NewID(), RunID: run.ID, Status: ResultSucceeded, Created: time.Now().UTC()}
	if runErr != nil {
		result.Status, result.Message = ResultFailed, runErr.Error()
	}
	if err := e.deps.Store.InsertResult(wctx, result); err != nil {
		e.log.Error("record run result", "run", run.ID, "err", err)
	}
	if res != nil {
		for _, name := range sortedKeys(res.Outputs) {
			if name == "porter-state" && !modifies {
				continue
			}
			out := &Output{Name: name, Installation: inst.Name, Namespace: inst.Namespace, RunID: run.ID, ResultID: result.ID,
				Sensitive: m.IsSensitiveOutput(name), Value: res.Outputs[name], Created: time.Now().UTC()}
			if err := e.deps.Store.InsertOutput(wctx, out); err != nil {
				e.log.Error("record output", "run", run.ID, "output", name, "err", err)
			}
		}
	}
	if err := e.deps.Store.InsertOutput(wctx, &Output{Name: LogsOutput, Installation: inst.Name, Namespace: inst.Namespace,
		RunID: run.ID, ResultID: result.ID, Value: logs, Created: time.Now().UTC()}); err != nil {
		e.log.Error("record logs", "run", run.ID, "err", err)
	}
}

// relocationFile is /cnab/app/relocation-mapping.json for a pulled bundle
// whose images were relocated (porter-compat.md 5.1), else nil.
func relocationFile(fsys fs.FS) map[string]string {
	raw, err := fs.ReadFile(fsys, remoteRelocationFile)
	if err != nil {
		return nil
	}
	var reloc map[string]string
	if json.Unmarshal(raw, &reloc) != nil || len(reloc) == 0 {
		return nil
	}
	return map[string]string{"/cnab/app/relocation-mapping.json": string(raw)}
}

// bundleDoc is the part of bundle.json the engine reads to resolve values.
type bundleDoc struct {
	Parameters map[string]struct {
		Definition string   `json:"definition"`
		Required   bool     `json:"required"`
		ApplyTo    []string `json:"applyTo"`
	} `json:"parameters"`
	Definitions map[string]map[string]any  `json:"definitions"`
	Custom      map[string]json.RawMessage `json:"custom"`
}

type paramSources map[string]struct {
	Sources map[string]struct {
		Name       string `json:"name"`
		Dependency string `json:"dependency"`
	} `json:"sources"`
}

// resolveParameters computes the typed value of every parameter that
// applies to action, lowest precedence first: bundle default, parameter
// source (an earlier output), the user's value.
func (e *Engine) resolveParameters(ctx context.Context, inst *Installation, bundleJSON []byte, action string, o actionOptions) (map[string]any, error) {
	var b bundleDoc
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		return nil, fmt.Errorf("read bundle.json: %w", err)
	}
	var sources paramSources
	if raw, ok := b.Custom["io.cnab.parameter-sources"]; ok {
		_ = json.Unmarshal(raw, &sources)
	}
	var outputs map[string][]byte
	loadOutputs := func() map[string][]byte {
		if outputs == nil {
			outputs = map[string][]byte{}
			list, err := e.deps.Store.ListOutputs(ctx, inst.Namespace, inst.Name)
			if err == nil {
				for _, out := range list {
					outputs[out.Name] = out.Value
				}
			}
		}
		return outputs
	}
	params := map[string]any{}
	for _, name := range sortedKeys(b.Parameters) {
		p := b.Parameters[name]
		if !manifest.AppliesTo(p.ApplyTo, action) {
			continue
		}
		def := b.Definitions[p.Definition]
		if name == contract.ContextParameter {
			ctxJSON, err := contract.Context{
				Ports: inst.Ports, Prefix: e.cfg.Prefix, PortMin: e.cfg.PortMin, PortMax: e.cfg.PortMax,
				WaitTimeout: e.cfg.WaitTimeout.String(), HostNetwork: true, Purge: o.purge, Host: e.cfg.PublicHost,
				RegistryMirror: e.cfg.RegistryMirror, Target: targetOfContext(inst), SwarmPublishMode: e.swarmPublishMode(inst),
			}.Encode()
			if err != nil {
				return nil, err
			}
			params[name] = ctxJSON
			continue
		}
		v, ok := inst.Parameters[name]
		if o.local != nil {
			v, ok = o.local.parameter(name, inst)
		}
		if ok {
			typed, err := typedValue(name, v, def)
			if err != nil {
				return nil, err
			}
			params[name] = typed
			continue
		}
		if src, ok := sources[name]; ok {
			if s, ok := src.Sources["dependencies.output"]; ok {
				if val, ok := e.dependencyOutput(ctx, inst, s.Dependency, s.Name); ok {
					v, err := sourcedValue(name, val, def)
					if err != nil {
						return nil, err
					}
					params[name] = v
					continue
				}
			}
			if s, ok := src.Sources["output"]; ok {
				if val, ok := loadOutputs()[s.Name]; ok {
					v, err := sourcedValue(name, val, def)
					if err != nil {
						return nil, err
					}
					params[name] = v
					continue
				}
			}
		}
		if d, ok := def["default"]; ok {
			params[name] = d
			continue
		}
		if p.Required {
			return nil, NewUserError(ErrInvalid, fmt.Sprintf("parameter %q is required for %s", name, action),
				fmt.Sprintf("pass it, for example --param %s=VALUE", name))
		}
	}
	return params, nil
}

// sourcedValue is a parameter's value taken from an output: base64 for a
// file parameter, else typed from the output's text.
func sourcedValue(name string, val []byte, def map[string]any) (any, error) {
	if def["contentEncoding"] == "base64" {
		return base64.StdEncoding.EncodeToString(val), nil
	}
	return typedValue(name, string(val), def)
}

// dependencyOutput returns the latest value of output name of inst's
// dependency installation <inst>-<alias>.
func (e *Engine) dependencyOutput(ctx context.Context, inst *Installation, alias, name string) ([]byte, bool) {
	depName := inst.Name + "-" + alias
	if _, err := e.deps.Store.GetInstallation(ctx, inst.Namespace, depName); errors.Is(err, ErrNotFound) {
		// A shared dependency (dependencies v2) is the installation <alias>.
		if shared, err := e.deps.Store.GetInstallation(ctx, inst.Namespace, alias); err == nil && shared.Labels[LabelSharingGroup] != "" {
			depName = alias
		}
	}
	list, err := e.deps.Store.ListOutputs(ctx, inst.Namespace, depName)
	if err != nil {
		return nil, false
	}
	for _, out := range list {
		if out.Name == name {
			return out.Value, true
		}
	}
	return nil, false
}

// typedValue converts a user's string to the parameter's JSON type.
func typedValue(name, v string, def map[string]any) (any, error) {
	t, _ := def["type"].(string)
	bad := func(err error) error {
		return NewUserError(ErrInvalid, fmt.Sprintf("parameter %q must be of type %s, got %q", name, t, v), err.Error())
	}
	switch t {
	case "integer":
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return nil, bad(err)
		}
		return n, nil
	case "number":
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, bad(err)
		}
		return f, nil
	case "boolean":
		bv, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, bad(err)
		}
		return bv, nil
	case "object", "array":
		var x any
		if err := json.Unmarshal([]byte(v), &x); err != nil {
			return nil, bad(err)
		}
		return x, nil
	}
	return v, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// Bytes returns a copy of what is kept.
func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf...)
}

// Tail returns the last n non-empty lines joined with " | ".
func (t *tailBuffer) Tail(n int) string {
	lines := bytes.Split(bytes.TrimSpace(t.Bytes()), []byte("\n"))
	var keep []string
	for i := len(lines) - 1; i >= 0 && len(keep) < n; i-- {
		if l := strings.TrimSpace(string(lines[i])); l != "" {
			keep = append([]string{l}, keep...)
		}
	}
	return strings.Join(keep, " | ")
}
